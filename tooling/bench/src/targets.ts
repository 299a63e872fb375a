/**
 * The targets a run is judged by (a run with pods has its own, `pods-targets.ts`): speed against
 * the floor, the instrumentor's requests per phase, single-change latency, memory, start-up,
 * `kubectl odigos-instrumentor status -A`. Each is measured, or `met: undefined` when the run
 * did not get that far.
 */
import { WorkloadKinds, workloadResource } from "@odigos/crd-types";
import { runFootprintTargets } from "./footprint.js";
import { evaluatePodsTargets } from "./pods-targets.js";
import { coldRatio, floorOf, freshFloorRatio, type Which, warmCycles } from "./ratios.js";
import { fixed, millis, ratio, seconds } from "./report.js";
import { median } from "./stats.js";
import type { BenchResult, CycleResult, PhaseResult, Target } from "./types.js";

/** Request kinds a ready/unready phase may see besides its patches and its Event: re-opened watches. */
const renewals = /^watch /;
const phaseWrites = [
  ...WorkloadKinds.map((kind) => `patch ${workloadResource(kind).plural}`),
  "create events",
];

/**
 * What is wrong with the instrumentor's requests in a ready/unready phase: each workload patched
 * exactly once, at most one Event (on the CollectorsGroup, for the change; it used to be one a
 * workload; none when the same note went out within the last 10 minutes: Events are
 * de-duplicated), and no other request but a watch the server ended and the informer re-opened.
 */
export const phaseRequestProblems = (phase: PhaseResult): string[] => {
  const requests = phase.instrumentor?.requests;
  if (requests === undefined) return ["no instrumentor requests measured"];
  const problems: string[] = [];
  if (requests.workloadWrites !== phase.workloads || requests.workloadsWritten !== phase.workloads)
    problems.push(
      `${requests.workloadWrites} workload writes to ${requests.workloadsWritten} of ${phase.workloads} workloads`,
    );
  if (requests.eventCreates > 1) problems.push(`${requests.eventCreates} Events`);
  const others = Object.entries(requests.byVerbResource).filter(
    ([key]) => !phaseWrites.includes(key) && !renewals.test(key),
  );
  if (others.length > 0) problems.push(others.map(([key, count]) => `${key} ${count}`).join(" · "));
  return problems;
};

const known = (value: number | undefined): value is number =>
  value !== undefined && Number.isFinite(value);

/** Cycle 1 (cold) of the main run against the floor. */
const firstCycleTarget = (result: BenchResult, which: Which): Target => {
  const floorMs = floorOf(result, which);
  const headline = (result.cycles ?? []).map(
    (cycle) => cycle[which].wallMs / (floorMs ?? Number.NaN),
  )[0];
  return {
    name: `${which}, cycle 1 (cold) vs floor c=${result.floor?.reference ?? "?"}`,
    target: "≤ 1.25×",
    measured: known(headline)
      ? `${ratio(headline)} (${seconds(result.cycles?.[0]?.[which].wallMs)} vs ${seconds(floorMs)})`
      : "not run",
    met: known(headline) ? headline <= 1.25 : undefined,
  };
};

/** The median of the cold starts' ratios against one floor, each shown. */
const coldTarget = (which: Which, ratios: ReadonlyArray<number>, against: string): Target => {
  const typicalCold = median(ratios);
  return {
    name: `${which}, cycle 1 (cold) of ${ratios.length} fresh starts vs ${against}, median`,
    target: "≤ 1.25×",
    measured: known(typicalCold)
      ? `${ratio(typicalCold)} (each: ${ratios.map(ratio).join(", ")})`
      : "not run",
    met: known(typicalCold) ? typicalCold <= 1.25 : undefined,
  };
};

/** The cold starts against the floor beside each, and against a fresh floor process when run. */
const coldStartTargets = (result: BenchResult, which: Which): Target[] => {
  const cold = result.coldStarts ?? [];
  if (cold.length === 0) return [];
  const freshRatios = cold.map((start) => freshFloorRatio(start, which)).filter(known);
  return [
    coldTarget(
      which,
      cold.map((start) => coldRatio(start, which)),
      "the floor beside each",
    ),
    ...(freshRatios.length > 0 ? [coldTarget(which, freshRatios, "a fresh floor process")] : []),
  ];
};

