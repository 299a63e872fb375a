/**
 * `pnpm bench --pods`: the same benchmark on a cluster where rollouts really happen
 * (`startControlPlane({ pods })`: kube-controller-manager, kube-scheduler, KWOK nodes that
 * advertise the devices). N workloads of R pods each are seeded and rolled out; one rollout's
 * time is measured alone; then, once per budget, the instrumentor (a real process,
 * `--max-concurrent-rollouts=<budget>`) instruments every workload, a fresh instrumentor finds
 * the cluster converged, and every workload is un-instrumented again. Each phase is measured
 * from the benchmark's own watches (workload status, pods) and the audit log (every client).
 */
import type { PodsCluster } from "@odigos/control-plane";
import { OdigosResources, rollsOut, type WorkloadKind, workloadResource } from "@odigos/crd-types";
import { type InstrumentorProcess, parseSamples, startInstrumentor } from "@odigos/harness";
import { Resources } from "@odigos/kube-client";
import type { BenchOptions } from "./args.js";
import type { RolloutCensus } from "./census.js";
import { summarizeRestarts } from "./census.js";
import { sendDevicePatch } from "./floor.js";
import { idealOf, mixRolloutMs } from "./ideal.js";
import {
  type BenchClient,
  createAll,
  type Log,
  type Mark,
  odigosNamespace,
  type RunHandles,
  seedOdigos,
  send,
  sleep,
  startBenchCluster,
  steadyPhase,
  throttled,
} from "./meter.js";
import { MemorySampler } from "./proc.js";
import { type RunBasics, waitTracker } from "./run-context.js";
import {
  idleStretches,
  type OtherSpec,
  otherSpecs,
  received,
  seedOtherPods,
} from "./run-other-pods.js";
import { settled } from "./settle.js";
import { median, summarize } from "./stats.js";
import { Tracker } from "./tracker.js";
import type { BenchResult, BudgetRun, Calibration, PodsResult, RolloutPhase } from "./types.js";
import {
  devicesAre,
  expectedDevices,
  keyOf,
  type PodsShape,
  planWorkloads,
  replicasOf,
  runtimeDetailsManifest,
  seededKinds,
  seedingOf,
  type WorkloadSpec,
  workloadManifest,
} from "./workloads.js";

const calibrationNamespace = "bench-calibration";

/**
 * One workload of each kind seeded that rolls out (not a CronJob: its change is complete when
 * written) in a namespace that is not opted in: the benchmark rolls them itself.
 */
const calibrationSpecs = (kinds: ReadonlyArray<WorkloadKind>): WorkloadSpec[] =>
  kinds.filter(rollsOut).map((kind, index) => ({
    index,
    kind,
    namespace: calibrationNamespace,
    name: `calibrate-${kind.toLowerCase()}`,
    containers: [{ name: "app", language: "go", resources: "none" }],
    selfOptIn: false,
  }));

/** What the phases of a run with pods work with. */
interface PodsRun extends RunBasics {
  readonly pods: PodsResult;
  /** The calibration's workloads (not counted in `n`). */
  readonly calibration: ReadonlyArray<WorkloadSpec>;
  readonly shape: PodsShape;
  /** Every seeded workload's key and its replicas: what an instrument or un-instrument phase rolls. */
  readonly everyWorkload: ReadonlyMap<string, number>;
  /** Rollouts and pods, from the tracker's watches. */
  readonly census: RolloutCensus;
  /** `--other-pods`' Deployments, in a namespace that is not opted in (issue 35). */
  readonly others: ReadonlyArray<OtherSpec>;
  /** The instrumentor running now and its memory sampler: stopped at the end whatever happens. */
  readonly live: {
    instrumentor?: InstrumentorProcess | undefined;
    sampler?: MemorySampler | undefined;
  };
}

/** Seeded workloads whose change is a rollout (a slot of the budget): all but the CronJobs. */
const rollingWorkloads = (run: PodsRun): number =>
  run.specs.filter((spec) => rollsOut(spec.kind)).length;

