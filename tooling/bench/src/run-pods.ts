/**
 * `pnpm bench --pods`: the same benchmark on a cluster where rollouts really happen
 * (`startControlPlane({ pods })`: kube-controller-manager, kube-scheduler, KWOK nodes that
 * advertise the devices). N workloads of R pods each are seeded and rolled out; one rollout's
 * time is measured alone; then, once per budget, the instrumentor (a real process,
 * `--max-concurrent-rollouts=<budget>`) instruments every workload, a fresh instrumentor finds
 * the cluster converged, and every workload is un-instrumented again. Each phase is measured
 * from the benchmark's own watches (workload status, pods) and the audit log (every client).
 */
import { OdigosResources, workloadResource } from "@odigos/crd-types";
import { type InstrumentorProcess, parseSamples, startInstrumentor } from "@odigos/harness";
import { Resources } from "@odigos/kube-client";
import type { BenchOptions } from "./args.js";
import { summarizeRestarts } from "./census.js";
import { idealOf, mixRolloutMs } from "./ideal.js";
import {
  type Log,
  type Mark,
  odigosNamespace,
  pool,
  seedOdigos,
  send,
  sleep,
  startBenchCluster,
  throttled,
  ticking,
} from "./meter.js";
import type { Calibration, PodsResult, RolloutPhase } from "./pods-results.js";
import { MemorySampler } from "./proc.js";
import type { BenchResult } from "./results.js";
import type { RunHandles } from "./run.js";
import { settled } from "./settle.js";
import { median, summarize } from "./stats.js";
import { Tracker } from "./tracker.js";
import {
  carries,
  devicePatch,
  expectedDevices,
  hasAnyDevice,
  keyOf,
  type PodsShape,
  planWorkloads,
  replicasOf,
  runtimeDetailsManifest,
  type WorkloadKind,
  type WorkloadSpec,
  workloadManifest,
} from "./workloads.js";

const calibrationNamespace = "bench-calibration";
const kinds: ReadonlyArray<WorkloadKind> = ["Deployment", "StatefulSet", "DaemonSet"];

/** One workload of each kind in a namespace that is not opted in: the benchmark rolls them itself. */
const calibrationSpecs = (): WorkloadSpec[] =>
  kinds.map((kind, index) => ({
    index,
    kind,
    namespace: calibrationNamespace,
    name: `calibrate-${kind.toLowerCase()}`,
    containers: [{ name: "app", language: "go", resources: "none" }],
    selfOptIn: false,
  }));

