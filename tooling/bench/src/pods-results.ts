/** `pnpm bench --pods`: what a run measures, its targets, and its markdown report. */
import type { RequestSummary } from "./audit.js";
import type { RestartSummary } from "./census.js";
import { describeWaves, type Ideal } from "./ideal.js";
import {
  fixed,
  megabytes,
  millis,
  ratio,
  renderTable,
  renderTargets,
  seconds,
  type Target,
} from "./report.js";
import type { BenchResult, PhaseResult } from "./results.js";
import type { Summary } from "./stats.js";
import type { WorkloadKind } from "./workloads.js";

/** One phase of mass rollouts: the meter's figures and what the watches saw. */
export interface RolloutPhase {
  /** API server, audit log by client and program, CPU, memory; `wallMs` = `rolledOutMs`. */
  readonly phase: PhaseResult;
  /** The instrumentor's `--max-concurrent-rollouts` (0 = unlimited; none: the benchmark's own writes). */
  readonly budget: number | undefined;
  /** Workloads the phase had to change (and roll). */
  readonly changed: number;
  /** From the trigger until every workload's template was as wanted (the instrumentor's writes). */
  readonly devicesMs: number;
  /** From the trigger until every changed workload was rolled out (observedGeneration current, updated = desired = available). */
  readonly rolledOutMs: number;
  /** The most workloads rolling at once (from the watch of workload status, every event). */
  readonly maxRolling: number;
  /** Time-weighted mean of the workloads rolling over the phase. */
  readonly meanRolling: number;
  /** Pods that appeared and disappeared in the phase (watch, by UID). */
  readonly podsCreated: number;
  readonly podsDeleted: number;
  /** Pods created in the phase and deleted before they ever ran. */
  readonly podsStillborn: number;
  /** Each workload's rollout in the phase, from its first event rolling to its first complete. */
  readonly rolloutMs: Summary | undefined;
  /** Pods restarted per changed workload against its replicas (lists cut at 20). */
  readonly restarts: RestartSummary & {
    readonly doubleRolloutCount: number;
    readonly moreCount: number;
    readonly fewerCount: number;
  };
}

export interface Calibration {
  /** Each single rollout's time (patch → rolled out, seen by the watch), per kind, in order. */
  readonly perKindMs: Readonly<Partial<Record<WorkloadKind, number[]>>>;
  readonly medianMs: Readonly<Partial<Record<WorkloadKind, number>>>;
  /** The kinds' medians weighted by the seeded mix. */
  readonly mixMs: number;
}

export interface BudgetRun {
  readonly budget: number;
  /** Spawn → `/readyz` 200, start-up with collectors not ready (nothing to write). */
  readonly startup: PhaseResult;
  readonly readyMs: number;
  readonly rssAfterSyncBytes: number;
  readonly instrument: RolloutPhase;
  /** `odigos_instrumentor_cache_objects{informer="Pod"}` once every workload is instrumented. */
  readonly podCacheAfterInstrument: number | undefined;
  /** A fresh instrumentor on the converged cluster: it must write nothing, restart no pod. */
  readonly restart: RolloutPhase;
  readonly uninstrument: RolloutPhase;
  readonly podCacheAfterUninstrument: number | undefined;
  /** waves × one rollout's time, filled in once the calibration after the budgets is known. */
  ideal?: Ideal;
  uninstrumentIdeal?: Ideal;
}

export interface PodsResult {
  readonly nodes: number;
  readonly nodesWithoutDevices: number;
  readonly replicas: number;
  readonly podReadyDelayMs: number;
  readonly podReadyJitterMs: number;
  readonly uninstrumentBudget: number;
  seed?: RolloutPhase;
  calibration?: {
    readonly before: Calibration;
    after?: Calibration;
    /** The unit of the ideal: the faster of the two calibrations' mix. */
    rolloutMs?: number;
  };
  readonly budgets: BudgetRun[];
}