/** Waits until `check` holds by the benchmark's watches, logging what rolls every 2 s. */
const waitRolled = (run: PodsRun, check: () => boolean, what: string): Promise<number> =>
  waitTracker(
    run,
    check,
    what,
    () =>
      `${run.tracker.instrumentedCount} with devices, ${run.tracker.rollingCount} rolling, ${run.census.podCount} pods`,
  );

interface RolloutPhaseOptions {
  readonly quiet?: boolean;
  /** Resolves when the instrumentor reported the change on the CollectorsGroup. */
  readonly report?: Promise<boolean>;
  readonly settle?: InstrumentorProcess;
  /** The phase began earlier (before the instrumentor started). */
  readonly begun?: { readonly mark: Mark; readonly at: number };
}

/** A phase of rollouts: from `trigger` until `devicesDone` holds and nothing rolls, with its figures. */
const rolloutPhase = async (
  run: PodsRun,
  name: string,
  budget: number | undefined,
  changed: ReadonlyMap<string, number>,
  trigger: () => Promise<void>,
  devicesDone: () => boolean,
  options: RolloutPhaseOptions = {},
): Promise<RolloutPhase> => {
  const { meter, census, tracker } = run;
  const mark = options.begun?.mark ?? (await meter.begin(options.quiet ?? true));
  const started = options.begun?.at ?? performance.now();
  if (options.begun === undefined) census.begin(started);
  await trigger();
  const devicesAt = await waitRolled(run, devicesDone, `${name}: devices`);
  const rolledOutAt = await waitRolled(
    run,
    () => devicesDone() && tracker.rollingCount === 0,
    `${name}: rolled out`,
  );
  const figures = census.figures(rolledOutAt);
  if (
    options.report !== undefined &&
    !(await Promise.race([options.report, sleep(30_000).then(() => false)]))
  )
    run.log(`  ${name}: no report on the CollectorsGroup within 30 s of the rollouts' end`);
  if (options.settle !== undefined)
    await settled(options.settle, { timeoutMs: run.phaseTimeoutMs });
  // Pods of the rollout still being deleted after the workload reported complete are counted.
  await sleep(500);
  const after = census.figures(performance.now());
  const phase = await meter.end(mark, name, rolledOutAt - started, changed.size);
  const restarts = summarizeRestarts(after.perWorkload, changed);
  const entry: RolloutPhase = {
    phase,
    budget,
    changed: changed.size,
    devicesMs: devicesAt - started,
    rolledOutMs: rolledOutAt - started,
    maxRolling: figures.maxRolling,
    meanRolling: figures.meanRolling,
    podsCreated: after.podsCreated,
    podsDeleted: after.podsDeleted,
    podsStillborn: after.podsStillborn,
    rolloutMs: summarize(figures.rolloutMs),
    restarts: {
      ...restarts,
      doubleRollouts: restarts.doubleRollouts.slice(0, 20),
      more: restarts.more.slice(0, 20),
      fewer: restarts.fewer.slice(0, 20),
      doubleRolloutCount: restarts.doubleRollouts.length,
      moreCount: restarts.more.length,
      fewerCount: restarts.fewer.length,
    },
  };
  run.log(
    `${name}: rolled out in ${(entry.rolledOutMs / 1000).toFixed(1)} s (devices after ${(entry.devicesMs / 1000).toFixed(1)} s), at most ${entry.maxRolling} rolling, ${entry.podsCreated} pods created (${entry.podsStillborn} deleted before they ran), ${entry.podsDeleted} deleted, ${restarts.doubleRollouts.length} double rollouts, ${restarts.more.length} workloads with a pod replaced again, API server ${(phase.apiServer.cpuSeconds ?? 0).toFixed(1)} CPU s`,
  );
  return entry;
};

