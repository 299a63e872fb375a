import type { AuditLine } from "@odigos/control-plane";
import { describe, expect, it } from "vitest";
import { summarizeRestarts } from "./census.js";
import { idealOf } from "./ideal.js";
import { costRows, renderPodsReport, rolloutRows } from "./pods-render.js";
import { evaluatePodsTargets, judgedIdealMs } from "./pods-targets.js";
import { summarizeRequests } from "./requests.js";
import { summarize } from "./stats.js";
import type { BenchResult, PhaseResult, PodsResult, RolloutPhase } from "./types.js";

const patches = (count: number, offset = 0): AuditLine[] =>
  Array.from({ length: count }, (_, index) => ({
    stage: "ResponseComplete",
    verb: "patch",
    userAgent: "odigos-instrumentor/0.1.0 pid/1",
    objectRef: { resource: "deployments", namespace: "ns", name: `w${index + offset}` },
    responseStatus: { code: 200 },
  }));

const phaseResult = (name: string, writes: AuditLine[]): PhaseResult => ({
  name,
  wallMs: 0,
  workloads: 0,
  apiServer: { requests: {}, total: 4000, cpuSeconds: 30, etcdCpuSeconds: 5 },
  machine: { benchCpuSeconds: 1, otherCpuSeconds: 0, otherCores: 0.2, waitedForQuietMs: 0 },
  instrumentor: {
    requests: summarizeRequests(writes),
    cpuSeconds: 2,
    peakRssBytes: 150 * 1048576,
    rssAfterBytes: 140 * 1048576,
    heapUsedBytes: 50 * 1048576,
    highWaterMarkBytes: 160 * 1048576,
  },
  cluster: {
    byComponent: {
      "kube-controller-manager": summarizeRequests([]),
    },
    replicaSetsCreated: 4,
    podsCreated: 8,
    controllerManagerCpuSeconds: 3,
    schedulerCpuSeconds: 1,
    kwokCpuSeconds: 2,
  },
});

const rollout = (
  name: string,
  budget: number,
  changed: number,
  options: { ms?: number; maxRolling?: number; revisions?: number; writes?: number } = {},
): RolloutPhase => {
  const perWorkload = new Map(
    Array.from({ length: changed }, (_, index) => [
      `w${index}`,
      { created: 2, started: 2, revisions: index === 0 ? (options.revisions ?? 1) : 1 },
    ]),
  );
  const restarts = summarizeRestarts(
    perWorkload,
    new Map(Array.from({ length: changed }, (_, index) => [`w${index}`, 2])),
  );
  return {
    phase: phaseResult(name, patches(options.writes ?? changed)),
    budget,
    changed,
    devicesMs: 1000,
    rolledOutMs: options.ms ?? 10_000,
    maxRolling: options.maxRolling ?? Math.min(budget || changed, changed),
    meanRolling: 3.5,
    podsCreated: changed * 2,
    podsDeleted: changed * 2,
    podsStillborn: 0,
    rolloutMs: summarize([2000, 2500, 3000]),
    restarts: {
      ...restarts,
      doubleRolloutCount: restarts.doubleRollouts.length,
      moreCount: restarts.more.length,
      fewerCount: restarts.fewer.length,
    },
  };
};

const podsResult = (instrumentAt50: RolloutPhase): PodsResult => ({
  nodes: 20,
  nodesWithoutDevices: 1,
  replicas: 2,
  podReadyDelayMs: 1000,
  podReadyJitterMs: 200,
  uninstrumentBudget: 0,
  calibration: {
    before: { perKindMs: { Deployment: [2000] }, medianMs: { Deployment: 2000 }, mixMs: 2000 },
    rolloutMs: 2000,
  },
  budgets: [
    {
      budget: 50,
      startup: phaseResult("start-up, budget 50", []),
      readyMs: 900,
      rssAfterSyncBytes: 100 * 1048576,
      instrument: instrumentAt50,
      podCacheAfterInstrument: 200,
      restart: rollout("restart, converged", 0, 0, { writes: 0 }),
      uninstrument: rollout("un-instrument", 0, 100),
      podCacheAfterUninstrument: 0,
      ideal: idealOf(100, 50, 2000),
      uninstrumentIdeal: idealOf(100, 0, 2000),
    },
  ],
});