const budgetLabel = (budget: number | undefined): string =>
  budget === undefined ? "–" : budget === 0 ? "unlimited" : String(budget);

/** The budget the issue sets a target for. */
export const targetBudget = 50;
export const targetRatio = 1.25;

/** Every rollout phase of a run, in order, with its ideal when it has one. */
export const rolloutPhases = (
  pods: PodsResult,
): Array<{ readonly entry: RolloutPhase; readonly ideal: Ideal | undefined }> => [
  ...(pods.seed === undefined ? [] : [{ entry: pods.seed, ideal: undefined }]),
  ...pods.budgets.flatMap((run) => [
    { entry: run.instrument, ideal: run.ideal },
    { entry: run.restart, ideal: undefined },
    { entry: run.uninstrument, ideal: run.uninstrumentIdeal },
  ]),
];

const writesOf = (phase: PhaseResult): RequestSummary | undefined => phase.instrumentor?.requests;

/** The targets of issues 12 and 13 for a run with pods; `met: undefined` when not measured. */
export const evaluatePodsTargets = (result: BenchResult): Target[] => {
  const pods = result.pods;
  if (pods === undefined) return [];
  const cores = typeof result.machine.cpus === "number" ? result.machine.cpus : 0;
  const targets: Target[] = [];
  const at = pods.budgets.find((run) => run.budget === targetBudget);
  const atRatio =
    at?.ideal === undefined ? undefined : at.instrument.rolledOutMs / Math.max(1, at.ideal.ms);
  targets.push({
    name: `instrument ${result.seeding?.workloads ?? "?"} workloads at budget ${targetBudget} vs the ideal`,
    target: `≤ ${targetRatio.toFixed(2)}×`,
    measured:
      at === undefined || atRatio === undefined
        ? "not run"
        : `${ratio(atRatio)} (${seconds(at.instrument.rolledOutMs)} vs ${seconds(at.ideal?.ms)} = ${at.ideal?.waves.length} waves × ${seconds(at.ideal?.rolloutMs)}; CPU floor ${seconds(cpuFloorMs(at.instrument.phase, cores))} on ${cores} cores, ${seconds(cpuFloorMs(at.instrument.phase, freeCores(at.instrument.phase, cores)))} on the free ones, one rollout p50 ${seconds(at.instrument.rolloutMs?.p50)}, budget use ${fixed((100 * at.instrument.meanRolling) / targetBudget, 0)} %)`,
    met: atRatio === undefined ? undefined : atRatio <= targetRatio,
  });
  const phases = rolloutPhases(pods).filter(({ entry }) => entry.changed > 0);
  const doubled = phases.filter(({ entry }) => entry.restarts.doubleRolloutCount > 0);
  targets.push({
    name: "double rollouts (a changed workload's pods replaced by more than one new revision)",
    target: "0 in every phase",
    measured:
      phases.length === 0
        ? "not run"
        : `${phases.length - doubled.length}/${phases.length} phases with none${doubled
            .slice(0, 3)
            .map(
              ({ entry }) =>
                `; ${entry.phase.name}: ${entry.restarts.doubleRolloutCount} (${entry.restarts.doubleRollouts
                  .slice(0, 3)
                  .map((one) => `${one.workload} ${one.revisions} revisions`)
                  .join(", ")})`,
            )
            .join("")}`,
    met: phases.length === 0 ? undefined : doubled.length === 0,
  });
  const uneven = phases.filter(
    ({ entry }) =>
      entry.restarts.moreCount > 0 ||
      entry.restarts.fewerCount > 0 ||
      entry.restarts.unchangedStarted > 0,
  );
  targets.push({
    name: "pods restarted per changed workload",
    target: "exactly its replicas, in every phase",
    measured:
      phases.length === 0
        ? "not run"
        : `${phases.length - uneven.length}/${phases.length} phases so${uneven
            .slice(0, 3)
            .map(
              ({ entry }) =>
                `; ${entry.phase.name}: ${entry.restarts.moreCount} with more (${entry.restarts.more
                  .slice(0, 2)
                  .map((one) => `${one.workload} ${one.started}`)
                  .join(
                    ", ",
                  )}), ${entry.restarts.fewerCount} with fewer, ${entry.restarts.unchangedStarted} of unchanged workloads`,
            )
            .join("")}`,
    met: phases.length === 0 ? undefined : uneven.length === 0,
  });
  const bounded = pods.budgets.filter((run) => run.budget > 0);
  const over = bounded.filter((run) => run.instrument.maxRolling > run.budget);
  targets.push({
    name: "most workloads rolling at once, instrument phases with a budget",
    target: "≤ the budget",
    measured:
      bounded.length === 0
        ? "not run"
        : bounded.map((run) => `${run.instrument.maxRolling} at ${run.budget}`).join(", "),
    met: bounded.length === 0 ? undefined : over.length === 0,
  });
  const instrumentorPhases = pods.budgets.flatMap((run) => [run.instrument, run.uninstrument]);
  const wrongWrites = instrumentorPhases.filter((entry) => {
    const requests = writesOf(entry.phase);
    return (
      requests === undefined ||
      requests.workloadWrites !== entry.changed ||
      requests.workloadsWritten !== entry.changed
    );
  });
  targets.push({
    name: "instrumentor workload writes per instrument/un-instrument phase",
    target: "1 per workload",
    measured:
      instrumentorPhases.length === 0
        ? "not run"
        : `${instrumentorPhases.length - wrongWrites.length}/${instrumentorPhases.length} phases so${wrongWrites
            .slice(0, 3)
            .map(
              (entry) =>
                `; ${entry.phase.name}: ${writesOf(entry.phase)?.workloadWrites ?? "?"} writes to ${writesOf(entry.phase)?.workloadsWritten ?? "?"} of ${entry.changed}`,
            )
            .join("")}`,
    met: instrumentorPhases.length === 0 ? undefined : wrongWrites.length === 0,
  });
  const events = instrumentorPhases.map(
    (entry) => writesOf(entry.phase)?.eventCreates ?? Number.NaN,
  );
  targets.push({
    name: "instrumentor Events per instrument/un-instrument phase",
    target: "≤ 1 (the collectors change's, on the CollectorsGroup)",
    measured:
      instrumentorPhases.length === 0
        ? "not run"
        : instrumentorPhases
            .map((entry, index) => `${entry.phase.name}: ${events[index]}`)
            .join("; "),
    met: instrumentorPhases.length === 0 ? undefined : events.every((count) => count <= 1),
  });
  const restarts = pods.budgets.map((run) => run.restart);
  const noisy = restarts.filter(
    (entry) => (writesOf(entry.phase)?.writes ?? 0) > 0 || entry.podsCreated > 0,
  );
  targets.push({
    name: "a fresh instrumentor on a converged cluster",
    target: "0 writes, 0 pods restarted",
    measured:
      restarts.length === 0
        ? "not run"
        : restarts
            .map(
              (entry) =>
                `${writesOf(entry.phase)?.writes ?? "?"} writes, ${entry.podsCreated} pods`,
            )
            .join("; "),
    met: restarts.length === 0 ? undefined : noisy.length === 0,
  });
  const gets = [
    ...pods.budgets.flatMap((run) => [
      run.startup,
      run.instrument.phase,
      run.restart.phase,
      run.uninstrument.phase,
    ]),
    ...(result.steady === undefined ? [] : [result.steady]),
  ].reduce((sum, phase) => sum + (phase.instrumentor?.requests.workloadGets ?? 0), 0);
  targets.push({
    name: "GETs of workloads by the instrumentor",
    target: "0",
    measured: pods.budgets.length === 0 ? "not run" : String(gets),
    met: pods.budgets.length === 0 ? undefined : gets === 0,
  });
  const steady = result.steady?.instrumentor?.requests;
  targets.push({
    name: `writes in steady (${seconds(result.steady?.wallMs)}, every workload instrumented)`,
    target: "0",
    measured:
      steady === undefined ? "not run" : `${steady.writes} writes, ${steady.total} requests`,
    met: steady === undefined ? undefined : steady.writes === 0,
  });
  return targets;
};

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