/** _seed: first pods_: every workload (and the calibration's) created and rolled out. */
const seedPods = async (run: PodsRun): Promise<void> => {
  const { options, specs, calibration, shape, n } = run;
  const creates = [...specs, ...calibration].flatMap((spec) => [
    { resource: workloadResource(spec.kind), body: workloadManifest(spec, shape) },
    ...(spec.namespace === calibrationNamespace
      ? []
      : [
          {
            resource: OdigosResources.InstrumentedApplication,
            body: runtimeDetailsManifest(spec),
          },
        ]),
  ]);
  run.log(
    `seeding ${n} workloads × ${options.replicas} pods over ${options.nodes} nodes (and ${calibration.length} for calibration)`,
  );
  const seedStarted = performance.now();
  const seed = await rolloutPhase(
    run,
    "seed: first pods",
    undefined,
    new Map([
      ...run.everyWorkload,
      ...calibration.map((spec) => [keyOf(spec), replicasOf(spec, shape)] as const),
    ]),
    () =>
      createAll(
        run.driver,
        creates,
        options.seedConcurrency,
        throttled(run.log, "creating workloads and runtime details", creates.length),
      ),
    () => run.tracker.size >= n + calibration.length && run.tracker.runtimeDetailsCount >= n,
    { quiet: false },
  );
  run.result.seeding = seedingOf(specs, options.namespaces, {
    ms: performance.now() - seedStarted,
    requests: creates.length + options.namespaces + 6,
  });
  run.pods.seed = seed;
};

/** One calibration rollout: the benchmark's own device patch, until the watch sees it rolled out. */
const calibrationRollout = async (
  run: PodsRun,
  spec: WorkloadSpec,
  add: boolean,
): Promise<number> => {
  const { tracker, census } = run;
  const key = keyOf(spec);
  const wanted = expectedDevices(spec);
  const started = await sendDevicePatch(run.driver, spec, tracker.workload(key), add ? wanted : {});
  if (started === undefined) throw new Error(`${key}: nothing to change`);
  const done = await tracker.until(
    () => devicesAre(tracker.workload(key), add, wanted) && !census.isRolling(key),
    run.phaseTimeoutMs,
    `calibration rollout of ${key}`,
  );
  return done - started;
};

/** _One rollout's time_, alone on a quiet cluster: the median per kind, weighted by the mix. */
const calibrate = async (run: PodsRun, label: string): Promise<Calibration> => {
  await run.meter.begin(true);
  const perKind: Partial<Record<WorkloadKind, number[]>> = {};
  for (const spec of run.calibration) {
    const times: number[] = [];
    for (let round = 0; round < run.options.calibrationRollouts; round++) {
      times.push(await calibrationRollout(run, spec, round % 2 === 0));
      // Let the old pods go before the next one.
      await sleep(300);
    }
    perKind[spec.kind] = times;
  }
  const medianMs = Object.fromEntries(
    Object.entries(perKind).map(([kind, times]) => [kind, median(times) ?? 0]),
  ) as Partial<Record<WorkloadKind, number>>;
  const mixMs = mixRolloutMs(medianMs, run.result.seeding?.byKind ?? {}) ?? 0;
  run.log(
    `one rollout's time (${label}): ${Object.entries(medianMs)
      .map(([kind, ms]) => `${kind} ${(ms / 1000).toFixed(2)} s`)
      .join(", ")}; weighted by the mix ${(mixMs / 1000).toFixed(2)} s`,
  );
  return { perKindMs: perKind, medianMs, mixMs };
};

/** Starts an instrumentor with `budget` and waits until it is ready; its memory sampled from then. */
const startBudgeted = async (
  run: PodsRun,
  budget: number,
  label: string,
): Promise<InstrumentorProcess> => {
  const { options, live } = run;
  run.log(`starting the instrumentor (${label}, --max-concurrent-rollouts=${budget})`);
  const started = await startInstrumentor({
    kubeconfigPath: run.controlPlane.kubeconfigPath,
    odigosNamespace,
    main: options.instrumentorMain,
    nodeArgs: options.instrumentorNodeArgs,
    args: [
      `--max-concurrent-rollouts=${budget}`,
      "--collectors-unready-grace=0",
      ...options.instrumentorArgs,
    ],
    waitReady: false,
    retainLogs: false,
    env: options.instrumentorEnv,
  });
  live.instrumentor = started;
  run.handles.instrumentor = started;
  await started.ready(120_000);
  live.sampler?.stop();
  live.sampler = new MemorySampler(started.pid, 200);
  live.sampler.start();
  run.meter.attach(started, live.sampler);
  return started;
};

