/**
 * The markdown report of a run without pods (a run with pods has its own, `pods-render.ts`), in
 * sections: phases, cycles, cold starts, targets, single changes, `kubectl odigos-instrumentor
 * status -A`, start-up and memory, CPU profiles, and the instrumentor's requests by verb and
 * resource.
 */
import { renderPodsReport } from "./pods-render.js";
import {
  bestFloorOf,
  coldRatio,
  floorOf,
  freshFloorRatio,
  type Which,
  warmCycles,
} from "./ratios.js";
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
} from "./report.js";
import { median } from "./stats.js";
import type {
  BenchResult,
  FloorRun,
  GcSeconds,
  PhaseResult,
  PluginStatusRun,
  ResidentParts,
  V8Spaces,
} from "./types.js";

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

const optional = <T>(value: T | undefined): { best?: T } =>
  value === undefined ? {} : { best: value };

/** The title and the command, date, machine (and the error of a failed run). */
const heading = (result: BenchResult): string[] => {
  const n = result.seeding?.workloads ?? 0;
  return [
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
  ];
};

/** _Phases_: the floor runs, start-up, the first and last cycles (and the medians), flips, steady. */
const phasesSection = (result: BenchResult): string[] => {
  const floor = result.floor;
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
  return ["### Phases", "", renderPhases(rows, floor?.reference ?? 8), ""];
};

/** _Cycles_: every cycle against the floor, with the instrumentor's CPU, GC and memory. */
const cyclesSection = (result: BenchResult): string[] => {
  const cycles = result.cycles ?? [];
  if (cycles.length === 0) return [];
  const readyFloor = floorOf(result, "ready");
  const unreadyFloor = floorOf(result, "unready");
  return [
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
    `Floor: the faster of the c=${result.floor?.reference ?? "?"} runs before and after the instrumentor (ready ${seconds(readyFloor)}, unready ${seconds(unreadyFloor)}). "other load": CPU cores used by processes outside the benchmark during the phase (the machine is shared: this is the noise).`,
    "",
  ];
};

/** _Cold starts_: each fresh instrumentor's cycle between the floor runs beside it, and a fresh floor. */
const coldStartsSection = (result: BenchResult): string[] => {
  const cold = result.coldStarts ?? [];
  if (cold.length === 0) return [];
  const pair = (run: FloorRun) => `${seconds(run.ready.wallMs)} / ${seconds(run.unready.wallMs)}`;
  return [
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
    `Each start is a new instrumentor process (the production entry, no inspector) timed through one ready and one unready phase, its first writes, as cycle 1 above; its floor is the mean of the c=${result.floor?.reference ?? "?"} floor runs just before it started and just after it stopped, which cancels the drift _The floor drifts_ (README) describes. _Fresh floor_: the same floor client in a new process of its own, started after the instrumentor stopped, timed through its first two passes: cold as the instrumentor's first cycle.`,
    "",
  ];
};

/** What the columns of the phase tables count. */
const requestsLegend = [
  "Floor rows: the floor client's own requests; other rows: the instrumentor's (audit log, by its User-Agent pid). " +
    "`workload writes / wl`: patches of Deployments/StatefulSets/DaemonSets/CronJobs/Rollouts per workload the phase had to change (max: most to one workload); " +
    "`other writes`: Events and runtime-details deletes; `API-server requests (all)`: `apiserver_request_total` delta, every client.",
  "",
];

/** _Single change_: opt-out and opt-in latencies, and the floor's. */
const singleChangeSection = (result: BenchResult): string[] => {
  const single = result.singleChange;
  if (single === undefined) return [];
  return [
    "### Single change",
    "",
    renderLatency([
      { name: "opt-out: annotation write → devices gone", summary: single.optOut },
      { name: "opt-in: runtime details write → devices on", summary: single.optIn },
      {
        name: "opt-in from the annotation write (incl. settle wait)",
        summary: single.optInFromAnnotation,
      },
      { name: "all flips", summary: single.all },
      { name: "floor: one device patch → seen by watch", summary: result.floor?.single?.all },
    ]),
    "",
  ];
};

/** A run of the plugin: its time, the workloads it listed (marked when not every one), its requests. */
const pluginRunRow = (run: PluginStatusRun, index: number, expected: number): string[] => [
  String(index + 1),
  seconds(run.ms),
  run.workloads === expected ? String(run.workloads) : `**${run.workloads}** (not ${expected})`,
  String(run.requests.total),
  breakdown(run.requests.byVerbResource, 12),
  Object.keys(run.failed).length === 0 ? "none" : breakdown(run.failed),
];

