/**
 * @packageDocumentation
 * SPEC section 5: which runtime details (`InstrumentedApplication`) and which
 * workload annotation must go when a workload is not, or no longer, opted in
 * or was deleted; the Effect program that removes them through two narrow
 * services, and their live layer over `@odigos/kube-client`'s `KubeClient`.
 *
 * @module @odigos/cleanup
 */
export * from "./plan.js";
export * from "./run.js";
export * from "./writers.js";
