/**
 * @packageDocumentation
 * The Odigos instrumentor as a library: its layer graph and manager (run it in-process, as the
 * local demo does, with {@link instrumentorLayer} and {@link runManager}); `main.js` is the
 * process entry point.
 */
/** A list-then-watch cache of one resource (client-go's reflector), as the demo's agent uses it. */
export { createInformer, type Informer, type InformerOptions } from "./cache/informer.js";
export { type InstrumentorConfig, parseConfig, usage } from "./config.js";
export { liveKubeClient } from "./kube/client.js";
export { loadCredentials } from "./kube/credentials.js";
export { instrumentorLayer, LeadershipLost, runManager } from "./manager.js";
/** The ports the metrics and health listeners bound (with `:0`, the ones the system chose). */
export { Endpoints } from "./observability/health.js";
export { makeLogger } from "./observability/log.js";
export { RolloutBudget, type RolloutEnd, type SlotAnswer } from "./rollouts/budget.js";
