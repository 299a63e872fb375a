/**
 * The instrumentor's memory targets (issues 15 and 32), judged on one run or across runs at
 * several N, as budgets through fixed points, straight lines between them, and 6 KB per workload
 * past the last:
 * - RSS after the initial reconcile: 80 MB at N = 1000 (and below), the Go original's 138 MB at
 *   5000, 200 MB at 20 000;
 * - peak RSS (VmHWM) of the run: 120 MB at N = 1000, 200 MB at 20 000;
 * - growth between two runs at most 6 KB per added workload.
 */
import { megabytes } from "./report.js";
import type { Target } from "./types.js";

/** Bytes of RSS a workload may add (issue 15: ≤ 6 KB). */
const growthBudgetBytes = 6 * 1024;

const MB = 1024 * 1024;

/** A budget through `points` ([workloads, MB], ascending): flat before, 6 KB a workload after. */
const budgetThrough =
  (points: ReadonlyArray<readonly [number, number]>) =>
  (workloads: number): number => {
    const first = points[0] ?? [0, 0];
    if (workloads <= first[0]) return first[1] * MB;
    for (let i = 1; i < points.length; i++) {
      const [n0, mb0] = points[i - 1] ?? first;
      const [n1, mb1] = points[i] ?? first;
      if (workloads <= n1) return (mb0 + ((mb1 - mb0) * (workloads - n0)) / (n1 - n0)) * MB;
    }
    const [nLast, mbLast] = points[points.length - 1] ?? first;
    return mbLast * MB + (workloads - nLast) * growthBudgetBytes;
  };

/** RSS after sync: 80 MB at N ≤ 1000, 138 MB (the Go original's) at 5000, 200 MB at 20 000. */
export const rssAfterSyncBudgetBytes = budgetThrough([
  [1000, 80],
  [5000, 138],
  [20000, 200],
]);

/** Peak (VmHWM): 120 MB at N ≤ 1000, 200 MB at 20 000. */
export const peakRssBudgetBytes = budgetThrough([
  [1000, 120],
  [20000, 200],
]);

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
      target: `≤ ${megabytes(syncBudget)} (80 MB at N=1000, 138 at 5000, 200 at 20 000)`,
      measured:
        sync === undefined
          ? "not run"
          : `${megabytes(sync)}${run.split === undefined ? "" : ` (anonymous ${megabytes(run.split.anonBytes)}, Node's binary and other file pages ${megabytes(run.split.fileBytes)})`}`,
      met: sync === undefined ? undefined : sync <= syncBudget,
    },
    {
      name: `peak RSS (VmHWM) of the run, N=${workloads}`,
      target: `≤ ${megabytes(peakBudget)} (120 MB at N=1000, 200 at 20 000)`,
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
