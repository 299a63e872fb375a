/** Everything a run measures, the targets it is judged by, and its markdown report. */
import type { RequestSummary } from "./audit.js";
import { runFootprintTargets } from "./footprint.js";
import { evaluatePodsTargets, type PodsResult, renderPodsReport } from "./pods-results.js";
import type { ResidentParts } from "./proc.js";
import type { ProfileSummary } from "./profile.js";
import {
  breakdown,
  fixed,
  megabytes,
  millis,
  type PhaseRow,
  ratio,
  renderLatency,
  renderPhases,
  renderTable,
  renderTargets,
  seconds,
  type Target,
} from "./report.js";
import { median, type Summary } from "./stats.js";

/** Seconds V8 spent collecting garbage, by kind: prom-client's `nodejs_gc_duration_seconds`. */
/** V8's heap spaces by name (`old_space`, `new_space`, `code_space`, …): committed and used bytes. */
export type V8Spaces = Readonly<Record<string, { readonly total: number; readonly used: number }>>;

export interface GcSeconds {
  readonly minor: number;
  readonly major: number;
  readonly incremental: number;
}

export interface PhaseResult {
  readonly name: string;
  readonly wallMs: number;
  /** Workloads the phase had to change. */
  readonly workloads: number;
  readonly apiServer: {
    /** `apiserver_request_total` deltas (every client) by `verb resource`. */
    readonly requests: Readonly<Record<string, number>>;
    readonly total: number;
    readonly cpuSeconds: number | undefined;
    readonly etcdCpuSeconds: number | undefined;
  };
  /** CPU outside the API server and the instrumentor, to judge how much the machine interfered. */
  readonly machine: {
    readonly benchCpuSeconds: number;
    /** Busy CPU of processes that are not part of the benchmark. */
    readonly otherCpuSeconds: number;
    readonly otherCores: number;
    /** How long the phase waited for other load to drop before it started. */
    readonly waitedForQuietMs: number;
  };
  /** The instrumentor's own requests (audit log, by its User-Agent pid) and its process figures. */
  readonly instrumentor?: {
    readonly requests: RequestSummary;
    readonly cpuSeconds: number | undefined;
    readonly peakRssBytes: number;
    readonly rssAfterBytes: number;
    /** `nodejs_heap_size_used_bytes` from its /metrics at the end of the phase. */
    readonly heapUsedBytes: number | undefined;
    /** VmHWM at the end of the phase: the process's peak RSS since it started. */
    readonly highWaterMarkBytes?: number | undefined;
    /** Seconds its V8 spent in garbage collection during the phase, by kind (its /metrics). */
    readonly gcSeconds?: GcSeconds | undefined;
  };
  /**
   * With pods (every client counted): requests by program from the audit log, objects the
   * controllers created, and the CPU of the cluster's other processes.
   */
  readonly cluster?: {
    readonly byComponent: Readonly<Record<string, RequestSummary>>;
    readonly replicaSetsCreated: number;
    /** Successful `create pods` in the audit log (cross-checks the watch's count). */
    readonly podsCreated: number;
    readonly controllerManagerCpuSeconds: number | undefined;
    readonly schedulerCpuSeconds: number | undefined;
    readonly kwokCpuSeconds: number | undefined;
  };
  /** The floor client's requests (audit log). */
  readonly floorClient?: RequestSummary;
  /** The benchmark's own driver and watch requests (audit log). */
  readonly bench?: RequestSummary;
}

export interface FloorRun {
  readonly concurrency: number;
  readonly ready: PhaseResult;
  readonly unready: PhaseResult;
}

export interface CycleResult {
  readonly cycle: number;
  readonly ready: PhaseResult;
  readonly unready: PhaseResult;
  /** Instrumentor RSS once the cycle settled. */
  readonly rssAfterBytes: number;
  /**
   * With the GC probe, after the first and the last cycle: heap used right after a forced full
   * GC, and RSS then.
   */
  readonly liveHeapBytes?: number | undefined;
  readonly rssAfterGcBytes?: number | undefined;
  /**
   * The probe's full GC before this cycle discarded compiled code (V8 flushes it in a forced
   * GC), so this cycle ran partly cold: shown, but not in the medians.
   */
  readonly followsGcProbe?: boolean | undefined;
}