export async function runPodsBench(
  options: BenchOptions,
  result: BenchResult,
  handles: RunHandles,
  log: Log,
): Promise<void> {
  const n = options.workloads;
  const phaseTimeoutMs = options.phaseTimeoutSeconds * 1000;
  const specs = planWorkloads(n, options.namespaces);
  const calibration = calibrationSpecs();
  const desired = new Map(specs.map((spec) => [keyOf(spec), expectedDevices(spec)]));
  const totalPods = n * options.replicas;

  log(`starting the control plane with pods: ${options.nodes} KWOK nodes (audit log on)`);
  const { controlPlane, driver, watchClient, meter, startMs } = await startBenchCluster({
    pods: {
      nodes: options.nodes,
      // Room for every pod and a rollout's surge on the nodes: the scheduler must never be the limit.
      podsPerNode: Math.max(500, Math.ceil((3 * totalPods) / options.nodes)),
    },
    quietWaitSeconds: options.quietWaitSeconds,
    started: (started) => {
      handles.controlPlane = started;
    },
    log,
  });
  result.controlPlane = { startMs, server: controlPlane.server };
  const cluster = controlPlane.pods;
  if (cluster === undefined) throw new Error("the control plane started without pods");
  const shape: PodsShape = { replicas: options.replicas, nodes: cluster.nodesWithDevices };
  const byApp = new Map(
    [...specs, ...calibration].map((spec) => [`${spec.namespace}/${spec.name}`, keyOf(spec)]),
  );

  const pods: PodsResult = {
    nodes: options.nodes,
    nodesWithoutDevices: cluster.nodesWithoutDevices.length,
    replicas: options.replicas,
    podReadyDelayMs: cluster.options.podReadyDelayMs,
    podReadyJitterMs: cluster.options.podReadyJitterMs,
    uninstrumentBudget: options.uninstrumentBudget,
    budgets: [],
  };
  result.pods = pods;
  let instrumentor: InstrumentorProcess | undefined;
  let sampler: MemorySampler | undefined;
  try {
    // ---- the Odigos objects and namespaces -------------------------------------------
    const setCollectorsReady = await seedOdigos(
      driver,
      options.namespaces,
      options.seedConcurrency,
    );
    await send(
      driver.create(Resources.Namespace, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: calibrationNamespace },
      }),
    );

    // ---- the benchmark's watches, before any pod exists: every pod is counted ------------
    let trackerError: Error | undefined;
    const tracker = new Tracker(
      watchClient,
      desired,
      (error) => {
        trackerError = error;
        log(`watch problem: ${error.message}`);
      },
      (namespace, labels) => byApp.get(`${namespace}/${labels.app ?? ""}`),
    );
    handles.tracker = tracker;
    await tracker.start();
    const census = tracker.census;
    const waitTracker = (check: () => boolean, what: string, progress: () => string) =>
      ticking(tracker.until(check, phaseTimeoutMs, what), () => log(`  ${what}: ${progress()}`));
    const rollingNow = () =>
      `${tracker.instrumentedCount} with devices, ${tracker.rollingCount} rolling, ${census.podCount} pods`;

    /** A phase of rollouts: from `trigger` until `done` holds and nothing rolls, with its figures. */
    const rolloutPhase = async (
      name: string,
      budget: number | undefined,
      changed: ReadonlyMap<string, number>,
      trigger: () => Promise<void>,
      devicesDone: () => boolean,
      options: {
        readonly quiet?: boolean;
        /** Resolves when the instrumentor reported the change on the CollectorsGroup. */
        readonly report?: Promise<boolean>;
        readonly settle?: InstrumentorProcess;
        /** The phase began earlier (before the instrumentor started). */
        readonly begun?: { readonly mark: Mark; readonly at: number };
      } = {},
    ): Promise<RolloutPhase> => {
      const mark = options.begun?.mark ?? (await meter.begin(options.quiet ?? true));
      const started = options.begun?.at ?? performance.now();
      if (options.begun === undefined) census.begin(started);
      await trigger();
      const devicesAt = await waitTracker(devicesDone, `${name}: devices`, rollingNow);
      const rolledOutAt = await waitTracker(
        () => devicesDone() && tracker.rollingCount === 0,
        `${name}: rolled out`,
        rollingNow,
      );
      const figures = census.figures(rolledOutAt);
      if (
        options.report !== undefined &&
        !(await Promise.race([options.report, sleep(30_000).then(() => false)]))
      )
        log(`  ${name}: no report on the CollectorsGroup within 30 s of the rollouts' end`);
      if (options.settle !== undefined)
        await settled(options.settle, { timeoutMs: phaseTimeoutMs });
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
      log(
        `${name}: rolled out in ${(entry.rolledOutMs / 1000).toFixed(1)} s (devices after ${(entry.devicesMs / 1000).toFixed(1)} s), at most ${entry.maxRolling} rolling, ${entry.podsCreated} pods created (${entry.podsStillborn} deleted before they ran), ${entry.podsDeleted} deleted, ${restarts.doubleRollouts.length} double rollouts, ${restarts.more.length} workloads with a pod replaced again, API server ${(phase.apiServer.cpuSeconds ?? 0).toFixed(1)} CPU s`,
      );
      return entry;
    };

    // ---- seed: N workloads and their first pods ----------------------------------------
    const everyWorkload = new Map(specs.map((spec) => [keyOf(spec), replicasOf(spec, shape)]));
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
    log(
      `seeding ${n} workloads × ${options.replicas} pods over ${options.nodes} nodes (and ${calibration.length} for calibration)`,
    );
    const seedStarted = performance.now();
    const seed = await rolloutPhase(
      "seed: first pods",
      undefined,
      new Map([
        ...everyWorkload,
        ...calibration.map((spec) => [keyOf(spec), replicasOf(spec, shape)] as const),
      ]),
      () =>
        pool(
          creates,
          options.seedConcurrency,
          async ({ resource, body }) => {
            await send(driver.create(resource, body));
          },
          throttled(log, "creating workloads and runtime details", creates.length),
        ),
      () => tracker.size >= n + calibration.length && tracker.runtimeDetailsCount >= n,
      { quiet: false },
    );
    const byKind: Record<string, number> = {};
    for (const spec of specs) byKind[spec.kind] = (byKind[spec.kind] ?? 0) + 1;
    result.seeding = {
      workloads: n,
      namespaces: options.namespaces,
      byKind,
      multiContainer: specs.filter((spec) => spec.containers.length > 1).length,
      containers: specs.reduce((sum, spec) => sum + spec.containers.length, 0),
      devicesWhenReady: specs.reduce(
        (sum, spec) => sum + Object.keys(expectedDevices(spec)).length,
        0,
      ),
      ms: performance.now() - seedStarted,
      requests: creates.length + options.namespaces + 6,
    };
    pods.seed = seed;

    // ---- one rollout's time, alone on a quiet cluster ----------------------------------
    const calibrate = async (label: string): Promise<Calibration> => {
      await meter.begin(true);
      const perKind: Partial<Record<WorkloadKind, number[]>> = {};
      for (const spec of calibration) {
        const key = keyOf(spec);
        const wanted = expectedDevices(spec);
        const times: number[] = [];
        for (let round = 0; round < options.calibrationRollouts; round++) {
          const add = round % 2 === 0;
          const state = tracker.workload(key);
          const operations =
            state === undefined ? undefined : devicePatch(state, add ? wanted : {});
          if (operations === undefined) throw new Error(`${key}: nothing to change`);
          const started = performance.now();
          await send(
            driver.patch(
              workloadResource(spec.kind),
              spec.name,
              { type: "json", operations },
              { namespace: spec.namespace },
            ),
          );
          const done = await tracker.until(
            () => {
              const now = tracker.workload(key);
              return (
                now !== undefined &&
                (add ? carries(now, wanted) : !hasAnyDevice(now)) &&
                !census.isRolling(key)
              );
            },
            phaseTimeoutMs,
            `calibration rollout of ${key}`,
          );
          times.push(done - started);
          // Let the old pods go before the next one.
          await sleep(300);
        }
        perKind[spec.kind] = times;
      }
      const medianMs = Object.fromEntries(
        Object.entries(perKind).map(([kind, times]) => [kind, median(times) ?? 0]),
      ) as Partial<Record<WorkloadKind, number>>;
      const mixMs = mixRolloutMs(medianMs, byKind) ?? 0;
      log(
        `one rollout's time (${label}): ${Object.entries(medianMs)
          .map(([kind, ms]) => `${kind} ${(ms / 1000).toFixed(2)} s`)
          .join(", ")}; weighted by the mix ${(mixMs / 1000).toFixed(2)} s`,
      );
      return { perKindMs: perKind, medianMs, mixMs };
    };
    const calibrated: NonNullable<PodsResult["calibration"]> = {
      before: await calibrate("before"),
    };
    pods.calibration = calibrated;

    // ---- the instrumentor, once per budget -----------------------------------------------
    const start = async (budget: number, label: string): Promise<InstrumentorProcess> => {
      log(`starting the instrumentor (${label}, --max-concurrent-rollouts=${budget})`);
      const started = await startInstrumentor({
        kubeconfigPath: controlPlane.kubeconfigPath,
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
      instrumentor = started;
      handles.instrumentor = started;
      await started.ready(120_000);
      sampler?.stop();
      sampler = new MemorySampler(started.pid, 200);
      sampler.start();
      meter.attach(started, sampler);
      return started;
    };
    const stop = async (process: InstrumentorProcess): Promise<void> => {
      sampler?.sample();
      const code = await process.stop("SIGTERM", { killAfterMs: 30_000 });
      if (code !== 0) log(`  the instrumentor exited with ${code} on SIGTERM`);
      meter.detach();
      sampler?.stop();
      sampler = undefined;
      instrumentor = undefined;
    };
    const reported = (process: InstrumentorProcess, reason: string) =>
      process
        .waitForLog(
          (line) => line.kind === "CollectorsGroup" && line.reason === reason,
          phaseTimeoutMs,
        )
        .then(
          () => true,
          () => false,
        );
    const podCache = async (process: InstrumentorProcess): Promise<number | undefined> => {
      const text = await process.metrics().catch(() => "");
      return parseSamples(text, "odigos_instrumentor_cache_objects").find(
        (sample) => sample.labels.informer === "Pod",
      )?.value;
    };

    const budgets = options.budgets;
    for (const [index, budget] of budgets.entries()) {
      const label = budget === 0 ? "unlimited" : String(budget);
      // Start-up with collectors not ready and nothing instrumented: nothing to write.
      const startMark = await meter.begin(true);
      const first = await start(budget, `budget ${label}`);
      const readyMs = performance.now() - first.spawnedAt;
      await settled(first, { atLeastReconciles: n, timeoutMs: phaseTimeoutMs });
      const rssAfterSyncBytes = sampler?.sample() ?? 0;
      const startup = await meter.end(
        startMark,
        `start-up, budget ${label}`,
        performance.now() - first.spawnedAt,
        0,
      );
      const instrument = await rolloutPhase(
        `instrument, budget ${label}`,
        budget,
        everyWorkload,
        async () => {
          await setCollectorsReady(true);
        },
        () => tracker.instrumentedCount === n,
        { report: reported(first, "WorkloadsInstrumented"), settle: first },
      );
      const podCacheAfter = await podCache(first);
      await stop(first);

      // A fresh instrumentor on the converged cluster: it must find nothing to do.
      const restartMark = await meter.begin(true);
      const restartAt = performance.now();
      census.begin(restartAt);
      const second = await start(options.uninstrumentBudget, "restart on a converged cluster");
      const restart = await rolloutPhase(
        "restart, converged",
        options.uninstrumentBudget,
        new Map(),
        async () => {
          await settled(second, { atLeastReconciles: n, timeoutMs: phaseTimeoutMs });
        },
        () => tracker.instrumentedCount === n,
        { begun: { mark: restartMark, at: restartAt } },
      );
      if (index === budgets.length - 1 && options.steadySeconds > 0) {
        log(`steady: ${options.steadySeconds} s with no input changes`);
        const mark = await meter.begin();
        const started = performance.now();
        await sleep(options.steadySeconds * 1000);
        result.steady = await meter.end(mark, "steady", performance.now() - started, 0);
      }
      const uninstrument = await rolloutPhase(
        `un-instrument (budget ${options.uninstrumentBudget === 0 ? "unlimited" : options.uninstrumentBudget})`,
        options.uninstrumentBudget,
        everyWorkload,
        async () => {
          await setCollectorsReady(false);
        },
        () => tracker.withDevicesCount === 0,
        { report: reported(second, "WorkloadsUninstrumented"), settle: second },
      );
      const podCacheAfterUninstrument = await podCache(second);
      await stop(second);
      pods.budgets.push({
        budget,
        startup,
        readyMs,
        rssAfterSyncBytes,
        podCacheAfterInstrument: podCacheAfter,
        podCacheAfterUninstrument,
        instrument,
        restart,
        uninstrument,
        // With the calibration before; once the one after is known, with the faster.
        ideal: idealOf(n, budget, calibrated.before.mixMs),
        uninstrumentIdeal: idealOf(n, options.uninstrumentBudget, calibrated.before.mixMs),
      });
    }

    // ---- one rollout's time again, the instrumentor gone: the machine may have changed ----
    calibrated.after = await calibrate("after");
    const rolloutMs = Math.min(calibrated.before.mixMs, calibrated.after.mixMs);
    calibrated.rolloutMs = rolloutMs;
    for (const entry of pods.budgets) {
      entry.ideal = idealOf(n, entry.budget, rolloutMs);
      entry.uninstrumentIdeal = idealOf(n, options.uninstrumentBudget, rolloutMs);
    }
    if (trackerError !== undefined)
      log(`note: the benchmark's watch had a problem: ${trackerError.message}`);
  } finally {
    sampler?.stop();
    handles.tracker?.stop();
    if (instrumentor?.alive === true) await instrumentor.stop("SIGKILL");
    driver.close();
    watchClient.close();
  }
}
