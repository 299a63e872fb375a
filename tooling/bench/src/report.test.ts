import { describe, expect, it } from "vitest";
import { coldRatio, freshFloorRatio } from "./ratios.js";
import { renderReport } from "./render.js";
import { breakdown, renderPhases, renderTable } from "./report.js";
import { summarizeRequests } from "./requests.js";
import { evaluateTargets, phaseRequestProblems } from "./targets.js";
import type { ColdStart, CycleResult, PhaseResult } from "./types.js";

describe("renderTable", () => {
  it("pads columns, right-aligns where asked and escapes pipes", () => {
    expect(
      renderTable(
        ["name", "n"],
        [
          ["a|b", "1"],
          ["long name", "100"],
        ],
        ["l", "r"],
      ),
    ).toBe(
      [
        "| name      |   n |",
        "| --------- | --: |",
        "| a\\|b      |   1 |",
        "| long name | 100 |",
      ].join("\n"),
    );
  });

  it("fills missing cells", () => {
    expect(renderTable(["a", "b"], [["x"]])).toBe("| a   | b   |\n| --- | --- |\n| x   |     |");
  });
});

describe("phase rows", () => {
  it("shows ratios to the floor and writes per workload", () => {
    const requests = summarizeRequests([
      ...Array.from({ length: 4 }, (_, index) => ({
        stage: "ResponseComplete",
        verb: "patch",
        objectRef: { resource: "deployments", namespace: "ns", name: `w${index}` },
        responseStatus: { code: 200 },
      })),
      { stage: "ResponseComplete", verb: "create", objectRef: { resource: "events" } },
    ]);
    const table = renderPhases([
      {
        name: "ready #1",
        wallMs: 2500,
        floorMs: 2000,
        workloads: 4,
        requests,
        apiServerRequests: 9,
      },
    ]);
    expect(table).toContain("| ready #1 |");
    expect(table).toContain("1.25×");
    expect(table).toContain("1.00 (4/4, max 1)");
    expect(breakdown(requests.byVerbResource)).toBe("patch deployments 4 · create events 1");
  });
});

/** A run that measured nothing yet. */
const emptyResult = {
  version: 1 as const,
  startedAt: "2025-01-01T00:00:00.000Z",
  command: "pnpm bench",
  options: {},
  machine: { cpus: 2, node: "v20" },
};

describe("targets and the report", () => {
  it("marks unmeasured targets n/a and still renders", () => {
    const result = emptyResult;
    const targets = evaluateTargets(result);
    expect(targets).toHaveLength(13);
    expect(targets.every((target) => target.met === undefined)).toBe(true);
    expect(renderReport({ ...result, targets })).toContain("| target");
  });
});

describe("kubectl odigos-instrumentor status -A", () => {
  const run = (ms: number, workloads: number) => ({
    ms,
    workloads,
    failed: { "get leases 404": 1 },
    requests: summarizeRequests(
      ["deployments", "deployments", "statefulsets"].map((resource) => ({
        stage: "ResponseComplete",
        verb: "list",
        objectRef: { resource },
        responseStatus: { code: 200 },
      })),
    ),
  });
  const plugin = (runs: ReadonlyArray<ReturnType<typeof run>>, medianMs: number) => ({
    command: "KUBECONFIG=/tmp/k node apps/kubectl-plugin/dist/main.js status -A -o json",
    expected: 1000,
    runs,
    medianMs,
    maxMs: Math.max(...runs.map((one) => one.ms)),
  });
  const targetOf = (result: typeof emptyResult) =>
    evaluateTargets(result).find((target) => target.name.startsWith("kubectl"));

  it("shows each run's time, workloads listed and requests, and judges the median", () => {
    const result = { ...emptyResult, pluginStatus: plugin([run(1010, 1000), run(990, 1000)], 990) };
    expect(targetOf(result)).toMatchObject({
      measured: "0.99 s (max 1.01 s) at N=1000; 2/2 runs listed every workload; 3 requests a run",
      met: true,
    });
    const report = renderReport({ ...result, targets: evaluateTargets(result) });
    expect(report).toContain("### kubectl odigos-instrumentor status -A");
    expect(report).toMatch(
      /\|\s+1 \| 1\.01 s \|\s+1000 \|\s+3 \| list deployments 2 · list statefulsets 1\s+\| get leases 404 1/,
    );
    expect(report).toContain("Median 0.99 s, max 1.01 s");
  });

  it("misses its target when a run does not list every workload, or the plugin failed", () => {
    const short = { ...emptyResult, pluginStatus: plugin([run(900, 999)], 900) };
    expect(targetOf(short)?.met).toBe(false);
    expect(renderReport(short)).toContain("**999** (not 1000)");
    const failed = {
      ...emptyResult,
      pluginStatus: { ...plugin([], 0), medianMs: undefined, error: "exit 1" },
    };
    expect(targetOf(failed)).toMatchObject({ measured: "failed: exit 1", met: false });
    expect(renderReport(failed)).toContain("**failed: exit 1**");
    expect(targetOf(emptyResult)?.measured).toBe("not run");
  });
});