/** Stops an instrumentor (SIGTERM, killed after 30 s) and its sampler. */
const stopBudgeted = async (run: PodsRun, process: InstrumentorProcess): Promise<void> => {
  const { live } = run;
  live.sampler?.sample();
  const code = await process.stop("SIGTERM", { killAfterMs: 30_000 });
  if (code !== 0) run.log(`  the instrumentor exited with ${code} on SIGTERM`);
  run.meter.detach();
  live.sampler?.stop();
  live.sampler = undefined;
  live.instrumentor = undefined;
};

/** Resolves true once the instrumentor reports `reason` on the CollectorsGroup (false: never). */
const reported = (run: PodsRun, process: InstrumentorProcess, reason: string) =>
  process
    .waitForLog(
      (line) => line.kind === "CollectorsGroup" && line.reason === reason,
      run.phaseTimeoutMs,
    )
    .then(
      () => true,
      () => false,
    );

/** Pods in the instrumentor's cache (`odigos_instrumentor_cache_objects{informer="Pod"}`). */
const podCache = async (process: InstrumentorProcess): Promise<number | undefined> => {
  const text = await process.metrics().catch(() => "");
  return parseSamples(text, "odigos_instrumentor_cache_objects").find(
    (sample) => sample.labels.informer === "Pod",
  )?.value;
};

/**
 * _start-up_ with collectors not ready and nothing instrumented (nothing to write), then
 * _instrument, budget B_: the collectors turn ready until every workload carries its devices
 * and is rolled out. The instrumentor is stopped after.
 */
const instrumentAtBudget = async (run: PodsRun, budget: number, label: string, first: boolean) => {
  const { meter, n } = run;
  const startMark = await meter.begin(true);
  const instrumentor = await startBudgeted(run, budget, `budget ${label}`);
  const readyMs = performance.now() - instrumentor.spawnedAt;
  await settled(instrumentor, { atLeastReconciles: n, timeoutMs: run.phaseTimeoutMs });
  const rssAfterSyncBytes = run.live.sampler?.sample() ?? 0;
  const receivedAtSync = await received(instrumentor);
  const startup = await meter.end(
    startMark,
    `start-up, budget ${label}`,
    performance.now() - instrumentor.spawnedAt,
    0,
  );
  const instrument = await rolloutPhase(
    run,
    `instrument, budget ${label}`,
    budget,
    run.everyWorkload,
    async () => {
      await run.setCollectorsReady(true);
    },
    () => run.tracker.instrumentedCount === n,
    { report: reported(run, instrumentor, "WorkloadsInstrumented"), settle: instrumentor },
  );
  const podCacheAfterInstrument = await podCache(instrumentor);
  if (first)
    run.pods.otherPods = {
      pods: run.options.otherPods,
      workloads: run.others.length,
      seedMs: run.pods.otherPodsSeedMs ?? 0,
      budget,
      rssAfterSyncBytes,
      receivedAtSync,
      ...(await idleStretches(run, instrumentor, run.others)),
    };
  await stopBudgeted(run, instrumentor);
  return { startup, readyMs, rssAfterSyncBytes, instrument, podCacheAfterInstrument };
};

/**
 * _restart, converged_: a fresh instrumentor on the converged cluster must find nothing to do;
 * after the last budget, _steady_; then _un-instrument_: the collectors turn not ready until
 * every device is gone and every workload rolled out again, which resets the cluster.
 */
