/**
 * The markdown report of a run with pods: one rollout's time, the rollouts of every phase
 * against their ideal and CPU floor, requests and CPU by program, who asked for what, the
 * instrumentor's memory with its pod cache, and the targets.
 */

import { rollsOut, type WorkloadKind } from "@odigos/crd-types";
import { describeWaves } from "./ideal.js";
import { otherPodsSection } from "./other-pods-report.js";
import { cpuFloorMs, freeCores, judgedIdealMs, rolloutPhases } from "./pods-targets.js";
import { fixed, megabytes, millis, ratio, renderTable, renderTargets, seconds } from "./report.js";
import type {
  BenchResult,
  Calibration,
  Ideal,
  PhaseResult,
  PodsResult,
  RequestSummary,
  RolloutPhase,
} from "./types.js";

const budgetLabel = (budget: number | undefined): string =>
  budget === undefined ? "–" : budget === 0 ? "unlimited" : String(budget);

const requestsOf = (phase: PhaseResult, component: string): number | undefined =>
  phase.cluster?.byComponent[component]?.total;

/** `create pods 2000 · delete pods 2000 · …` of one program. */
const topRequests = (summary: RequestSummary | undefined, limit = 4): string =>
  summary === undefined
    ? "–"
    : Object.entries(summary.byVerbResource)
        .filter(([key]) => !key.startsWith("watch "))
        .slice(0, limit)
        .map(([key, count]) => `${key} ${count}`)
        .join(" · ");

/** The ideal a phase is judged by, marked _CPU_ when the cluster's CPU floor exceeds the waves' time. */
const idealCell = (entry: RolloutPhase, ideal: Ideal | undefined, cores: number): string => {
  const judged = judgedIdealMs(entry, ideal, cores);
  if (ideal === undefined || judged === undefined) return "–";
  return judged > ideal.ms ? `${seconds(judged)} (CPU)` : seconds(judged);
};

/** The rows of the rollouts table (exported for tests). */
export const rolloutRows = (pods: PodsResult, cores: number): string[][] =>
  rolloutPhases(pods).map(({ entry, ideal }) => {
    const judged = judgedIdealMs(entry, ideal, cores);
    const restarts = entry.restarts;
    const flags = [
      restarts.doubleRolloutCount > 0 ? `**${restarts.doubleRolloutCount} double rollouts**` : "",
      restarts.moreCount > 0 ? `${restarts.moreCount} more` : "",
      restarts.fewerCount > 0 ? `**${restarts.fewerCount} fewer**` : "",
    ].filter((flag) => flag !== "");
    const perWorkload =
      entry.changed === 0
        ? entry.podsCreated === 0
          ? "–"
          : `**${entry.podsCreated} pods**`
        : `${fixed(restarts.meanStarted)}${flags.length === 0 ? "" : ` (${flags.join(", ")})`}`;
    return [
      entry.phase.name,
      budgetLabel(entry.budget),
      seconds(entry.rolledOutMs),
      idealCell(entry, ideal, cores),
      judged === undefined ? "–" : ratio(entry.rolledOutMs / Math.max(1, judged)),
      ideal === undefined ? "–" : String(ideal.waves.length),
      entry.changed === 0
        ? "–"
        : `${seconds(cpuFloorMs(entry.phase, cores))} / ${seconds(cpuFloorMs(entry.phase, freeCores(entry.phase, cores)))}`,
      entry.rolloutMs === undefined
        ? "–"
        : `${seconds(entry.rolloutMs.p50)} / ${seconds(entry.rolloutMs.p90)}`,
      entry.changed === 0 ? "–" : seconds(entry.devicesMs),
      String(entry.maxRolling),
      fixed(entry.meanRolling, 1),
      entry.budget === undefined || entry.budget === 0 || entry.changed === 0
        ? "–"
        : `${fixed((100 * entry.meanRolling) / Math.min(entry.budget, entry.changed), 0)} %`,
      entry.podsStillborn === 0
        ? String(entry.podsCreated)
        : `${entry.podsCreated} (${entry.podsStillborn} never ran)`,
      String(entry.podsDeleted),
      String(entry.phase.cluster?.replicaSetsCreated ?? "–"),
      perWorkload,
      `${fixed(entry.phase.machine.otherCores, 1)} cores`,
    ];
  });