/** The median of the warm cycles against the floor. */
const warmCyclesTarget = (result: BenchResult, which: Which): Target => {
  const cycles = result.cycles ?? [];
  const floorMs = floorOf(result, which);
  const ratios = cycles.map((cycle) => cycle[which].wallMs / (floorMs ?? Number.NaN));
  const warm = warmCycles(cycles);
  const warmRatios = warm.map((cycle) => cycle[which].wallMs / (floorMs ?? Number.NaN));
  const typical = median(warmRatios);
  return {
    name: `${which}, median of ${warmRatios.length} cycles vs floor`,
    target: "≤ 1.25×",
    measured: known(typical)
      ? `${ratio(typical)} (${seconds(median(warm.map((cycle) => cycle[which].wallMs)))} vs ${seconds(floorMs)}; best cycle ${ratio(Math.min(...ratios))})`
      : "not run",
    met: known(typical) ? typical <= 1.25 : undefined,
  };
};

/** Each ready/unready phase of the cycles: one patch per workload, at most one Event. */
const requestsPerPhaseTarget = (cycles: ReadonlyArray<CycleResult>): Target => {
  const phases = cycles.flatMap((cycle) => [cycle.ready, cycle.unready]);
  const wrong = phases
    .map((phase) => ({ phase, problems: phaseRequestProblems(phase) }))
    .filter(({ problems }) => problems.length > 0);
  const events = phases.map((phase) => phase.instrumentor?.requests.eventCreates ?? 0);
  return {
    name: "instrumentor requests per ready/unready phase",
    target: "1 patch per workload, ≤ 1 Event (the cause's), nothing else but watch renewals",
    measured:
      phases.length === 0
        ? "not run"
        : `${phases.length - wrong.length}/${phases.length} phases so; Events per phase ${Math.min(...events)}–${Math.max(...events)}${wrong
            .slice(0, 3)
            .map(({ phase, problems }) => `; ${phase.name}: ${problems.join(", ")}`)
            .join("")}`,
    met: phases.length === 0 ? undefined : wrong.length === 0,
  };
};

/** No GET of a workload in any phase with the instrumentor: they come from its cache. */
const workloadGetsTarget = (result: BenchResult): Target => {
  const instrumentorPhases = [
    result.startup?.phase,
    ...(result.cycles ?? []).flatMap((cycle) => [cycle.ready, cycle.unready]),
    result.finalReady,
    result.singleChange?.phase,
    result.steady,
  ].filter((phase): phase is PhaseResult => phase?.instrumentor !== undefined);
  const gets = instrumentorPhases.reduce(
    (sum, phase) => sum + (phase.instrumentor?.requests.workloadGets ?? 0),
    0,
  );
  return {
    name: "GETs of workloads by the instrumentor",
    target: "0",
    measured:
      instrumentorPhases.length === 0
        ? "not run"
        : `${gets} over ${instrumentorPhases.length} phases`,
    met: instrumentorPhases.length === 0 ? undefined : gets === 0,
  };
};

/** Nothing written while no input changes. */
const steadyTarget = (result: BenchResult): Target => {
  const steadyRequests = result.steady?.instrumentor?.requests;
  return {
    name: `writes in steady (${seconds(result.steady?.wallMs)})`,
    target: "0",
    measured:
      steadyRequests === undefined
        ? "not run"
        : `${steadyRequests.writes} writes, ${steadyRequests.total} requests`,
    met: steadyRequests === undefined ? undefined : steadyRequests.writes === 0,
  };
};

const latencyTarget = (result: BenchResult): Target => {
  const latency = result.singleChange?.all;
  return {
    name: "single-change latency p99",
    target: "< 250 ms",
    measured:
      latency === undefined
        ? "not run"
        : `p99 ${millis(latency.p99)}, p50 ${millis(latency.p50)} (n=${latency.count}; floor p99 ${millis(result.floor?.single?.all?.p99)})`,
    met: latency === undefined ? undefined : latency.p99 < 250,
  };
};

const mb = (bytes: number) => bytes / 1024 / 1024;