describe("the cycles' medians", () => {
  const phase = (name: string, wallMs: number): PhaseResult => ({
    name,
    wallMs,
    workloads: 1,
    apiServer: { requests: {}, total: 0, cpuSeconds: 0, etcdCpuSeconds: 0 },
    machine: { benchCpuSeconds: 0, otherCpuSeconds: 0, otherCores: 0, waitedForQuietMs: 0 },
  });
  const cycle = (n: number, wallMs: number, extra: Partial<CycleResult> = {}): CycleResult => ({
    cycle: n,
    ready: phase(`ready #${n}`, wallMs),
    unready: phase(`unready #${n}`, wallMs),
    rssAfterBytes: 80 * 1048576,
    ...extra,
  });

  it("leave out the cycle the GC probe made cold, and judge growth between the probed cycles", () => {
    const floorRun = { concurrency: 8, ready: phase("f", 1000), unready: phase("f", 1000) };
    const gc = (mb: number) => ({ liveHeapBytes: 16 * 1048576, rssAfterGcBytes: mb * 1048576 });
    const result = {
      ...emptyResult,
      floor: { reference: 8, runs: [floorRun] },
      cycles: [
        cycle(1, 1300, gc(74)),
        cycle(2, 1900, { followsGcProbe: true }),
        cycle(3, 1200),
        cycle(4, 1100, gc(75)),
      ],
    };
    const targets = evaluateTargets(result);
    const named = (start: string) => targets.find((target) => target.name.startsWith(start));
    expect(named("ready, median")).toMatchObject({
      name: "ready, median of 3 cycles vs floor",
      met: true,
    });
    expect(named("ready, median")?.measured).toMatch(/^1\.20×/);
    expect(named("ready, cycle 1")?.measured).toMatch(/^1\.30×/);
    expect(named("no RSS growth")?.measured).toContain(
      "RSS after full GC (cycles 1 and 4) 74, 75 MB",
    );
    expect(renderReport({ ...result, targets })).toMatch(/\|\s+2¹ \| 1\.90 s \|/);
  });

  it("judge a cold start against the mean of the floor runs just before and just after it", () => {
    const floorRun = (ms: number) => ({
      concurrency: 8,
      ready: phase("f", ms),
      unready: phase("f", ms),
    });
    const start = (n: number, wallMs: number, before: number, after: number) => ({
      start: n,
      ready: phase(`cold ready #${n}`, wallMs),
      unready: phase(`cold unready #${n}`, wallMs),
      floorBefore: floorRun(before),
      floorAfter: floorRun(after),
      rssAfterSyncBytes: 79 * 1048576,
    });
    // 1200 / mean(900, 1100) = 1.20; 1500 / 1000 = 1.50; 1300 / 1000 = 1.30: median 1.30.
    const result = {
      ...emptyResult,
      floor: { reference: 8, runs: [floorRun(1000)] },
      cycles: [cycle(1, 1100)],
      coldStarts: [start(1, 1200, 900, 1100), start(2, 1500, 1100, 900), start(3, 1300, 900, 1100)],
    };
    expect(coldRatio(result.coldStarts[0] as ColdStart, "ready")).toBeCloseTo(1.2);
    const targets = evaluateTargets(result);
    const cold = targets.find((target) => target.name.startsWith("unready, cycle 1 (cold) of 3"));
    expect(cold).toMatchObject({ measured: "1.30× (each: 1.20×, 1.50×, 1.30×)", met: false });
    const report = renderReport({ ...result, targets });
    expect(report).toContain("### Cold starts");
    expect(report).toMatch(/\|\s+1 \| 0\.90 s \/ 0\.90 s\s+\| 1\.20 s \|/);
    expect(targets.some((target) => target.name.includes("fresh floor process"))).toBe(false);
  });

  it("judge a cold start against a fresh floor process when there was one", () => {
    const floorRun = (ready: number, unready: number) => ({
      concurrency: 8,
      ready: phase("f", ready),
      unready: phase("f", unready),
    });
    const start = (n: number, wallMs: number, fresh: ReturnType<typeof floorRun> | undefined) => ({
      start: n,
      ready: phase(`cold ready #${n}`, wallMs),
      unready: phase(`cold unready #${n}`, wallMs),
      floorBefore: floorRun(1000, 1000),
      floorAfter: floorRun(1000, 1000),
      freshFloor: fresh,
      rssAfterSyncBytes: 79 * 1048576,
    });
    // ready: 1200 / 1000, 1500 / 1250, 1300 / 1000 = 1.20, 1.20, 1.30; the start without one is left out.
    const result = {
      ...emptyResult,
      floor: { reference: 8, runs: [floorRun(1000, 1000)] },
      cycles: [cycle(1, 1100)],
      coldStarts: [
        start(1, 1200, floorRun(1000, 1500)),
        start(2, 1500, floorRun(1250, 1000)),
        start(3, 1300, floorRun(1000, 1000)),
        start(4, 1300, undefined),
      ],
    };
    expect(freshFloorRatio(result.coldStarts[0] as ColdStart, "unready")).toBeCloseTo(0.8);
    expect(Number.isNaN(freshFloorRatio(result.coldStarts[3] as ColdStart, "ready"))).toBe(true);
    const targets = evaluateTargets(result);
    expect(
      targets.find((target) =>
        target.name.startsWith("ready, cycle 1 (cold) of 3 fresh starts vs a fresh floor"),
      ),
    ).toMatchObject({ measured: "1.20× (each: 1.20×, 1.20×, 1.30×)", met: true });
    expect(
      targets.find((target) =>
        target.name.startsWith("unready, cycle 1 (cold) of 3 fresh starts vs a fresh floor"),
      ),
    ).toMatchObject({ measured: "1.30× (each: 0.80×, 1.50×, 1.30×)", met: false });
    const report = renderReport({ ...result, targets });
    expect(report).toMatch(/\| 1\.00 s \/ 1\.50 s\s+\| 1\.20× \/ 0\.80×/);
  });
});