/**
 * One fresh instrumentor process timed through one cycle (cold: its first writes), between two
 * floor runs at the reference concurrency made just before it started and just after it stopped.
 */
export interface ColdStart {
  readonly start: number;
  readonly ready: PhaseResult;
  readonly unready: PhaseResult;
  readonly floorBefore: FloorRun;
  readonly floorAfter: FloorRun;
  /**
   * The floor client in a fresh process of its own, right after the instrumentor stopped: its
   * first passes, cold as the instrumentor's first cycle (runs before this field have none).
   */
  readonly freshFloor?: FloorRun | undefined;
  /** RSS once its initial reconcile was done, as `startup.rssAfterSyncBytes`. */
  readonly rssAfterSyncBytes: number;
}

/**
 * A cold cycle against the floor beside it: the mean of the floor runs just before and just
 * after, which cancels a drift of the machine or the API server that is steady over the minute.
 */
export const coldRatio = (start: ColdStart, which: "ready" | "unready"): number =>
  start[which].wallMs / ((start.floorBefore[which].wallMs + start.floorAfter[which].wallMs) / 2);

/** A cold cycle against the fresh floor process's first passes (NaN without one). */
export const freshFloorRatio = (start: ColdStart, which: "ready" | "unready"): number =>
  start.freshFloor === undefined
    ? Number.NaN
    : start[which].wallMs / start.freshFloor[which].wallMs;

/** The cycles the medians are taken over: all but one run cold by the GC probe. */
export const warmCycles = (cycles: ReadonlyArray<CycleResult>): ReadonlyArray<CycleResult> =>
  cycles.filter((cycle) => cycle.followsGcProbe !== true);

