export { type BenchOptions, parseBenchArgs, usage } from "./args.js";
export { type AuditLine, AuditTail, type RequestSummary, summarizeRequests } from "./audit.js";
export { diffTotals, requestKey, requestTotals } from "./prometheus.js";
export { renderTable } from "./report.js";
export { type BenchResult, evaluateTargets, type PhaseResult, renderReport } from "./results.js";
export {
  type HeapSnapshotFile,
  largestRetainers,
  type Retainer,
  type RetainerReport,
  renderRetainers,
} from "./retainers.js";
export { type RunHandles, runBench } from "./run.js";
export { median, percentile, type Summary, summarize } from "./stats.js";
export {
  devicePatch,
  expectedDevices,
  planWorkloads,
  stateOf,
  type WorkloadSpec,
  type WorkloadState,
} from "./workloads.js";
