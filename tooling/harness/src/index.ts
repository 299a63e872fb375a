export {
  type ExitStatus,
  harnessArgs,
  InstrumentorProcess,
  instrumentorMain,
  killAll,
  type LogLine,
  type LogStats,
  pinnedNodeVersion,
  productionEnv,
  productionNodeFlags,
  type StartOptions,
  startInstrumentor,
} from "./instrumentor-process.js";
export { metricSum, parseLabels, parseSamples, type Sample } from "./prometheus.js";