/** The rows of the requests and CPU table (exported for tests). */
export const costRows = (pods: PodsResult, steady?: PhaseResult): string[][] => {
  const phases: PhaseResult[] = rolloutPhases(pods).map(({ entry }) => entry.phase);
  if (steady !== undefined) phases.push(steady);
  return phases.map((phase) => {
    const instrumentor = phase.instrumentor?.requests;
    const controllerManager = requestsOf(phase, "kube-controller-manager");
    return [
      phase.name,
      instrumentor === undefined
        ? "–"
        : `${instrumentor.total} (${instrumentor.workloadWrites} workload writes)`,
      String(controllerManager ?? "–"),
      String(requestsOf(phase, "kube-scheduler") ?? "–"),
      String(requestsOf(phase, "kwok") ?? "–"),
      String(phase.apiServer.total),
      instrumentor === undefined || instrumentor.workloadWrites === 0
        ? "–"
        : fixed(phase.apiServer.total / instrumentor.workloadWrites, 1),
      phase.apiServer.cpuSeconds === undefined ? "–" : `${fixed(phase.apiServer.cpuSeconds, 1)} s`,
      phase.apiServer.etcdCpuSeconds === undefined
        ? "–"
        : `${fixed(phase.apiServer.etcdCpuSeconds, 1)} s`,
      `${fixed(phase.cluster?.controllerManagerCpuSeconds, 1)} / ${fixed(phase.cluster?.schedulerCpuSeconds, 1)} / ${fixed(phase.cluster?.kwokCpuSeconds, 1)} s`,
      phase.instrumentor?.cpuSeconds === undefined
        ? "–"
        : `${fixed(phase.instrumentor.cpuSeconds, 1)} s`,
      phase.instrumentor === undefined
        ? "–"
        : `${megabytes(phase.instrumentor.peakRssBytes)} / ${megabytes(phase.instrumentor.rssAfterBytes)}`,
    ];
  });
};

/** The title, the command, date, machine and load (and the error of a failed run). */
const heading = (result: BenchResult): string[] => {
  const pods = result.pods;
  const n = result.seeding?.workloads ?? 0;
  return [
    `## Instrumentor benchmark with pods: ${n} workloads × ${pods?.replicas ?? "?"} pods on ${pods?.nodes ?? "?"} KWOK nodes${
      result.seeding === undefined
        ? ""
        : ` (${Object.entries(result.seeding.byKind)
            .map(([kind, count]) => `${count} ${kind}`)
            .join(", ")}) in ${result.seeding.namespaces} namespaces`
    }`,
    "",
    `\`${result.command}\` — ${result.startedAt}, ${String(result.machine.cpus)} CPUs, node ${String(result.machine.node)}, load average at start ${
      Array.isArray(result.machine.loadAverageAtStart)
        ? (result.machine.loadAverageAtStart as number[]).map((value) => value.toFixed(1)).join(" ")
        : "?"
    }${result.error === undefined ? "" : ` — **failed: ${result.error}**`}`,
    "",
  ];
};

/** _One rollout's time_: the calibrations before and after, and the ideal's unit. */
const calibrationSection = (pods: PodsResult, byKind: Record<string, number> = {}): string[] => {
  const calibration = pods.calibration;
  if (calibration === undefined) return [];
  const noRollout = Object.keys(byKind).filter((kind) => !rollsOut(kind as WorkloadKind));
  const line = (
    label: string,
    one: { readonly medianMs: Calibration["medianMs"]; readonly mixMs: number },
  ) =>
    `${label}: ${Object.entries(one.medianMs)
      .map(([kind, ms]) => `${kind} ${seconds(ms)}`)
      .join(", ")}; mix ${seconds(one.mixMs)}`;
  return [
    "### One rollout's time",
    "",
    `Single rollouts (the benchmark's own device patch → rolled out, seen by its watch), median per kind, ${pods.podReadyDelayMs} ms + up to ${pods.podReadyJitterMs} ms from Running to Ready per pod. ${line("Before", calibration.before)}${
      calibration.after === undefined ? "" : `. ${line("After", calibration.after)}`
    }. The ideal's unit: **${seconds(calibration.rolloutMs)}** (the faster mix)${
      noRollout.length === 0
        ? ""
        : `; ${noRollout.map((kind) => `${byKind[kind]} ${kind}s`).join(", ")} have no rollout time (complete when written), left out of the mix and of the waves`
    }.`,
    "",
  ];
};