/** RSS after each cycle within 1.10× of cycle 1's, after a full GC when the probe ran. */
const rssGrowthTarget = (cycles: ReadonlyArray<CycleResult>): Target => {
  const rssList = cycles.map((cycle) => cycle.rssAfterBytes);
  const probed = cycles.filter((cycle) => cycle.rssAfterGcBytes !== undefined);
  const afterGc = probed.length > 0 ? probed.map((cycle) => cycle.rssAfterGcBytes ?? 0) : undefined;
  const liveHeaps = probed.length > 0 ? probed.map((cycle) => cycle.liveHeapBytes ?? 0) : undefined;
  const probedCycles = probed.map((cycle) => cycle.cycle).join(" and ");
  // With the GC probe, growth is judged after a full GC (RSS before it is mostly uncollected garbage).
  const judged = afterGc ?? rssList;
  const firstJudged = judged[0];
  const growth = firstJudged === undefined ? undefined : Math.max(...judged) / firstJudged;
  const list = (values: ReadonlyArray<number>) =>
    values.map((bytes) => fixed(mb(bytes), 0)).join(", ");
  return {
    name: `no RSS growth across ${cycles.length} cycles`,
    target: `each ≤ 1.10× cycle 1${afterGc === undefined ? "" : " (after a full GC)"}`,
    measured:
      growth === undefined
        ? "not run"
        : [
            afterGc === undefined
              ? undefined
              : `RSS after full GC (cycles ${probedCycles}) ${list(afterGc)} MB (max ${ratio(growth)})`,
            liveHeaps === undefined ? undefined : `live heap ${list(liveHeaps)} MB`,
            `RSS before GC ${list(rssList)} MB`,
          ]
            .filter((part) => part !== undefined)
            .join("; "),
    met: growth === undefined || cycles.length < 2 ? undefined : growth <= 1.1,
  };
};

const startupTarget = (result: BenchResult): Target => {
  const ready = result.startup?.readyMs;
  return {
    name: "start-up to /readyz 200",
    target: "< 5 s at N=5000",
    measured:
      ready === undefined ? "not run" : `${seconds(ready)} at N=${result.seeding?.workloads ?? 0}`,
    met: ready === undefined ? undefined : ready < 5000,
  };
};

/** `kubectl odigos-instrumentor status -A` (issue 34): quick at N=5000, and every workload listed. */
const pluginTarget = (result: BenchResult): Target => {
  const plugin = result.pluginStatus;
  const name = "kubectl odigos-instrumentor status -A, median of its runs";
  const target = "< 2 s at N=5000, every workload listed";
  if (plugin === undefined) return { name, target, measured: "not run", met: undefined };
  const medianMs = plugin.medianMs;
  if (plugin.error !== undefined || medianMs === undefined)
    return { name, target, measured: `failed: ${plugin.error ?? "no run"}`, met: false };
  const listedAll = plugin.runs.filter((run) => run.workloads === plugin.expected).length;
  return {
    name,
    target,
    measured: `${seconds(medianMs)} (max ${seconds(plugin.maxMs)}) at N=${plugin.expected}; ${listedAll}/${plugin.runs.length} runs listed every workload; ${plugin.runs.at(-1)?.requests.total ?? "?"} requests a run`,
    met: medianMs < 2000 && listedAll === plugin.runs.length,
  };
};

/** Every target of the issue, measured or `met: undefined` when this run did not get that far. */
export const evaluateTargets = (result: BenchResult): Target[] => {
  if (result.pods !== undefined) return evaluatePodsTargets(result);
  const cycles = result.cycles ?? [];
  return [
    ...(["ready", "unready"] as const).flatMap((which) => [
      firstCycleTarget(result, which),
      ...coldStartTargets(result, which),
      warmCyclesTarget(result, which),
    ]),
    requestsPerPhaseTarget(cycles),
    workloadGetsTarget(result),
    steadyTarget(result),
    latencyTarget(result),
    ...runFootprintTargets({
      workloads: result.seeding?.workloads ?? 0,
      rssAfterSyncBytes: result.startup?.rssAfterSyncBytes,
      split: result.startup?.rssSplitAfterSync,
      peakRssBytes: result.instrumentor?.highWaterMarkBytes,
    }),
    rssGrowthTarget(cycles),
    startupTarget(result),
    pluginTarget(result),
  ];
};