const restartAndUninstrument = async (run: PodsRun, last: boolean) => {
  const { options, meter, n } = run;
  const restartMark = await meter.begin(true);
  const restartAt = performance.now();
  run.census.begin(restartAt);
  const second = await startBudgeted(
    run,
    options.uninstrumentBudget,
    "restart on a converged cluster",
  );
  const restart = await rolloutPhase(
    run,
    "restart, converged",
    options.uninstrumentBudget,
    new Map(),
    async () => {
      await settled(second, { atLeastReconciles: n, timeoutMs: run.phaseTimeoutMs });
    },
    () => run.tracker.instrumentedCount === n,
    { begun: { mark: restartMark, at: restartAt } },
  );
  if (last && options.steadySeconds > 0)
    run.result.steady = await steadyPhase(meter, options.steadySeconds, run.log);
  const uninstrument = await rolloutPhase(
    run,
    `un-instrument (budget ${options.uninstrumentBudget === 0 ? "unlimited" : options.uninstrumentBudget})`,
    options.uninstrumentBudget,
    run.everyWorkload,
    async () => {
      await run.setCollectorsReady(false);
    },
    () => run.tracker.withDevicesCount === 0,
    { report: reported(run, second, "WorkloadsUninstrumented"), settle: second },
  );
  const podCacheAfterUninstrument = await podCache(second);
  await stopBudgeted(run, second);
  return { restart, uninstrument, podCacheAfterUninstrument };
};

/** One budget: start-up, instrument, restart on the converged cluster, un-instrument. */
const runBudget = async (
  run: PodsRun,
  budget: number,
  at: { readonly first: boolean; readonly last: boolean },
  rolloutMs: number,
): Promise<void> => {
  const label = budget === 0 ? "unlimited" : String(budget);
  const instrumented = await instrumentAtBudget(run, budget, label, at.first);
  const { restart, uninstrument, podCacheAfterUninstrument } = await restartAndUninstrument(
    run,
    at.last,
  );
  const entry: BudgetRun = {
    budget,
    startup: instrumented.startup,
    readyMs: instrumented.readyMs,
    rssAfterSyncBytes: instrumented.rssAfterSyncBytes,
    podCacheAfterInstrument: instrumented.podCacheAfterInstrument,
    podCacheAfterUninstrument,
    instrument: instrumented.instrument,
    restart,
    uninstrument,
    // With the calibration before; once the one after is known, with the faster.
    ideal: idealOf(rollingWorkloads(run), budget, rolloutMs),
    uninstrumentIdeal: idealOf(rollingWorkloads(run), run.options.uninstrumentBudget, rolloutMs),
  };
  run.pods.budgets.push(entry);
};

/**
 * One rollout's time again, the instrumentor gone (the machine may have changed): the ideals
 * are then taken with the faster of the two.
 */
const recalibrate = async (
  run: PodsRun,
  calibrated: NonNullable<PodsResult["calibration"]>,
): Promise<void> => {
  calibrated.after = await calibrate(run, "after");
  const rolloutMs = Math.min(calibrated.before.mixMs, calibrated.after.mixMs);
  calibrated.rolloutMs = rolloutMs;
  for (const entry of run.pods.budgets) {
    entry.ideal = idealOf(rollingWorkloads(run), entry.budget, rolloutMs);
    entry.uninstrumentIdeal = idealOf(
      rollingWorkloads(run),
      run.options.uninstrumentBudget,
      rolloutMs,
    );
  }
};

/** Starts the control plane with pods: room on the nodes for every pod and a rollout's surge. */
const startPodsCluster = (options: BenchOptions, handles: RunHandles, log: Log) => {
  log(`starting the control plane with pods: ${options.nodes} KWOK nodes (audit log on)`);
  return startBenchCluster({
    pods: {
      nodes: options.nodes,
      // Room for every pod and a rollout's surge on the nodes: the scheduler must never be the limit.
      // The other pods (issue 35) roll with a 25 % surge: twice theirs is room enough.
      podsPerNode: Math.max(
        500,
        Math.ceil(
          (3 * options.workloads * options.replicas + 2 * options.otherPods) / options.nodes,
        ),
      ),
    },
    quietWaitSeconds: options.quietWaitSeconds,
    started: (started) => {
      handles.controlPlane = started;
    },
    log,
  });
};

/**
 * The benchmark's watches, before any pod exists (every pod is counted): workloads, runtime
 * details, and pods, each told to its workload by namespace and `app` label.
 */
