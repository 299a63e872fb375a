import { describe, expect, it } from "vitest";
import {
  growthTargets,
  peakRssBudgetBytes,
  rssAfterSyncBudgetBytes,
  runFootprintTargets,
} from "./footprint.js";

const MB = 1024 * 1024;

describe("memory targets", () => {
  it("budgets RSS after sync through 80 MB at N=1000, 138 at 5000 and 200 at 20 000, then 6 KB a workload", () => {
    expect(rssAfterSyncBudgetBytes(500)).toBe(80 * MB);
    expect(rssAfterSyncBudgetBytes(1000)).toBe(80 * MB);
    expect(rssAfterSyncBudgetBytes(3000)).toBe(109 * MB);
    expect(rssAfterSyncBudgetBytes(5000)).toBe(138 * MB);
    expect(rssAfterSyncBudgetBytes(20000)).toBe(200 * MB);
    expect(rssAfterSyncBudgetBytes(21000)).toBe(200 * MB + 1000 * 6 * 1024);
  });

  it("budgets the peak through 120 MB at N=1000 and 200 at 20 000", () => {
    expect(peakRssBudgetBytes(1000)).toBe(120 * MB);
    expect(peakRssBudgetBytes(5000) / MB).toBeCloseTo(120 + (80 * 4000) / 19000, 6);
    expect(peakRssBudgetBytes(20000)).toBe(200 * MB);
  });

  it("judges one run's RSS after sync and peak", () => {
    const [sync, peak] = runFootprintTargets({
      workloads: 1000,
      rssAfterSyncBytes: 81 * MB,
      peakRssBytes: 100 * MB,
    });
    expect(sync?.met).toBe(false);
    expect(sync?.measured).toBe("81 MB");
    expect(peak?.met).toBe(true);
    expect(
      runFootprintTargets({ workloads: 1000, rssAfterSyncBytes: undefined, peakRssBytes: 1 }).map(
        (target) => target.met,
      ),
    ).toEqual([undefined, true]);
  });

  it("judges the growth per workload between consecutive sizes, in any order of runs", () => {
    const targets = growthTargets([
      { workloads: 5000, rssAfterSyncBytes: 100 * MB, peakRssBytes: undefined },
      { workloads: 1000, rssAfterSyncBytes: 80 * MB, peakRssBytes: undefined },
      { workloads: 20000, rssAfterSyncBytes: 200 * MB, peakRssBytes: undefined },
      { workloads: 1000, rssAfterSyncBytes: undefined, peakRssBytes: undefined },
    ]);
    expect(targets.map((target) => target.name)).toEqual([
      "RSS growth per workload, N=1000 → 5000",
      "RSS growth per workload, N=5000 → 20000",
    ]);
    // 20 MB over 4000 workloads is 5.1 KB; 100 MB over 15000 is 6.8 KB.
    expect(targets.map((target) => target.met)).toEqual([true, false]);
    expect(targets[0]?.measured).toMatch(/^5\.1 KB/);
  });
});