/** _Rollouts_: each phase against its ideal and CPU floor, what rolled, and the pods restarted. */
const rolloutsSection = (pods: PodsResult, cores: number): string[] => [
  "### Rollouts",
  "",
  renderTable(
    [
      "phase",
      "budget",
      "rolled out",
      "ideal",
      "× ideal",
      "waves",
      "CPU floor: all / free cores",
      "one rollout p50 / p90",
      "devices written",
      "most rolling",
      "mean rolling",
      "budget use",
      "pods created",
      "pods deleted",
      "ReplicaSets created",
      "pods started / workload",
      "other load",
    ],
    rolloutRows(pods, cores),
    ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
  ),
  "",
  `_rolled out_: from the trigger (collectors ready or not, or the seed's first create) until every changed workload reports its rollout complete (observedGeneration current, updated = desired = available), seen by the benchmark's watch. _ideal_: what the cluster can do, the larger of waves × one rollout's time and the cluster's CPU floor (marked _CPU_ when that is larger: every process's CPU in the phase but the instrumentor's, over the cores other load left free); the waves as the instrumentor's own RolloutBudget grants them (${pods.budgets
    .map((run) =>
      run.ideal === undefined
        ? undefined
        : `${budgetLabel(run.budget)}: ${describeWaves(run.ideal.waves)}`,
    )
    .filter((text) => text !== undefined)
    .join(
      "; ",
    )}). _CPU floor_: the CPU seconds of every process of the benchmark in the phase (API server, etcd, controller manager, scheduler, kwok, instrumentor, the benchmark's watches) over the machine's ${cores} cores, and over the cores other processes left free: no budget makes the phase faster than that. _one rollout p50 / p90_: each workload's rollout in the phase, from the event that showed it rolling to the one that showed it complete (alone it takes the calibrated time above: the difference is the cluster's slowdown under that many rollouts at once). _devices written_: until every template carried (or lost) its devices. _most/mean rolling_: workloads whose rollout was not complete, at every watch event, replayed in resourceVersion order (the mean is over time); _budget use_: mean rolling / budget (how full the instrumentor keeps its budget). _pods created/deleted_: by UID from the benchmark's watch of pods; _never ran_: deleted before reaching Running. _pods started / workload_: pods created in the phase that reached Running, per changed workload (must equal its ${pods.replicas} replicas); a _double rollout_ is a workload whose new pods belong to more than one new revision (\`pod-template-hash\`, \`controller-revision-hash\`); _more_: one revision, but a pod replaced again. _other load_: CPU cores used by processes outside the benchmark (the machine is shared).`,
  "",
];

/** _Requests and CPU_: each phase's requests by program and the CPU of every process. */
const costsSection = (result: BenchResult, pods: PodsResult): string[] => [
  "### Requests and CPU",
  "",
  renderTable(
    [
      "phase",
      "instrumentor requests",
      "controller manager",
      "scheduler",
      "kwok",
      "API-server requests (all)",
      "all per instrumentor write",
      "API-server CPU",
      "etcd CPU",
      "ctrl-mgr / scheduler / kwok CPU",
      "instr. CPU",
      "instr. RSS peak / after",
    ],
    costRows(pods, result.steady),
    ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
  ),
  "",
  "Requests from the audit log by User-Agent (program); _API-server requests (all)_: `apiserver_request_total` delta, every client and the API server's own. CPU from `/proc/<pid>/stat` (utime + stime) over the phase; the API server's includes writing the audit log.",
  "",
];

/** _Who asked for what_ in the first instrument phase: every program's requests. */
const whoAskedSection = (pods: PodsResult): string[] => {
  const instrument = pods.budgets[0]?.instrument.phase.cluster?.byComponent;
  if (instrument === undefined) return [];
  return [
    `### Who asked for what: ${pods.budgets[0]?.instrument.phase.name}`,
    "",
    renderTable(
      ["program", "requests", "top requests (watches aside)"],
      Object.entries(instrument).map(([program, summary]) => [
        program,
        String(summary.total),
        topRequests(summary),
      ]),
      ["l", "r", "l"],
    ),
    "",
  ];
};

/** _Instrumentor memory_, per budget, with its cache of the pods that carry devices. */
const memorySection = (pods: PodsResult): string[] => {
  if (pods.budgets.length === 0) return [];
  return [
    "### Instrumentor memory (pod cache: pods that carry devices)",
    "",
    renderTable(
      [
        "budget",
        "spawn → /readyz",
        "RSS after sync",
        "pod cache instrumented",
        "RSS after instrument",
        "heap after instrument",
        "VmHWM",
        "pod cache after un-instrument",
      ],
      pods.budgets.map((run) => [
        budgetLabel(run.budget),
        millis(run.readyMs),
        megabytes(run.rssAfterSyncBytes),
        String(run.podCacheAfterInstrument ?? "–"),
        megabytes(run.instrument.phase.instrumentor?.rssAfterBytes),
        megabytes(run.instrument.phase.instrumentor?.heapUsedBytes),
        megabytes(run.instrument.phase.instrumentor?.highWaterMarkBytes),
        String(run.podCacheAfterUninstrument ?? "–"),
      ]),
      ["l", "r", "r", "r", "r", "r", "r", "r"],
    ),
    "",
  ];
};

/** The markdown report of a run with pods. */
export const renderPodsReport = (result: BenchResult): string => {
  const pods = result.pods;
  if (pods === undefined) return heading(result).join("\n");
  const cores = typeof result.machine.cpus === "number" ? result.machine.cpus : 0;
  return [
    ...heading(result),
    ...calibrationSection(pods, result.seeding?.byKind),
    ...rolloutsSection(pods, cores),
    ...costsSection(result, pods),
    ...whoAskedSection(pods),
    ...memorySection(pods),
    ...otherPodsSection(pods),
    ...(result.targets === undefined ? [] : ["### Targets", "", renderTargets(result.targets), ""]),
  ].join("\n");
};