const result = (pods: PodsResult): BenchResult => ({
  version: 1,
  startedAt: "2026-01-01T00:00:00.000Z",
  command: "pnpm bench --pods",
  options: {},
  machine: { cpus: 2, node: "v20", loadAverageAtStart: [1, 2, 3] },
  seeding: {
    workloads: 100,
    namespaces: 20,
    byKind: { Deployment: 100 },
    multiContainer: 0,
    containers: 100,
    devicesWhenReady: 100,
    ms: 1,
    requests: 1,
  },
  pods,
});

describe("the report with pods", () => {
  // 100 workloads at 50: waves 1, 2, 4, 8, 16, 32, 37 = 7 × 2 s = 14 s; but the cluster's CPU
  // floor is (30 + 5 + 3 + 1 + 2 + 1) CPU seconds (all but the instrumentor's 2) over the 1.8
  // cores left free: 23.3 s, the ideal.
  it("gives each phase's time against the ideal and its pods", () => {
    const pods = podsResult(rollout("instrument, budget 50", 50, 100, { ms: 16_100 }));
    const rows = rolloutRows(pods, 2);
    const instrument = rows[0];
    expect(instrument?.slice(0, 8)).toEqual([
      "instrument, budget 50",
      "50",
      "16.1 s",
      "23.3 s (CPU)",
      "0.69×",
      "7",
      // (30 + 5 + 3 + 1 + 2 + 2 + 1) CPU seconds over 2 cores, and over the 1.8 others left.
      "22.0 s / 24.4 s",
      "2.50 s / 3.00 s",
    ]);
    // Mean rolling 3.5 of a budget of 50.
    expect(instrument?.[11]).toBe("7 %");
    expect(instrument?.[15]).toBe("2.00");
    expect(rows[1]?.[0]).toBe("restart, converged");
    expect(rows[1]?.[6]).toBe("–");
    expect(rows[1]?.[15]).toBe("–");
    expect(rows[2]?.[1]).toBe("unlimited");
    const costs = costRows(pods);
    expect(costs[0]?.[1]).toBe("100 (100 workload writes)");
    expect(costs[0]?.[6]).toBe("40.0");
    expect(costs[0]?.[7]).toBe("30.0 s");
  });

  it("judges a phase by the waves' time when the cluster's CPU floor is below it", () => {
    const entry = rollout("instrument, budget 50", 50, 100, { ms: 16_100 });
    const light = {
      ...entry,
      phase: { ...entry.phase, apiServer: { ...entry.phase.apiServer, cpuSeconds: 5 } },
    };
    // (5 + 5 + 3 + 1 + 2 + 1) / 1.8 = 9.4 s < 14 s.
    expect(judgedIdealMs(light, idealOf(100, 50, 2000), 2)).toBe(14_000);
    expect(judgedIdealMs(entry, idealOf(100, 50, 2000), 2)).toBeCloseTo(42_000 / 1.8, 0);
    expect(judgedIdealMs(entry, undefined, 2)).toBeUndefined();
  });

  it("meets the targets when within 1.25× of the ideal with one rollout per workload", () => {
    const targets = evaluatePodsTargets(
      result(podsResult(rollout("instrument, budget 50", 50, 100, { ms: 16_100 }))),
    );
    expect(targets[0]?.measured).toBe("not run");
    expect(targets.map((target) => target.met)).toEqual([
      undefined,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      undefined,
    ]);
  });

  it("reports a slow run, a double rollout, a broken bound and extra writes, and fails nothing", () => {
    const slow = rollout("instrument, budget 50", 50, 100, {
      ms: 40_000,
      revisions: 2,
      maxRolling: 51,
      writes: 101,
    });
    const targets = evaluatePodsTargets(result(podsResult(slow)));
    const byName = (part: string) => targets.find((target) => target.name.includes(part));
    expect(byName("budget 50 vs the ideal")?.met).toBe(false);
    expect(byName("budget 50 vs the ideal")?.measured).toContain("1.71×");
    expect(byName("double rollouts")?.met).toBe(false);
    expect(byName("double rollouts")?.measured).toContain("w0 2 revisions");
    expect(byName("rolling at once")?.measured).toBe("51 at 50");
    expect(byName("workload writes")?.met).toBe(false);
    const report = renderPodsReport({ ...result(podsResult(slow)), targets });
    expect(report).toContain("**1 double rollouts**");
    expect(report).toContain("50: 1-2-4-8-16-32-37");
    expect(report).toContain("### Targets");
  });
});