/**
 * The least wall time the phase's CPU work allows on `cores` cores: the CPU seconds of every
 * process of the benchmark (API server, etcd, controller manager, scheduler, kwok, the
 * instrumentor, the benchmark's watches) over the cores. On a small machine a mass rollout is
 * bound by this, not by the budget.
 */
export const cpuFloorMs = (phase: PhaseResult, cores: number): number | undefined => {
  if (cores <= 0 || phase.apiServer.cpuSeconds === undefined) return undefined;
  const seconds =
    phase.apiServer.cpuSeconds +
    (phase.apiServer.etcdCpuSeconds ?? 0) +
    (phase.cluster?.controllerManagerCpuSeconds ?? 0) +
    (phase.cluster?.schedulerCpuSeconds ?? 0) +
    (phase.cluster?.kwokCpuSeconds ?? 0) +
    (phase.instrumentor?.cpuSeconds ?? 0) +
    phase.machine.benchCpuSeconds;
  return (seconds * 1000) / cores;
};

/** Cores left to the benchmark in the phase: the machine's, less what other processes used. */
export const freeCores = (phase: PhaseResult, cores: number): number =>
  Math.max(0.25, cores - phase.machine.otherCores);

/** The rows of the rollouts table (exported for tests). */
export const rolloutRows = (pods: PodsResult, cores: number): string[][] =>
  rolloutPhases(pods).map(({ entry, ideal }) => {
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
      ideal === undefined ? "–" : seconds(ideal.ms),
      ideal === undefined ? "–" : ratio(entry.rolledOutMs / Math.max(1, ideal.ms)),
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

/** The markdown report of a run with pods. */
export const renderPodsReport = (result: BenchResult): string => {
  const pods = result.pods;
  const out: string[] = [];
  const n = result.seeding?.workloads ?? 0;
  out.push(
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
  );
  if (pods === undefined) return out.join("\n");
  const cores = typeof result.machine.cpus === "number" ? result.machine.cpus : 0;
  const calibration = pods.calibration;
  if (calibration !== undefined) {
    const line = (
      label: string,
      one: { readonly medianMs: Calibration["medianMs"]; readonly mixMs: number },
    ) =>
      `${label}: ${Object.entries(one.medianMs)
        .map(([kind, ms]) => `${kind} ${seconds(ms)}`)
        .join(", ")}; mix ${seconds(one.mixMs)}`;
    out.push(
      "### One rollout's time",
      "",
      `Single rollouts (the benchmark's own device patch → rolled out, seen by its watch), median per kind, ${pods.podReadyDelayMs} ms + up to ${pods.podReadyJitterMs} ms from Running to Ready per pod. ${line("Before", calibration.before)}${
        calibration.after === undefined ? "" : `. ${line("After", calibration.after)}`
      }. The ideal's unit: **${seconds(calibration.rolloutMs)}** (the faster mix).`,
      "",
    );
  }
  out.push(
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
    `_rolled out_: from the trigger (collectors ready or not, or the seed's first create) until every changed workload reports its rollout complete (observedGeneration current, updated = desired = available), seen by the benchmark's watch. _ideal_: waves × one rollout's time, the waves as the instrumentor's own RolloutBudget grants them (${pods.budgets
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
  );
  const instrument = pods.budgets[0]?.instrument.phase.cluster?.byComponent;
  if (instrument !== undefined) {
    out.push(
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
    );
  }
  if (pods.budgets.length > 0) {
    out.push(
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
    );
  }
  if (result.targets !== undefined) out.push("### Targets", "", renderTargets(result.targets), "");
  return out.join("\n");
};