export interface BenchResult {
  readonly version: 1;
  readonly startedAt: string;
  finishedAt?: string;
  readonly command: string;
  readonly options: Record<string, unknown>;
  readonly machine: Record<string, unknown>;
  controlPlane?: { readonly startMs: number; readonly server: string };
  seeding?: {
    readonly workloads: number;
    readonly namespaces: number;
    readonly byKind: Record<string, number>;
    readonly multiContainer: number;
    readonly containers: number;
    readonly devicesWhenReady: number;
    readonly ms: number;
    readonly requests: number;
  };
  floor?: {
    readonly reference: number;
    readonly runs: FloorRun[];
    /** The reference concurrency again once the instrumentor has stopped (the machine may have changed meanwhile). */
    after?: FloorRun;
    single?: {
      readonly add: Summary | undefined;
      readonly remove: Summary | undefined;
      readonly all: Summary | undefined;
    };
  };
  startup?: {
    readonly startedMs: number;
    readonly cachesSyncedMs: number;
    readonly readyMs: number;
    /** Spawn to the initial reconcile of every workload done. */
    readonly initialReconcileMs: number;
    readonly rssAfterSyncBytes: number;
    /** RSS after sync split: the process's own memory, and mapped file pages (Node's binary). */
    readonly rssSplitAfterSync?: { readonly anonBytes: number; readonly fileBytes: number };
    /** RSS after sync by kind of mapping (/proc/<pid>/smaps). */
    readonly residentAfterSync?: ResidentParts;
    /** V8's heap spaces after sync, from the instrumentor's own `nodejs_heap_space_size_*_bytes`. */
    readonly v8SpacesAfterSync?: V8Spaces;
    readonly phase: PhaseResult;
  };
  cycles?: CycleResult[];
  /** With `--cold-starts`: fresh instrumentor processes, each timed through one cycle. */
  coldStarts?: ColdStart[];
  finalReady?: PhaseResult;
  singleChange?: {
    readonly phase: PhaseResult;
    readonly optOut: Summary | undefined;
    /** From the runtime details' re-creation (the node agent's report) to the device. */
    readonly optIn: Summary | undefined;
    /** From the opt-in annotation write to the device (includes waiting for the instrumentor to settle). */
    readonly optInFromAnnotation: Summary | undefined;
    readonly all: Summary | undefined;
  };
  steady?: PhaseResult;
  shutdown?: { readonly code: number | string; readonly ms: number };
  instrumentor?: {
    /** The script run, from the repository root: the bundle unless `--instrumentor-main` said otherwise. */
    readonly entry: string;
    readonly pid: number;
    readonly highWaterMarkBytes: number;
    readonly logLines: number;
    readonly logLevels: Record<string, number>;
    readonly unstructuredLines: number;
    readonly lastProblems: string[];
    readonly cpuProfileDir: string | undefined;
  };
  /** With `--pods`: mass rollouts on a cluster with pods, per budget. */
  pods?: PodsResult;
  /** With `--cpu-profile-dir`: the instrumentor's top self-time functions per phase. */
  profiles?: Record<string, ProfileSummary & { readonly file: string }>;
  targets?: Target[];
  error?: string;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

/** The report's rows of where RSS after sync is: by mapping, and V8's spaces in it. */
const residentRows = (
  parts: ResidentParts | undefined,
  spaces: V8Spaces | undefined,
): string[][] => {
  if (parts === undefined) return [];
  const spaceList = Object.entries(spaces ?? {})
    .filter(([, space]) => space.total >= 512 * 1024)
    .sort(([, a], [, b]) => b.total - a.total)
    .map(
      ([name, space]) => `${name} ${fixed(mb(space.total), 1)} (${fixed(mb(space.used), 1)} used)`,
    );
  return [
    ["  by mapping: Node's code", megabytes(parts.binaryCode)],
    ["  by mapping: Node's read-only data", megabytes(parts.binaryReadOnly)],
    ["  by mapping: shared libraries", megabytes(parts.otherFiles)],
    ["  by mapping: malloc's heap", megabytes(parts.mallocHeap)],
    ["  by mapping: other anonymous (V8's heap, arenas, stacks)", megabytes(parts.anonymous)],
    ...(spaceList.length === 0 ? [] : [["  V8's spaces, MB (used)", spaceList.join(", ")]]),
  ];
};

type Which = "ready" | "unready";

/** The floor of a phase: the faster of the reference-concurrency runs before and after the instrumentor ran. */
export const floorOf = (result: BenchResult, which: Which): number | undefined => {
  const floor = result.floor;
  if (floor === undefined) return undefined;
  const runs = [floor.runs.find((run) => run.concurrency === floor.reference), floor.after].filter(
    (run): run is FloorRun => run !== undefined,
  );
  return runs.length === 0 ? undefined : Math.min(...runs.map((run) => run[which].wallMs));
};

/** The fastest floor run of any concurrency. */
export const bestFloorOf = (
  result: BenchResult,
  which: Which,
): { ms: number; concurrency: number } | undefined => {
  const runs = [
    ...(result.floor?.runs ?? []),
    ...(result.floor?.after === undefined ? [] : [result.floor.after]),
  ];
  const winner = runs.reduce<FloorRun | undefined>(
    (acc, run) => (acc === undefined || run[which].wallMs < acc[which].wallMs ? run : acc),
    undefined,
  );
  return winner === undefined
    ? undefined
    : { ms: winner[which].wallMs, concurrency: winner.concurrency };
};

/** Request kinds a ready/unready phase may see besides its patches and its Event: re-opened watches. */
const renewals = /^watch /;
const phaseWrites = [
  "patch deployments",
  "patch statefulsets",
  "patch daemonsets",
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

/** Every target of the issue, measured or `met: undefined` when this run did not get that far. */
export const evaluateTargets = (result: BenchResult): Target[] => {
  if (result.pods !== undefined) return evaluatePodsTargets(result);
  const targets: Target[] = [];
  const cycles = result.cycles ?? [];
  const first = cycles[0];
  for (const which of ["ready", "unready"] as const) {
    const floorMs = floorOf(result, which);
    const ratios = cycles.map((cycle) => cycle[which].wallMs / (floorMs ?? Number.NaN));
    const headline = ratios[0];
    const warm = warmCycles(cycles);
    const warmRatios = warm.map((cycle) => cycle[which].wallMs / (floorMs ?? Number.NaN));
    const typical = median(warmRatios);
    const known = (value: number | undefined): value is number =>
      value !== undefined && Number.isFinite(value);
    targets.push({
      name: `${which}, cycle 1 (cold) vs floor c=${result.floor?.reference ?? "?"}`,
      target: "≤ 1.25×",
      measured: known(headline)
        ? `${ratio(headline)} (${seconds(first?.[which].wallMs)} vs ${seconds(floorMs)})`
        : "not run",
      met: known(headline) ? headline <= 1.25 : undefined,
    });
    /** The median of the cold starts' ratios against one floor, each shown. */
    const coldTarget = (ratios: ReadonlyArray<number>, against: string): Target => {
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
    const cold = result.coldStarts ?? [];
    if (cold.length > 0) {
      targets.push(
        coldTarget(
          cold.map((start) => coldRatio(start, which)),
          "the floor beside each",
        ),
      );
      const freshRatios = cold.map((start) => freshFloorRatio(start, which)).filter(known);
      if (freshRatios.length > 0) targets.push(coldTarget(freshRatios, "a fresh floor process"));
    }
    targets.push({
      name: `${which}, median of ${warmRatios.length} cycles vs floor`,
      target: "≤ 1.25×",
      measured: known(typical)
        ? `${ratio(typical)} (${seconds(median(warm.map((cycle) => cycle[which].wallMs)))} vs ${seconds(floorMs)}; best cycle ${ratio(Math.min(...ratios))})`
        : "not run",
      met: known(typical) ? typical <= 1.25 : undefined,
    });
  }
  const phases = cycles.flatMap((cycle) => [cycle.ready, cycle.unready]);
  const wrong = phases
    .map((phase) => ({ phase, problems: phaseRequestProblems(phase) }))
    .filter(({ problems }) => problems.length > 0);
  const events = phases.map((phase) => phase.instrumentor?.requests.eventCreates ?? 0);
  targets.push({
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
  });
  const instrumentorPhases = [
    result.startup?.phase,
    ...phases,
    result.finalReady,
    result.singleChange?.phase,
    result.steady,
  ].filter((phase): phase is PhaseResult => phase?.instrumentor !== undefined);
  const gets = instrumentorPhases.reduce(
    (sum, phase) => sum + (phase.instrumentor?.requests.workloadGets ?? 0),
    0,
  );
  targets.push({
    name: "GETs of workloads by the instrumentor",
    target: "0",
    measured:
      instrumentorPhases.length === 0
        ? "not run"
        : `${gets} over ${instrumentorPhases.length} phases`,
    met: instrumentorPhases.length === 0 ? undefined : gets === 0,
  });
  const steadyRequests = result.steady?.instrumentor?.requests;
  targets.push({
    name: `writes in steady (${seconds(result.steady?.wallMs)})`,
    target: "0",
    measured:
      steadyRequests === undefined
        ? "not run"
        : `${steadyRequests.writes} writes, ${steadyRequests.total} requests`,
    met: steadyRequests === undefined ? undefined : steadyRequests.writes === 0,
  });
  const latency = result.singleChange?.all;
  targets.push({
    name: "single-change latency p99",
    target: "< 250 ms",
    measured:
      latency === undefined
        ? "not run"
        : `p99 ${millis(latency.p99)}, p50 ${millis(latency.p50)} (n=${latency.count}; floor p99 ${millis(result.floor?.single?.all?.p99)})`,
    met: latency === undefined ? undefined : latency.p99 < 250,
  });
  const workloads = result.seeding?.workloads ?? 0;
  targets.push(
    ...runFootprintTargets({
      workloads,
      rssAfterSyncBytes: result.startup?.rssAfterSyncBytes,
      split: result.startup?.rssSplitAfterSync,
      peakRssBytes: result.instrumentor?.highWaterMarkBytes,
    }),
  );
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
  targets.push({
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
  });
  const ready = result.startup?.readyMs;
  targets.push({
    name: "start-up to /readyz 200",
    target: "< 5 s at N=5000",
    measured: ready === undefined ? "not run" : `${seconds(ready)} at N=${workloads}`,
    met: ready === undefined ? undefined : ready < 5000,
  });
  return targets;
};

/** The instrumentor's CPU seconds over some phases (a cycle's two). */
const instrumentorCpuOf = (phases: ReadonlyArray<PhaseResult>): string =>
  `${fixed(phases.reduce((sum, phase) => sum + (phase.instrumentor?.cpuSeconds ?? 0), 0))} s`;

/** The most other load any of the phases saw. */
const otherLoadOf = (phases: ReadonlyArray<PhaseResult>): string =>
  `${fixed(Math.max(...phases.map((phase) => phase.machine.otherCores)), 1)} cores`;

/** The instrumentor's GC seconds over some phases, the major part named: "0.41 s (major 0.12)". */
const gcOf = (phases: ReadonlyArray<PhaseResult>): string => {
  const measured = phases.map((phase) => phase.instrumentor?.gcSeconds);
  if (measured.some((gc) => gc === undefined)) return "–";
  const sum = (pick: (gc: GcSeconds) => number) =>
    measured.reduce((total, gc) => total + (gc === undefined ? 0 : pick(gc)), 0);
  const all = sum((gc) => gc.minor + gc.major + gc.incremental);
  return `${fixed(all)} s (major ${fixed(sum((gc) => gc.major))})`;
};

const phaseRow = (
  phase: PhaseResult,
  floor?: { readonly ms: number | undefined; readonly best?: { ms: number; concurrency: number } },
): PhaseRow => ({
  name: phase.name,
  wallMs: phase.wallMs,
  floorMs: floor?.ms,
  bestFloorMs: floor?.best?.ms,
  bestFloorConcurrency: floor?.best?.concurrency,
  workloads: phase.workloads,
  requests: phase.instrumentor?.requests ?? phase.floorClient,
  apiServerRequests: phase.apiServer.total,
  peakRssBytes: phase.instrumentor?.peakRssBytes,
  cpuSeconds: phase.instrumentor?.cpuSeconds,
  apiServerCpuSeconds: phase.apiServer.cpuSeconds,
  otherCores: phase.machine.otherCores,
});

/** The markdown report: phases, targets, latency, and the instrumentor's requests by verb and resource. */
export const renderReport = (result: BenchResult): string => {
  if (result.pods !== undefined) return renderPodsReport(result);
  const out: string[] = [];
  const n = result.seeding?.workloads ?? 0;
  out.push(
    `## Instrumentor benchmark: ${n} workloads${
      result.seeding === undefined
        ? ""
        : ` (${Object.entries(result.seeding.byKind)
            .map(([kind, count]) => `${count} ${kind}`)
            .join(
              ", ",
            )}; ${result.seeding.multiContainer} multi-container) in ${result.seeding.namespaces} namespaces`
    }`,
    "",
    `\`${result.command}\` — ${result.startedAt}, ${String(result.machine.cpus)} CPUs, node ${String(result.machine.node)}${result.error === undefined ? "" : ` — **failed: ${result.error}**`}`,
    "",
  );
  const floor = result.floor;
  const reference = floor?.runs.find((run) => run.concurrency === floor.reference);
  const rows: PhaseRow[] = [];
  for (const run of [
    ...(floor?.runs ?? []),
    ...(floor?.after === undefined ? [] : [floor.after]),
  ]) {
    rows.push(phaseRow(run.ready), phaseRow(run.unready));
  }
  if (result.startup !== undefined) rows.push(phaseRow(result.startup.phase));
  const cycles = result.cycles ?? [];
  const against = (which: Which) => ({
    ms: floorOf(result, which),
    ...optional(bestFloorOf(result, which)),
  });
  for (const cycle of cycles) {
    if (cycle.cycle === 1 || cycle.cycle === cycles.length) {
      rows.push(
        phaseRow(cycle.ready, against("ready")),
        phaseRow(cycle.unready, against("unready")),
      );
    }
  }
  if (cycles.length > 2) {
    for (const which of ["ready", "unready"] as const) {
      const best = bestFloorOf(result, which);
      rows.push({
        name: `${which}, median of ${warmCycles(cycles).length} cycles`,
        wallMs: median(warmCycles(cycles).map((cycle) => cycle[which].wallMs)),
        floorMs: floorOf(result, which),
        bestFloorMs: best?.ms,
        bestFloorConcurrency: best?.concurrency,
      });
    }
  }
  if (result.singleChange !== undefined) rows.push(phaseRow(result.singleChange.phase));
  if (result.steady !== undefined) rows.push(phaseRow(result.steady));
  out.push("### Phases", "", renderPhases(rows, floor?.reference ?? 8), "");
  if (cycles.length > 0) {
    const readyFloor = floorOf(result, "ready");
    const unreadyFloor = floorOf(result, "unready");
    out.push(
      "### Cycles",
      "",
      renderTable(
        [
          "cycle",
          "ready",
          "× floor",
          "unready",
          "× floor",
          "instr. CPU",
          "of it GC",
          "apiserver CPU",
          "RSS after",
          "heap after",
          "live heap after full GC",
          "other load",
        ],
        cycles.map((cycle) => [
          cycle.followsGcProbe === true ? `${cycle.cycle}¹` : String(cycle.cycle),
          seconds(cycle.ready.wallMs),
          ratio(cycle.ready.wallMs / (readyFloor ?? Number.NaN)),
          seconds(cycle.unready.wallMs),
          ratio(cycle.unready.wallMs / (unreadyFloor ?? Number.NaN)),
          instrumentorCpuOf([cycle.ready, cycle.unready]),
          gcOf([cycle.ready, cycle.unready]),
          `${fixed((cycle.ready.apiServer.cpuSeconds ?? 0) + (cycle.unready.apiServer.cpuSeconds ?? 0))} s`,
          megabytes(cycle.rssAfterBytes),
          megabytes(cycle.unready.instrumentor?.heapUsedBytes),
          cycle.liveHeapBytes === undefined
            ? "–"
            : `${megabytes(cycle.liveHeapBytes)} (RSS ${megabytes(cycle.rssAfterGcBytes)})`,
          otherLoadOf([cycle.ready, cycle.unready]),
        ]),
        ["r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
      ),
      "",
      ...(cycles.some((cycle) => cycle.followsGcProbe === true)
        ? [
            "¹ After the forced full GC of the live-heap probe, which also discards compiled code: partly cold, not in the medians.",
            "",
          ]
        : []),
      `Floor: the faster of the c=${floor?.reference ?? "?"} runs before and after the instrumentor (ready ${seconds(readyFloor)}, unready ${seconds(unreadyFloor)}). "other load": CPU cores used by processes outside the benchmark during the phase (the machine is shared: this is the noise).`,
      "",
    );
  }
  const cold = result.coldStarts ?? [];
  if (cold.length > 0) {
    const pair = (run: FloorRun) => `${seconds(run.ready.wallMs)} / ${seconds(run.unready.wallMs)}`;
    out.push(
      "### Cold starts",
      "",
      renderTable(
        [
          "start",
          "floor before (ready / unready)",
          "ready",
          "unready",
          "floor after",
          "× floor beside (ready / unready)",
          "fresh floor",
          "× fresh floor",
          "instr. CPU",
          "of it GC",
          "RSS after sync",
          "other load",
        ],
        cold.map((start) => [
          String(start.start),
          pair(start.floorBefore),
          seconds(start.ready.wallMs),
          seconds(start.unready.wallMs),
          pair(start.floorAfter),
          `${ratio(coldRatio(start, "ready"))} / ${ratio(coldRatio(start, "unready"))}`,
          start.freshFloor === undefined ? "–" : pair(start.freshFloor),
          start.freshFloor === undefined
            ? "–"
            : `${ratio(freshFloorRatio(start, "ready"))} / ${ratio(freshFloorRatio(start, "unready"))}`,
          instrumentorCpuOf([start.ready, start.unready]),
          gcOf([start.ready, start.unready]),
          megabytes(start.rssAfterSyncBytes),
          otherLoadOf([start.ready, start.unready]),
        ]),
        ["r", "l", "r", "r", "l", "r", "l", "r", "r", "r", "r", "r"],
      ),
      "",
      `Each start is a new instrumentor process (the production entry, no inspector) timed through one ready and one unready phase, its first writes, as cycle 1 above; its floor is the mean of the c=${floor?.reference ?? "?"} floor runs just before it started and just after it stopped, which cancels the drift _The floor drifts_ (README) describes. _Fresh floor_: the same floor client in a new process of its own, started after the instrumentor stopped, timed through its first two passes: cold as the instrumentor's first cycle.`,
      "",
    );
  }
  out.push(
    "Floor rows: the floor client's own requests; other rows: the instrumentor's (audit log, by its User-Agent pid). " +
      "`workload writes / wl`: patches of Deployments/StatefulSets/DaemonSets per workload the phase had to change (max: most to one workload); " +
      "`other writes`: Events and runtime-details deletes; `API-server requests (all)`: `apiserver_request_total` delta, every client.",
    "",
  );
  if (result.targets !== undefined) out.push("### Targets", "", renderTargets(result.targets), "");
  if (result.singleChange !== undefined) {
    out.push(
      "### Single change",
      "",
      renderLatency([
        { name: "opt-out: annotation write → devices gone", summary: result.singleChange.optOut },
        { name: "opt-in: runtime details write → devices on", summary: result.singleChange.optIn },
        {
          name: "opt-in from the annotation write (incl. settle wait)",
          summary: result.singleChange.optInFromAnnotation,
        },
        { name: "all flips", summary: result.singleChange.all },
        { name: "floor: one device patch → seen by watch", summary: floor?.single?.all },
      ]),
      "",
    );
  }
  const startup = result.startup;
  if (startup !== undefined) {
    out.push(
      "### Start-up and memory",
      "",
      renderTable(
        ["figure", "value"],
        [
          [
            "entry run",
            result.instrumentor === undefined ? "–" : `\`${result.instrumentor.entry}\``,
          ],
          ['spawn → "instrumentor started"', seconds(startup.startedMs)],
          ["spawn → `/readyz` 200", seconds(startup.readyMs)],
          ['spawn → "caches synced"', seconds(startup.cachesSyncedMs)],
          [`spawn → initial reconcile of ${n} done`, seconds(startup.initialReconcileMs)],
          ["RSS after sync", megabytes(startup.rssAfterSyncBytes)],
          ["  of which anonymous (heaps)", megabytes(startup.rssSplitAfterSync?.anonBytes)],
          [
            "  of which file pages (Node's binary)",
            megabytes(startup.rssSplitAfterSync?.fileBytes),
          ],
          [
            "RSS after each cycle",
            `${cycles.map((cycle) => fixed(mb(cycle.rssAfterBytes), 0)).join(", ")} MB`,
          ],
          ...residentRows(startup.residentAfterSync, startup.v8SpacesAfterSync),
          ["peak RSS (VmHWM)", megabytes(result.instrumentor?.highWaterMarkBytes)],
          [
            "SIGTERM → exit",
            result.shutdown === undefined
              ? "–"
              : `${millis(result.shutdown.ms)} (code ${result.shutdown.code})`,
          ],
        ],
      ),
      "",
    );
  }
  for (const [phase, profile] of Object.entries(result.profiles ?? {})) {
    out.push(
      `### Instrumentor CPU profile: ${phase} (${fixed(profile.busyMs / 1000)} s busy; ${profile.file})`,
      "",
      renderTable(
        ["self time", "%", "where", "package"],
        profile.bySelf
          .slice(0, 12)
          .map((line) => [millis(line.ms), fixed(line.percent, 1), line.where, line.owner]),
        ["r", "r", "l", "l"],
      ),
      "",
      `By package: ${profile.byOwner
        .slice(0, 8)
        .map((line) => `${line.owner} ${fixed(line.percent, 0)} %`)
        .join(" · ")}`,
      "",
    );
  }
  const requestRows: string[][] = [];
  const add = (phase: PhaseResult | undefined, who: "instrumentor" | "floor") => {
    const requests = who === "instrumentor" ? phase?.instrumentor?.requests : phase?.floorClient;
    if (phase !== undefined && requests !== undefined)
      requestRows.push([phase.name, breakdown(requests.byVerbResource)]);
  };
  add(reference?.ready, "floor");
  add(startup?.phase, "instrumentor");
  add(cycles[0]?.ready, "instrumentor");
  add(cycles[0]?.unready, "instrumentor");
  add(cycles[1]?.ready, "instrumentor");
  add(result.singleChange?.phase, "instrumentor");
  add(result.steady, "instrumentor");
  if (requestRows.length > 0)
    out.push(
      "### Requests by verb and resource",
      "",
      renderTable(["phase", "requests"], requestRows),
      "",
    );
  return out.join("\n");
};

const optional = <T>(value: T | undefined): { best?: T } =>
  value === undefined ? {} : { best: value };