const watchPods = async (
  run: Omit<PodsRun, "tracker" | "census">,
  watchClient: BenchClient,
): Promise<PodsRun> => {
  const byApp = new Map(
    [...run.specs, ...run.calibration, ...run.others.map((other) => other.spec)].map((spec) => [
      `${spec.namespace}/${spec.name}`,
      keyOf(spec),
    ]),
  );
  const tracker = new Tracker(
    watchClient,
    new Map(run.specs.map((spec) => [keyOf(spec), expectedDevices(spec)])),
    seededKinds(run.options.rollouts),
    (error) => {
      run.watchProblem.error = error;
      run.log(`watch problem: ${error.message}`);
    },
    (namespace, labels) => byApp.get(`${namespace}/${labels.app ?? ""}`),
  );
  run.handles.tracker = tracker;
  await tracker.start();
  return { ...run, tracker, census: tracker.census };
};

/** The run's pods figures, to be filled: the cluster as it started, no budget run yet. */
const podsResultOf = (options: BenchOptions, cluster: PodsCluster): PodsResult => ({
  nodes: options.nodes,
  nodesWithoutDevices: cluster.nodesWithoutDevices.length,
  replicas: options.replicas,
  podReadyDelayMs: cluster.options.podReadyDelayMs,
  podReadyJitterMs: cluster.options.podReadyJitterMs,
  uninstrumentBudget: options.uninstrumentBudget,
  budgets: [],
});

/** The Odigos objects and namespaces, and one for the calibration; the collectors' switch. */
const seedOdigosAndCalibration = async (
  driver: BenchClient,
  options: BenchOptions,
): Promise<(ready: boolean) => Promise<unknown>> => {
  const setCollectorsReady = await seedOdigos(driver, options.namespaces, options.seedConcurrency);
  await send(
    driver.create(Resources.Namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: calibrationNamespace },
    }),
  );
  return setCollectorsReady;
};

export async function runPodsBench(
  options: BenchOptions,
  result: BenchResult,
  handles: RunHandles,
  log: Log,
): Promise<void> {
  const n = options.workloads;
  const specs = planWorkloads(n, options.namespaces, options.rollouts);
  const calibration = calibrationSpecs(seededKinds(options.rollouts));
  const { controlPlane, driver, watchClient, meter, startMs } = await startPodsCluster(
    options,
    handles,
    log,
  );
  result.controlPlane = { startMs, server: controlPlane.server };
  const cluster = controlPlane.pods;
  if (cluster === undefined) throw new Error("the control plane started without pods");
  const shape: PodsShape = { replicas: options.replicas, nodes: cluster.nodesWithDevices };
  const pods = podsResultOf(options, cluster);
  result.pods = pods;
  const live: PodsRun["live"] = {};
  try {
    const setCollectorsReady = await seedOdigosAndCalibration(driver, options);
    const run = await watchPods(
      {
        options,
        result,
        pods,
        handles,
        log,
        n,
        phaseTimeoutMs: options.phaseTimeoutSeconds * 1000,
        specs,
        calibration,
        shape,
        everyWorkload: new Map(specs.map((spec) => [keyOf(spec), replicasOf(spec, shape)])),
        controlPlane,
        driver,
        meter,
        watchProblem: {},
        setCollectorsReady,
        live,
        others: otherSpecs(options.otherPods, options.otherWorkloads),
      },
      watchClient,
    );
    await seedPods(run);
    if (run.others.length > 0) {
      pods.otherPodsSeedMs = await seedOtherPods(run, run.others);
    }
    const calibrated: NonNullable<PodsResult["calibration"]> = {
      before: await calibrate(run, "before"),
    };
    pods.calibration = calibrated;
    for (const [index, budget] of options.budgets.entries())
      await runBudget(
        run,
        budget,
        { first: index === 0, last: index === options.budgets.length - 1 },
        calibrated.before.mixMs,
      );
    await recalibrate(run, calibrated);
    if (run.watchProblem.error !== undefined)
      log(`note: the benchmark's watch had a problem: ${run.watchProblem.error.message}`);
  } finally {
    live.sampler?.stop();
    handles.tracker?.stop();
    if (live.instrumentor?.alive === true) await live.instrumentor.stop("SIGKILL");
    driver.close();
    watchClient.close();
  }
}
