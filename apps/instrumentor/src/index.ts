/**
 * @packageDocumentation
 * The Odigos instrumentor as a library: its layer graph and manager (run it in-process, as the
 * local demo does, with {@link instrumentorLayer} and {@link runManager}); `main.js` is the
 * process entry point.
 */
export { type InstrumentorConfig, parseConfig, usage } from "./config.js";
export { liveKubeClient } from "./kube/client.js";
export { loadCredentials } from "./kube/credentials.js";
export { instrumentorLayer, LeadershipLost, runManager } from "./manager.js";
export { makeLogger } from "./observability/log.js";
export { RolloutBudget, type RolloutEnd, type SlotAnswer } from "./rollouts/budget.js";
