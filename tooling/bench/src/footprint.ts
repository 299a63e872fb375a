/**
 * The instrumentor's memory targets (issue 15), judged on one run or across runs at several N:
 * RSS after the initial reconcile at most 80 MB at N = 1000 plus 6 KB per workload above that
 * (so 104 MB at 5000, 194 MB at 20 000: below the Go original's 138 MB at 5000), peak RSS at
 * most 120 MB at N = 1000 plus the same 6 KB per workload, and growth between two runs at most
 * 6 KB per added workload.
 */
import { megabytes, type Target } from "./report.js";

/** Bytes of RSS a workload may add (issue 15: ≤ 6 KB). */
export const growthBudgetBytes = 6 * 1024;

const MB = 1024 * 1024;

/** The RSS-after-sync budget at `workloads`: 80 MB at N ≤ 1000, then 6 KB per workload more. */
export const rssAfterSyncBudgetBytes = (workloads: number): number =>
  80 * MB + Math.max(0, workloads - 1000) * growthBudgetBytes;

/** The peak (VmHWM) budget at `workloads`: 120 MB at N ≤ 1000, then 6 KB per workload more. */
export const peakRssBudgetBytes = (workloads: number): number =>
  120 * MB + Math.max(0, workloads - 1000) * growthBudgetBytes;

/** What one run's memory figures are judged by (`undefined` figures: not measured). */
export interface FootprintRun {
  readonly workloads: number;
  readonly rssAfterSyncBytes: number | undefined;
  /** The same split into anonymous memory and mapped file pages, when measured. */
  readonly split?: { readonly anonBytes: number; readonly fileBytes: number } | undefined;
  readonly peakRssBytes: number | undefined;
}

/** The RSS-after-sync and peak targets of one run. */
export const runFootprintTargets = (run: FootprintRun): Target[] => {
  const { workloads, rssAfterSyncBytes: sync, peakRssBytes: peak } = run;
  const syncBudget = rssAfterSyncBudgetBytes(workloads);
  const peakBudget = peakRssBudgetBytes(workloads);
  return [
    {
      name: `RSS after the initial reconcile, N=${workloads}`,
      target: `≤ ${megabytes(syncBudget)} (80 MB at N=1000 + 6 KB per workload above)`,
      measured:
        sync === undefined
          ? "not run"
          : `${megabytes(sync)}${run.split === undefined ? "" : ` (anonymous ${megabytes(run.split.anonBytes)}, Node's binary and other file pages ${megabytes(run.split.fileBytes)})`}`,
      met: sync === undefined ? undefined : sync <= syncBudget,
    },
    {
      name: `peak RSS (VmHWM) of the run, N=${workloads}`,
      target: `≤ ${megabytes(peakBudget)} (120 MB at N=1000 + 6 KB per workload above)`,
      measured: peak === undefined ? "not run" : megabytes(peak),
      met: peak === undefined ? undefined : peak <= peakBudget,
    },
  ];
};

/**
 * Growth per added workload between runs at different N (RSS after the initial reconcile),
 * for each pair of consecutive sizes; runs at the same N are not compared.
 */
export const growthTargets = (runs: ReadonlyArray<FootprintRun>): Target[] => {
  const sized = runs
    .filter(
      (run): run is FootprintRun & { rssAfterSyncBytes: number } =>
        run.rssAfterSyncBytes !== undefined,
    )
    .toSorted((a, b) => a.workloads - b.workloads);
  const targets: Target[] = [];
  for (let i = 1; i < sized.length; i++) {
    const small = sized[i - 1];
    const large = sized[i];
    if (small === undefined || large === undefined || large.workloads === small.workloads) continue;
    const perWorkload =
      (large.rssAfterSyncBytes - small.rssAfterSyncBytes) / (large.workloads - small.workloads);
    targets.push({
      name: `RSS growth per workload, N=${small.workloads} → ${large.workloads}`,
      target: "≤ 6 KB",
      measured: `${(perWorkload / 1024).toFixed(1)} KB (${megabytes(small.rssAfterSyncBytes)} → ${megabytes(large.rssAfterSyncBytes)})`,
      met: perWorkload <= growthBudgetBytes,
    });
  }
  return targets;
};