/** _kubectl odigos-instrumentor status -A_: each run's time, the workloads listed, the requests. */
const pluginSection = (result: BenchResult): string[] => {
  const plugin = result.pluginStatus;
  if (plugin === undefined) return [];
  const phase = plugin.phase;
  const instrumentor = phase?.instrumentor?.requests;
  return [
    "### kubectl odigos-instrumentor status -A",
    "",
    `\`${plugin.command}\`: the built plugin, a new process each run (as kubectl starts it), on the ${plugin.expected} workloads once every one is instrumented, the instrumentor running${plugin.error === undefined ? "." : ` — **failed: ${plugin.error}**`}`,
    "",
    ...(plugin.runs.length === 0
      ? []
      : [
          renderTable(
            [
              "run",
              "wall",
              "workloads listed",
              "requests",
              "by verb and resource",
              "answers ≥ 400",
            ],
            plugin.runs.map((run, index) => pluginRunRow(run, index, plugin.expected)),
            ["r", "r", "r", "r", "l", "l"],
          ),
          "",
          `Median ${seconds(plugin.medianMs)}, max ${seconds(plugin.maxMs)} (spawn to exit). Requests: the plugin's User-Agent (\`kubectl-odigos_instrumentor/…\`) in the audit log. Over the ${plugin.runs.length} runs: API-server CPU ${fixed(phase?.apiServer.cpuSeconds)} s, the instrumentor's requests ${instrumentor?.total ?? "–"} (${instrumentor?.writes ?? "–"} writes), other load ${fixed(phase?.machine.otherCores, 1)} cores.`,
          "",
        ]),
  ];
};

/** _Start-up and memory_: spawn to each milestone, RSS and where it is, peak, shutdown. */
const startupSection = (result: BenchResult): string[] => {
  const startup = result.startup;
  if (startup === undefined) return [];
  const cycles = result.cycles ?? [];
  return [
    "### Start-up and memory",
    "",
    renderTable(
      ["figure", "value"],
      [
        ["entry run", result.instrumentor === undefined ? "–" : `\`${result.instrumentor.entry}\``],
        ['spawn → "instrumentor started"', seconds(startup.startedMs)],
        ["spawn → `/readyz` 200", seconds(startup.readyMs)],
        ['spawn → "caches synced"', seconds(startup.cachesSyncedMs)],
        [
          `spawn → initial reconcile of ${result.seeding?.workloads ?? 0} done`,
          seconds(startup.initialReconcileMs),
        ],
        ["RSS after sync", megabytes(startup.rssAfterSyncBytes)],
        ["  of which anonymous (heaps)", megabytes(startup.rssSplitAfterSync?.anonBytes)],
        ["  of which file pages (Node's binary)", megabytes(startup.rssSplitAfterSync?.fileBytes)],
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
  ];
};

/** One section per profiled phase: the top self-time functions and packages. */
const profileSections = (result: BenchResult): string[] =>
  Object.entries(result.profiles ?? {}).flatMap(([phase, profile]) => [
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
  ]);

/** _Requests by verb and resource_: the floor's and the instrumentor's in the telling phases. */
const requestsSection = (result: BenchResult): string[] => {
  const floor = result.floor;
  const reference = floor?.runs.find((run) => run.concurrency === floor.reference);
  const cycles = result.cycles ?? [];
  const requestRows: string[][] = [];
  const add = (phase: PhaseResult | undefined, who: "instrumentor" | "floor") => {
    const requests = who === "instrumentor" ? phase?.instrumentor?.requests : phase?.floorClient;
    if (phase !== undefined && requests !== undefined)
      requestRows.push([phase.name, breakdown(requests.byVerbResource)]);
  };
  add(reference?.ready, "floor");
  add(result.startup?.phase, "instrumentor");
  add(cycles[0]?.ready, "instrumentor");
  add(cycles[0]?.unready, "instrumentor");
  add(cycles[1]?.ready, "instrumentor");
  add(result.singleChange?.phase, "instrumentor");
  add(result.steady, "instrumentor");
  if (requestRows.length === 0) return [];
  return [
    "### Requests by verb and resource",
    "",
    renderTable(["phase", "requests"], requestRows),
    "",
  ];
};

/** The markdown report: phases, targets, latency, and the instrumentor's requests by verb and resource. */
export const renderReport = (result: BenchResult): string => {
  if (result.pods !== undefined) return renderPodsReport(result);
  return [
    ...heading(result),
    ...phasesSection(result),
    ...cyclesSection(result),
    ...coldStartsSection(result),
    ...requestsLegend,
    ...(result.targets === undefined ? [] : ["### Targets", "", renderTargets(result.targets), ""]),
    ...singleChangeSection(result),
    ...pluginSection(result),
    ...startupSection(result),
    ...profileSections(result),
    ...requestsSection(result),
  ].join("\n");
};
