/**
 * @packageDocumentation
 * The Odigos instrumentor as a library: start it in-process (tests, the local
 * demo) with {@link startInstrumentor}; `main.js` is the process entry point.
 */
export { type InstrumentorConfig, parseConfig, usage } from "./config.js";
export { type RunningInstrumentor, startInstrumentor } from "./instrumentor.js";
export { type ClusterCredentials, clusterConfigured, loadCredentials } from "./kube/config.js";
export { makeLogger } from "./logger.js";
