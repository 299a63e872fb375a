/**
 * The targets of a run with pods (issues 12 and 13): a mass rollout at budget 50 against its
 * ideal, no double rollout, exactly the replicas restarted, the budget kept, one write per
 * workload and one Event per phase, nothing done on a converged cluster, no GETs, a quiet
 * steady; and the CPU floor a phase cannot beat on this machine.
 */
import { otherPodsTargets } from "./other-pods-report.js";
import { fixed, ratio, seconds } from "./report.js";
import type {
  BenchResult,
  Ideal,
  PhaseResult,
  PodsResult,
  RequestSummary,
  RolloutPhase,
  Target,
} from "./types.js";

/** The budgets the issues set a target for. */
const targetBudgets = [10, 50];
const targetRatio = 1.25;

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

/**
 * The CPU floor of the cluster's own work: every process's CPU but the instrumentor's (what it
 * adds is what is judged) over the cores other load left free. On two cores a mass rollout is
 * bound by this rather than by the waves of its budget.
 */
export const clusterFloorMs = (phase: PhaseResult, cores: number): number | undefined => {
  const free = freeCores(phase, cores);
  const floor = cpuFloorMs(phase, free);
  return floor === undefined
    ? undefined
    : floor - ((phase.instrumentor?.cpuSeconds ?? 0) * 1000) / free;
};

/** What the cluster can do: the larger of the waves' time and the cluster's CPU floor. */
export const judgedIdealMs = (
  entry: RolloutPhase,
  ideal: Ideal | undefined,
  cores: number,
): number | undefined =>
  ideal === undefined ? undefined : Math.max(ideal.ms, clusterFloorMs(entry.phase, cores) ?? 0);

/** Instrumenting every workload at a target budget, against what the cluster can do. */
const budgetTarget = (result: BenchResult, pods: PodsResult, budget: number): Target => {
  const cores = typeof result.machine.cpus === "number" ? result.machine.cpus : 0;
  const at = pods.budgets.find((run) => run.budget === budget);
  const idealMs = at === undefined ? undefined : judgedIdealMs(at.instrument, at.ideal, cores);
  const atRatio =
    at === undefined || idealMs === undefined
      ? undefined
      : at.instrument.rolledOutMs / Math.max(1, idealMs);
  return {
    name: `instrument ${result.seeding?.workloads ?? "?"} workloads at budget ${budget} vs the ideal (the larger of waves × one rollout and the cluster's CPU floor)`,
    target: `≤ ${targetRatio.toFixed(2)}×`,
    measured:
      at === undefined || atRatio === undefined
        ? "not run"
        : `${ratio(atRatio)} (${seconds(at.instrument.rolledOutMs)} vs ${seconds(idealMs)}: ${at.ideal?.waves.length} waves × ${seconds(at.ideal?.rolloutMs)} = ${seconds(at.ideal?.ms)}, the cluster's CPU floor ${seconds(clusterFloorMs(at.instrument.phase, cores))} on the ${fixed(freeCores(at.instrument.phase, cores), 1)} free cores (${seconds(cpuFloorMs(at.instrument.phase, cores))} on ${cores} with the instrumentor's CPU); one rollout p50 ${seconds(at.instrument.rolloutMs?.p50)}, budget use ${fixed((100 * at.instrument.meanRolling) / budget, 0)} %)`,
    met: atRatio === undefined ? undefined : atRatio <= targetRatio,
  };
};

type Phases = ReadonlyArray<{ readonly entry: RolloutPhase }>;

/** No changed workload's pods replaced by more than one new revision. */
const doubleRolloutsTarget = (phases: Phases): Target => {
  const doubled = phases.filter(({ entry }) => entry.restarts.doubleRolloutCount > 0);
  return {
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
  };
};

/** Each changed workload restarted exactly its replicas, no unchanged one any. */
const restartsTarget = (phases: Phases): Target => {
  const uneven = phases.filter(
    ({ entry }) =>
      entry.restarts.moreCount > 0 ||
      entry.restarts.fewerCount > 0 ||
      entry.restarts.unchangedStarted > 0,
  );
  return {
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
  };
};