describe("the requests of a ready/unready phase", () => {
  const audit = (verb: string, resource: string, name = "") => ({
    stage: verb === "watch" ? "ResponseStarted" : "ResponseComplete",
    verb,
    objectRef: { resource, namespace: "ns", name },
    responseStatus: { code: 200 },
  });
  const phase = (lines: ReadonlyArray<ReturnType<typeof audit>>): PhaseResult => ({
    name: "ready #1",
    wallMs: 1000,
    workloads: 3,
    apiServer: { requests: {}, total: 0, cpuSeconds: 0, etcdCpuSeconds: 0 },
    machine: { benchCpuSeconds: 0, otherCpuSeconds: 0, otherCores: 0, waitedForQuietMs: 0 },
    instrumentor: {
      requests: summarizeRequests(lines),
      cpuSeconds: 0,
      peakRssBytes: 0,
      rssAfterBytes: 0,
      heapUsedBytes: undefined,
    },
  });
  const patches = ["a", "b", "c"].map((name) => audit("patch", "deployments", name));

  it("are one patch per workload and at most one Event, re-opened watches aside", () => {
    expect(
      phaseRequestProblems(phase([...patches, audit("create", "events"), audit("watch", "pods")])),
    ).toEqual([]);
    // The same note within 10 minutes is not sent again.
    expect(phaseRequestProblems(phase(patches))).toEqual([]);
    // A CronJob's and a Rollout's patches are workload writes like a Deployment's.
    expect(
      phaseRequestProblems(
        phase([
          audit("patch", "deployments", "a"),
          audit("patch", "cronjobs", "b"),
          audit("patch", "rollouts", "c"),
        ]),
      ),
    ).toEqual([]);
  });

  it("an Event per workload, a second patch or any other request is a problem", () => {
    expect(
      phaseRequestProblems(phase([...patches, ...patches.map(() => audit("create", "events"))])),
    ).toEqual(["3 Events"]);
    expect(
      phaseRequestProblems(
        phase([...patches, audit("patch", "deployments", "a"), audit("create", "events")]),
      ),
    ).toEqual(["4 workload writes to 3 of 3 workloads"]);
    expect(
      phaseRequestProblems(
        phase([...patches, audit("create", "events"), audit("get", "deployments", "a")]),
      ),
    ).toEqual(["get deployments 1"]);
  });
});
