import { describe, expect, it } from "vitest";
import { parseBenchArgs } from "./args.js";
import { otherPodsComparison, otherPodsSection, otherPodsTargets } from "./other-pods-report.js";
import { summarizeRequests } from "./requests.js";
import { otherSpecs } from "./run-other-pods.js";
import type { IdleStretch, OtherPodsRun, PhaseResult } from "./types.js";

const phase = (wallMs: number, cpuSeconds: number): PhaseResult => ({
  name: "stretch",
  wallMs,
  workloads: 0,
  apiServer: { requests: {}, total: 0, cpuSeconds: 3, etcdCpuSeconds: 1 },
  machine: { benchCpuSeconds: 1, otherCpuSeconds: 0, otherCores: 0.1, waitedForQuietMs: 0 },
  instrumentor: {
    requests: summarizeRequests([]),
    cpuSeconds,
    peakRssBytes: 70 * 1048576,
    rssAfterBytes: 68 * 1048576,
    heapUsedBytes: 20 * 1048576,
  },
});

const stretch = (
  cpuSeconds: number,
  received: Record<string, number>,
  rolled: number,
): IdleStretch => ({
  phase: phase(20_000, cpuSeconds),
  received,
  rolled,
  podsCreated: rolled * 20,
  podsDeleted: rolled * 20,
});

const run = (churn: IdleStretch | undefined, atSync = 0): OtherPodsRun => ({
  pods: churn === undefined ? 0 : 2000,
  workloads: churn === undefined ? 0 : 100,
  seedMs: 60_000,
  budget: 50,
  rssAfterSyncBytes: 66 * 1048576,
  receivedAtSync: { Pod: atSync, Deployment: 300 },
  ...(churn === undefined ? {} : { churn }),
  idle: stretch(0.5, {}, 0),
});

describe("other pods (issue 35)", () => {
  it("takes --other-pods and --other-workloads, none by default, P / 20 Deployments when unsaid", () => {
    expect(parseBenchArgs(["--pods"])).toMatchObject({ otherPods: 0, otherWorkloads: 0 });
    expect(
      parseBenchArgs(["--pods", "--other-pods", "10000", "--other-workloads", "500"]),
    ).toMatchObject({ otherPods: 10000, otherWorkloads: 500 });
    expect(parseBenchArgs(["--pods", "--other-pods", "2000"]).otherWorkloads).toBe(100);
    expect(() => parseBenchArgs(["--other-pods", "10", "--other-workloads", "20"])).toThrow(
      /at least as many/,
    );
  });

  it("shares the pods over the Deployments, in a namespace of their own", () => {
    const specs = otherSpecs(10, 4);
    expect(specs.map((other) => other.replicas)).toEqual([3, 3, 2, 2]);
    expect(new Set(specs.map((other) => other.spec.namespace))).toEqual(new Set(["bench-other"]));
    expect(specs.every((other) => other.spec.kind === "Deployment")).toBe(true);
  });

  it("meets its targets when no pod event arrives and the churn costs no more CPU than idling", () => {
    const targets = otherPodsTargets(run(stretch(0.6, { Pod: 0, Deployment: 900 }, 100)));
    expect(targets.map((target) => target.met)).toEqual([true, true]);
    expect(targets[1]?.measured).toMatch(/Deployment 900/);
  });

  it("misses them when pod events arrive or the CPU grows beyond the noise", () => {
    expect(otherPodsTargets(run(stretch(0.6, { Pod: 4000 }, 100)))[0]?.met).toBe(false);
    expect(otherPodsTargets(run(stretch(0.5, {}, 100), 2000))[0]?.met).toBe(false);
    expect(otherPodsTargets(run(stretch(2, {}, 100)))[1]?.met).toBe(false);
  });

  it("judges nothing in a run without other pods, but reports its idle stretch", () => {
    const baseline = run(undefined);
    expect(otherPodsTargets(baseline).map((target) => target.met)).toEqual([undefined, undefined]);
    const section = otherPodsSection({
      nodes: 20,
      nodesWithoutDevices: 1,
      replicas: 2,
      podReadyDelayMs: 1000,
      podReadyJitterMs: 0,
      uninstrumentBudget: 0,
      budgets: [],
      otherPods: baseline,
    }).join("\n");
    expect(section).toMatch(/No other pods in this run/);
    expect(section).toMatch(/\| idle /);
    expect(section).not.toMatch(/other pods roll/);
  });
});

describe("other pods against none, across two runs", () => {
  it("compares RSS after sync, the idle CPU and the pod events at sync, within the noise", () => {
    const withOthers = run(stretch(0.6, { Pod: 0 }, 100));
    const without = { ...run(undefined), rssAfterSyncBytes: 64 * 1048576 };
    const targets = otherPodsComparison(
      { workloads: 200, others: withOthers },
      { workloads: 200, others: without },
    );
    expect(targets.map((target) => target.met)).toEqual([true, true, true]);
    const bigger = { ...withOthers, rssAfterSyncBytes: 90 * 1048576 };
    expect(
      otherPodsComparison(
        { workloads: 200, others: bigger },
        { workloads: 200, others: without },
      )[0]?.met,
    ).toBe(false);
    expect(
      otherPodsComparison(
        { workloads: 200, others: withOthers },
        { workloads: 1000, others: without },
      )[0]?.met,
    ).toBeUndefined();
  });
});