/** The most workloads rolling at once within each budget. */
const mostRollingTarget = (pods: PodsResult): Target => {
  const bounded = pods.budgets.filter((run) => run.budget > 0);
  const over = bounded.filter((run) => run.instrument.maxRolling > run.budget);
  return {
    name: "most workloads rolling at once, instrument phases with a budget",
    target: "≤ the budget",
    measured:
      bounded.length === 0
        ? "not run"
        : bounded.map((run) => `${run.instrument.maxRolling} at ${run.budget}`).join(", "),
    met: bounded.length === 0 ? undefined : over.length === 0,
  };
};

/** One write per changed workload in each instrument and un-instrument phase. */
const writesPerPhaseTarget = (instrumentorPhases: ReadonlyArray<RolloutPhase>): Target => {
  const wrongWrites = instrumentorPhases.filter((entry) => {
    const requests = writesOf(entry.phase);
    return (
      requests === undefined ||
      requests.workloadWrites !== entry.changed ||
      requests.workloadsWritten !== entry.changed
    );
  });
  return {
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
  };
};

/** At most one Event (the collectors change's) in each instrument and un-instrument phase. */
const eventsPerPhaseTarget = (instrumentorPhases: ReadonlyArray<RolloutPhase>): Target => {
  const events = instrumentorPhases.map(
    (entry) => writesOf(entry.phase)?.eventCreates ?? Number.NaN,
  );
  return {
    name: "instrumentor Events per instrument/un-instrument phase",
    target: "≤ 1 (the collectors change's, on the CollectorsGroup)",
    measured:
      instrumentorPhases.length === 0
        ? "not run"
        : instrumentorPhases
            .map((entry, index) => `${entry.phase.name}: ${events[index]}`)
            .join("; "),
    met: instrumentorPhases.length === 0 ? undefined : events.every((count) => count <= 1),
  };
};

/** A fresh instrumentor on a converged cluster writes nothing and restarts no pod. */
const convergedRestartTarget = (pods: PodsResult): Target => {
  const restarts = pods.budgets.map((run) => run.restart);
  const noisy = restarts.filter(
    (entry) => (writesOf(entry.phase)?.writes ?? 0) > 0 || entry.podsCreated > 0,
  );
  return {
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
  };
};

/** No GET of a workload in any phase with the instrumentor: they come from its cache. */
const workloadGetsTarget = (result: BenchResult, pods: PodsResult): Target => {
  const gets = [
    ...pods.budgets.flatMap((run) => [
      run.startup,
      run.instrument.phase,
      run.restart.phase,
      run.uninstrument.phase,
    ]),
    ...(result.steady === undefined ? [] : [result.steady]),
  ].reduce((sum, phase) => sum + (phase.instrumentor?.requests.workloadGets ?? 0), 0);
  return {
    name: "GETs of workloads by the instrumentor",
    target: "0",
    measured: pods.budgets.length === 0 ? "not run" : String(gets),
    met: pods.budgets.length === 0 ? undefined : gets === 0,
  };
};

/** Nothing written while every workload is instrumented and no input changes. */
const steadyTarget = (result: BenchResult): Target => {
  const steady = result.steady?.instrumentor?.requests;
  return {
    name: `writes in steady (${seconds(result.steady?.wallMs)}, every workload instrumented)`,
    target: "0",
    measured:
      steady === undefined ? "not run" : `${steady.writes} writes, ${steady.total} requests`,
    met: steady === undefined ? undefined : steady.writes === 0,
  };
};

/** The targets of issues 12 and 13 for a run with pods; `met: undefined` when not measured. */
export const evaluatePodsTargets = (result: BenchResult): Target[] => {
  const pods = result.pods;
  if (pods === undefined) return [];
  const phases = rolloutPhases(pods).filter(({ entry }) => entry.changed > 0);
  const instrumentorPhases = pods.budgets.flatMap((run) => [run.instrument, run.uninstrument]);
  return [
    ...targetBudgets.map((budget) => budgetTarget(result, pods, budget)),
    doubleRolloutsTarget(phases),
    restartsTarget(phases),
    mostRollingTarget(pods),
    writesPerPhaseTarget(instrumentorPhases),
    eventsPerPhaseTarget(instrumentorPhases),
    convergedRestartTarget(pods),
    workloadGetsTarget(result, pods),
    steadyTarget(result),
    ...(pods.otherPods === undefined ? [] : otherPodsTargets(pods.otherPods)),
  ];
};
