/**
 * One benchmark run: a local control plane, N seeded workloads, the floor
 * measured with a client of its own, then the instrumentor as a real process
 * through start-up, ready/unready cycles, single flips and a quiet period.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join, relative } from "node:path";
import { type ControlPlane, repoRoot } from "@odigos/control-plane";
import { OdigosResources, workloadResource } from "@odigos/crd-types";
import {
  type InstrumentorProcess,
  instrumentorMain,
  metricSum,
  startInstrumentor,
} from "@odigos/harness";
import type { BenchOptions } from "./args.js";
import type { RequestSummary } from "./audit.js";
import { patchAll } from "./floor.js";
import { startFreshFloor } from "./fresh-floor.js";
import { Inspector } from "./inspector.js";
import {
  benchClient,
  type Log,
  odigosNamespace,
  pool,
  seedOdigos,
  send,
  sleep,
  startBenchCluster,
  throttled,
  ticking,
} from "./meter.js";
import { MemorySampler, residentParts } from "./proc.js";
import { type CpuProfile, summarizeProfile } from "./profile.js";
import { v8Spaces } from "./prometheus.js";
import {
  type BenchResult,
  type ColdStart,
  type CycleResult,
  coldRatio,
  type FloorRun,
  freshFloorRatio,
  type PhaseResult,
} from "./results.js";
import { settled } from "./settle.js";
import { summarize } from "./stats.js";
import { Tracker } from "./tracker.js";
import {
  carries,
  devicePatch,
  expectedDevices,
  hasAnyDevice,
  instrumentAnnotation,
  keyOf,
  planWorkloads,
  runtimeDetailsManifest,
  runtimeDetailsName,
  workloadManifest,
} from "./workloads.js";

export { type Log, odigosNamespace } from "./meter.js";

const gitDescription = (): string | undefined => {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: repoRoot,
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "apps", "packages"], {
      cwd: repoRoot,
      encoding: "utf8",
    }).trim();
    return dirty === "" ? head : `${head} + uncommitted changes in apps/ or packages/`;
  } catch {
    return undefined;
  }
};

/** Evenly spread picks of `count` specs. */
const spread = <T>(items: ReadonlyArray<T>, count: number): T[] => {
  const picked: T[] = [];
  const n = Math.min(count, items.length);
  for (let i = 0; i < n; i++) {
    const item = items[Math.floor((i * items.length) / n)];
    if (item !== undefined) picked.push(item);
  }
  return picked;
};

/** Forces a full GC in the instrumentor and reads the heap then in use from its metrics. */
const liveHeap = async (
  instrumentor: InstrumentorProcess,
  inspector: Inspector,
): Promise<{ heap: number; rss: number }> => {
  await inspector.collectGarbage();
  await inspector.collectGarbage();
  const text = await instrumentor.metrics();
  return { heap: metricSum(text, "nodejs_heap_size_used_bytes"), rss: 0 };
};

export interface RunHandles {
  controlPlane?: ControlPlane;
  instrumentor?: InstrumentorProcess;
  tracker?: Tracker;
}

/**
 * Runs the whole benchmark, filling `result` as it goes (so a failure still
 * leaves every figure measured so far). `handles` exposes what must be
 * stopped on Ctrl-C.
 */
export async function runBench(
  options: BenchOptions,
  result: BenchResult,
  handles: RunHandles,
  log: Log,
): Promise<void> {
  const n = options.workloads;
  const phaseTimeoutMs = options.phaseTimeoutSeconds * 1000;
  const specs = planWorkloads(n, options.namespaces);
  const desired = new Map(specs.map((spec) => [keyOf(spec), expectedDevices(spec)]));

  log(`starting the control plane (audit log on)`);
  const { controlPlane, driver, watchClient, meter, startMs } = await startBenchCluster({
    quietWaitSeconds: options.quietWaitSeconds,
    started: (started) => {
      handles.controlPlane = started;
    },
    log,
  });
  result.controlPlane = { startMs, server: controlPlane.server };
  const floorClient = await benchClient(controlPlane.kubeconfigPath, "floor");
  try {
    // ---- seed ----------------------------------------------------------------
    const seedStarted = performance.now();
    const setCollectorsReady = await seedOdigos(
      driver,
      options.namespaces,
      options.seedConcurrency,
    );
    const creates = specs.flatMap((spec) => [
      { resource: workloadResource(spec.kind), body: workloadManifest(spec) },
      { resource: OdigosResources.InstrumentedApplication, body: runtimeDetailsManifest(spec) },
    ]);
    const seedProgress = throttled(log, "seeding workloads and runtime details", creates.length);
    await pool(
      creates,
      options.seedConcurrency,
      async ({ resource, body }) => {
        await send(driver.create(resource, body));
      },
      seedProgress,
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
      requests: creates.length + options.namespaces + 5,
    };
    log(`seeded ${n} workloads in ${(result.seeding.ms / 1000).toFixed(1)} s`);

    let trackerError: Error | undefined;
    const tracker = new Tracker(watchClient, desired, (error) => {
      trackerError = error;
      log(`watch problem: ${error.message}`);
    });
    handles.tracker = tracker;
    await tracker.start();
    await tracker.until(
      () => tracker.size >= n && tracker.runtimeDetailsCount >= n,
      phaseTimeoutMs,
      "the watch to see every seeded object",
    );
    const waitTracker = (check: () => boolean, what: string, progress: () => string) =>
      ticking(tracker.until(check, phaseTimeoutMs, what), () => log(`  ${what}: ${progress()}`));
    const allInstrumented = () => tracker.instrumentedCount === n;
    const noneInstrumented = () => tracker.withDevicesCount === 0;

    // ---- the floor -----------------------------------------------------------
    /**
     * Patches every workload to `ready` (devices) or not with `concurrency` in flight, as fast as
     * the server takes it, from this process or (`patches`) from another, until the watch sees it.
     */
    const floorPass = async (
      concurrency: number,
      ready: boolean,
      suffix = "",
      patches: () => Promise<void> = () =>
        patchAll(
          { client: floorClient, workload: (key) => tracker.workload(key), specs, desired },
          concurrency,
          ready,
        ),
    ): Promise<PhaseResult> => {
      const name = `floor ${ready ? "ready" : "unready"} c=${concurrency}${suffix}`;
      const mark = await meter.begin(true);
      const started = performance.now();
      await patches();
      const seen = await waitTracker(
        ready ? allInstrumented : noneInstrumented,
        name,
        () => `${ready ? tracker.instrumentedCount : tracker.withDevicesCount}/${n}`,
      );
      const phase = await meter.end(mark, name, seen - started, n);
      log(`${name}: ${(phase.wallMs / 1000).toFixed(2)} s`);
      return phase;
    };
    const [reference = 8] = options.floorConcurrencies;
    result.floor = { reference, runs: [] };
    for (const concurrency of options.floorConcurrencies) {
      const run: FloorRun = {
        concurrency,
        ready: await floorPass(concurrency, true),
        unready: await floorPass(concurrency, false),
      };
      result.floor.runs.push(run);
    }

    const flipTargets = spread(specs, Math.floor(options.flips / 2));
    const floorSingle = { add: [] as number[], remove: [] as number[] };
    for (const spec of flipTargets) {
      const key = keyOf(spec);
      for (const ready of [true, false]) {
        const state = tracker.workload(key);
        const operations =
          state === undefined
            ? undefined
            : devicePatch(state, ready ? (desired.get(key) ?? {}) : {});
        if (operations === undefined) continue;
        const started = performance.now();
        await send(
          floorClient.patch(
            workloadResource(spec.kind),
            spec.name,
            { type: "json", operations },
            { namespace: spec.namespace },
          ),
        );
        const seen = await tracker.until(
          () => {
            const now = tracker.workload(key);
            return (
              now !== undefined &&
              (ready ? carries(now, desired.get(key) ?? {}) : !hasAnyDevice(now))
            );
          },
          30_000,
          `floor single change of ${key}`,
        );
        (ready ? floorSingle.add : floorSingle.remove).push(seen - started);
      }
    }
    result.floor.single = {
      add: summarize(floorSingle.add),
      remove: summarize(floorSingle.remove),
      all: summarize([...floorSingle.add, ...floorSingle.remove]),
    };
    if (flipTargets.length > 0)
      log(
        `floor single change: p50 ${result.floor.single.all?.p50.toFixed(1)} ms, p99 ${result.floor.single.all?.p99.toFixed(1)} ms`,
      );

    // ---- the instrumentor: start-up -----------------------------------------------
    log(
      `starting the instrumentor (${relative(repoRoot, options.instrumentorMain ?? instrumentorMain())})${options.instrumentorNodeArgs.length > 0 ? ` with node ${options.instrumentorNodeArgs.join(" ")}` : ""}`,
    );
    const launch = async (inspect: boolean) => {
      const started = await startInstrumentor({
        kubeconfigPath: controlPlane.kubeconfigPath,
        odigosNamespace,
        main: options.instrumentorMain,
        nodeArgs: [...options.instrumentorNodeArgs, ...(inspect ? ["--inspect=127.0.0.1:0"] : [])],
        args: options.instrumentorArgs,
        // Timed here rather than awaited by the start; lines are counted, not kept (10^5 at N=5000).
        waitReady: false,
        retainLogs: false,
        env: options.instrumentorEnv,
      });
      handles.instrumentor = started;
      return started;
    };
    const startMark = await meter.begin(true);
    const instrumentor = await launch(options.gcProbe);
    const readyAt = await instrumentor.ready(120_000);
    const timings = {
      startedMs: (await instrumentor.logged("instrumentor started")) - instrumentor.spawnedAt,
      cachesSyncedMs: (await instrumentor.logged("caches synced")) - instrumentor.spawnedAt,
      readyMs: readyAt - instrumentor.spawnedAt,
    };
    const inspectorUrl = instrumentor.inspectorUrl;
    const inspector =
      inspectorUrl === undefined ? undefined : await Inspector.connect(inspectorUrl);
    if (options.gcProbe && inspector === undefined)
      log("note: no inspector URL from the instrumentor: live heap after GC is not measured");
    const profileDir = options.cpuProfileDir;
    if (profileDir !== undefined && inspector !== undefined) {
      if (options.instrumentorMain === undefined)
        log(
          "note: profiling the bundle: self time is attributed to its files (instrumentor.mjs, chunks/), not to packages; --instrumentor-main apps/instrumentor/dist/main.js profiles tsc's output per package",
        );
      await mkdir(profileDir, { recursive: true });
      await inspector.call("Profiler.enable");
      await inspector.call("Profiler.setSamplingInterval", { interval: 100 });
    }
    /** Profiles `work` in the instrumentor when asked to; the profile is written and summarised. */
    const profiled = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      if (profileDir === undefined || inspector === undefined) return work();
      await inspector.call("Profiler.start");
      try {
        return await work();
      } finally {
        const { profile } = (await inspector.call("Profiler.stop")) as { profile: CpuProfile };
        const file = join(profileDir, `${phase.replaceAll(/[^a-zA-Z0-9-]+/g, "_")}.cpuprofile`);
        await writeFile(file, JSON.stringify(profile));
        result.profiles ??= {};
        result.profiles[phase] = { ...summarizeProfile(profile, 25), file };
      }
    };
    const sampler = new MemorySampler(instrumentor.pid, 200);
    sampler.start();
    meter.attach(instrumentor, sampler);
    await settled(instrumentor, { atLeastReconciles: n, timeoutMs: phaseTimeoutMs });
    const initialReconcileMs = performance.now() - instrumentor.spawnedAt;
    const rssAfterSyncBytes = sampler.sample();
    const split = sampler.lastSample;
    const resident = residentParts(instrumentor.pid);
    result.startup = {
      ...timings,
      initialReconcileMs,
      rssAfterSyncBytes,
      ...(split && { rssSplitAfterSync: { anonBytes: split.anon, fileBytes: split.file } }),
      ...(resident && { residentAfterSync: resident }),
      v8SpacesAfterSync: v8Spaces(await instrumentor.metrics()),
      phase: await meter.end(startMark, "start-up (collectors not ready)", initialReconcileMs, 0),
    };
    log(
      `instrumentor pid ${instrumentor.pid}: /readyz 200 after ${(timings.readyMs / 1000).toFixed(2)} s, initial reconcile done after ${(initialReconcileMs / 1000).toFixed(2)} s, RSS ${(rssAfterSyncBytes / 1048576).toFixed(0)} MB (anonymous ${((split?.anon ?? 0) / 1048576).toFixed(0)} MB, file pages ${((split?.file ?? 0) / 1048576).toFixed(0)} MB)`,
    );

    const collectorsPhase = async (
      name: string,
      ready: boolean,
      target: InstrumentorProcess = instrumentor,
    ): Promise<PhaseResult> => {
      const mark = await meter.begin(true);
      // The instrumentor reports a global change once, on the CollectorsGroup, when the burst it
      // caused is over (a few seconds after the last workload it moved): the phase waits for that
      // report, so its requests include the Event and the next phase's do not.
      // It may come at most 60 s after the phase's last write is seen (a long phase at a large N
      // takes longer than that itself): listened for from the start, judged from then.
      const reason = ready ? "WorkloadsInstrumented" : "WorkloadsUninstrumented";
      const reportedAtAll = target
        .waitForLog(
          (line) => line.kind === "CollectorsGroup" && line.reason === reason,
          phaseTimeoutMs + 60_000,
        )
        .then(
          () => true,
          () => false,
        );
      const started = performance.now();
      const timed =
        target === instrumentor ? profiled : <T>(_: string, work: () => Promise<T>) => work();
      const seen = await timed(name, async () => {
        await setCollectorsReady(ready);
        return waitTracker(
          ready ? allInstrumented : noneInstrumented,
          name,
          () => `${ready ? tracker.instrumentedCount : tracker.withDevicesCount}/${n}`,
        );
      });
      let timer: NodeJS.Timeout | undefined;
      const reported = await Promise.race([
        reportedAtAll,
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), 60_000);
        }),
      ]);
      clearTimeout(timer);
      if (!reported)
        log(`  ${name}: no ${reason} report on the CollectorsGroup within 60 s of the last write`);
      await settled(target, { timeoutMs: phaseTimeoutMs });
      const phase = await meter.end(mark, name, seen - started, n);
      const requests: RequestSummary | undefined = phase.instrumentor?.requests;
      log(
        `${name}: ${(phase.wallMs / 1000).toFixed(2)} s, ${requests?.workloadWrites ?? "?"} workload writes, ${(requests?.writes ?? 0) - (requests?.workloadWrites ?? 0)} other writes, RSS ${((phase.instrumentor?.rssAfterBytes ?? 0) / 1048576).toFixed(0)} MB`,
      );
      return phase;
    };

    // ---- ready / unready cycles --------------------------------------------------
    result.cycles = [];
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      const ready = await collectorsPhase(`ready #${cycle}`, true);
      const unready = await collectorsPhase(`unready #${cycle}`, false);
      const rssAfterBytes = sampler.sample();
      // Only after the first and the last cycle, the two the growth target compares: a forced
      // full GC also discards compiled code, and the next cycle runs cold again.
      const probed = cycle === 1 || cycle === options.cycles;
      const probe =
        inspector === undefined || !probed ? undefined : await liveHeap(instrumentor, inspector);
      if (probe !== undefined) probe.rss = sampler.sample();
      const entry: CycleResult = {
        cycle,
        ready,
        unready,
        rssAfterBytes,
        ...(probe === undefined ? {} : { liveHeapBytes: probe.heap, rssAfterGcBytes: probe.rss }),
        ...(result.cycles.at(-1)?.liveHeapBytes === undefined ? {} : { followsGcProbe: true }),
      };
      result.cycles.push(entry);
    }

    // ---- single changes -----------------------------------------------------------
    result.finalReady = await collectorsPhase("ready (before flips)", true);
    if (flipTargets.length > 0) {
      const optOut: number[] = [];
      const optIn: number[] = [];
      const optInFromAnnotation: number[] = [];
      const mark = await meter.begin();
      const started = performance.now();
      const progress = throttled(log, "single changes", flipTargets.length * 2);
      let done = 0;
      for (const spec of flipTargets) {
        const key = keyOf(spec);
        const annotate = (value: string) =>
          send(
            driver.patch(
              workloadResource(spec.kind),
              spec.name,
              {
                type: "merge",
                body: { metadata: { annotations: { [instrumentAnnotation]: value } } },
              },
              { namespace: spec.namespace },
            ),
          );
        const outStarted = performance.now();
        await annotate("false");
        const outSeen = await tracker.until(
          () => {
            const now = tracker.workload(key);
            return now !== undefined && !hasAnyDevice(now);
          },
          30_000,
          `opt-out of ${key}`,
        );
        optOut.push(outSeen - outStarted);
        // Opting out deletes the runtime details (SPEC 5); the node agent reports them again after an opt-in.
        await tracker.until(
          () => !tracker.hasRuntimeDetails(spec.namespace, runtimeDetailsName(spec)),
          30_000,
          `runtime details of ${key} deleted`,
        );
        const before = await settled(instrumentor, { quietMs: 150 });
        progress(++done);
        const inStarted = performance.now();
        await annotate("true");
        await settled(instrumentor, { quietMs: 150, atLeastReconciles: before + 1 });
        const reported = performance.now();
        await send(
          driver.create(OdigosResources.InstrumentedApplication, runtimeDetailsManifest(spec)),
        );
        const inSeen = await tracker.until(
          () => {
            const now = tracker.workload(key);
            return now !== undefined && carries(now, desired.get(key) ?? {});
          },
          30_000,
          `opt-in of ${key}`,
        );
        optIn.push(inSeen - reported);
        optInFromAnnotation.push(inSeen - inStarted);
        await settled(instrumentor, { quietMs: 150 });
        progress(++done);
      }
      const phase = await meter.end(
        mark,
        `single changes (${done})`,
        performance.now() - started,
        0,
      );
      result.singleChange = {
        phase,
        optOut: summarize(optOut),
        optIn: summarize(optIn),
        optInFromAnnotation: summarize(optInFromAnnotation),
        all: summarize([...optOut, ...optIn]),
      };
      log(
        `single changes: p50 ${result.singleChange.all?.p50.toFixed(1)} ms, p99 ${result.singleChange.all?.p99.toFixed(1)} ms`,
      );
    }

    // ---- steady ---------------------------------------------------------------------
    if (options.steadySeconds > 0) {
      log(`steady: ${options.steadySeconds} s with no input changes`);
      const mark = await meter.begin();
      const started = performance.now();
      await sleep(options.steadySeconds * 1000);
      result.steady = await meter.end(mark, "steady", performance.now() - started, 0);
    }

    sampler.sample();
    // An attached inspector would keep the process waiting for it at exit.
    inspector?.close();
    // A process that does not exit in 30 s is killed: the run must end.
    const stopping = performance.now();
    const code = await instrumentor.stop("SIGTERM", { killAfterMs: 30_000 });
    result.shutdown = { code, ms: performance.now() - stopping };
    meter.detach();
    sampler.stop();
    result.instrumentor = {
      entry: relative(repoRoot, options.instrumentorMain ?? instrumentorMain()),
      pid: instrumentor.pid,
      highWaterMarkBytes: sampler.highWaterMark,
      logLines: instrumentor.logStats.lines,
      logLevels: instrumentor.logStats.byLevel,
      unstructuredLines: instrumentor.logStats.unstructured,
      lastProblems: instrumentor.logStats.problems.slice(-10),
      cpuProfileDir:
        options.instrumentorNodeArgs
          .find((arg) => arg.startsWith("--cpu-prof-dir="))
          ?.slice("--cpu-prof-dir=".length) ?? undefined,
    };
    // The floor once more, now that the instrumentor is gone: the machine may have changed meanwhile.
    if (result.floor !== undefined) {
      const unready = await floorPass(reference, false, " (after)");
      const ready = await floorPass(reference, true, " (after)");
      result.floor.after = { concurrency: reference, ready, unready };
    }

    // ---- cold starts ------------------------------------------------------------------
    // Cycle 1 above is one cold cycle against floor runs minutes away: each start here is a fresh
    // process timed through its first cycle between two floor runs, which the ratio takes the mean of.
    if (result.floor !== undefined && options.coldStarts > 0) {
      const floorRun = async (suffix: string): Promise<FloorRun> => ({
        concurrency: reference,
        ready: await floorPass(reference, true, suffix),
        unready: await floorPass(reference, false, suffix),
      });
      // A floor client as fresh as the instrumentor: its own process, its first passes.
      const freshFloorRun = async (start: number): Promise<FloorRun> => {
        const fresh = startFreshFloor({
          kubeconfigPath: controlPlane.kubeconfigPath,
          workloads: n,
          namespaces: options.namespaces,
          concurrency: reference,
          timeoutMs: phaseTimeoutMs,
        });
        try {
          const suffix = ` (fresh process ${start})`;
          const states = () => specs.flatMap((spec) => tracker.workload(keyOf(spec)) ?? []);
          await fresh.load(states());
          const ready = await floorPass(reference, true, suffix, () => fresh.pass("ready"));
          await fresh.load(states());
          const unready = await floorPass(reference, false, suffix, () => fresh.pass("unready"));
          await fresh.close();
          return { concurrency: reference, ready, unready };
        } catch (error) {
          fresh.kill();
          throw error;
        }
      };
      await setCollectorsReady(false);
      // A start begins where the main run began: collectors not ready, no devices.
      if (tracker.withDevicesCount > 0) await floorPass(reference, false, " (reset)");
      result.coldStarts = [];
      let floorBefore = await floorRun(" (before cold 1)");
      for (let start = 1; start <= options.coldStarts; start++) {
        const fresh = await launch(false);
        const freshSampler = new MemorySampler(fresh.pid, 200);
        freshSampler.start();
        meter.attach(fresh, freshSampler);
        await fresh.ready(120_000);
        await settled(fresh, { atLeastReconciles: n, timeoutMs: phaseTimeoutMs });
        const rssAfterSyncBytes = freshSampler.sample();
        const ready = await collectorsPhase(`cold ready #${start}`, true, fresh);
        const unready = await collectorsPhase(`cold unready #${start}`, false, fresh);
        const code = await fresh.stop("SIGTERM", { killAfterMs: 30_000 });
        if (code !== 0)
          log(`  cold start ${start}: the instrumentor exited with ${code} on SIGTERM`);
        meter.detach();
        freshSampler.stop();
        const freshFloor = await freshFloorRun(start);
        const floorAfter = await floorRun(` (after cold ${start})`);
        const entry: ColdStart = {
          start,
          ready,
          unready,
          floorBefore,
          floorAfter,
          freshFloor,
          rssAfterSyncBytes,
        };
        result.coldStarts.push(entry);
        log(
          `cold start ${start}: ready ${coldRatio(entry, "ready").toFixed(2)}×, unready ${coldRatio(entry, "unready").toFixed(2)}× the floor beside it, ${freshFloorRatio(entry, "ready").toFixed(2)}× / ${freshFloorRatio(entry, "unready").toFixed(2)}× a fresh floor process, RSS after sync ${(rssAfterSyncBytes / 1048576).toFixed(0)} MB`,
        );
        floorBefore = floorAfter;
      }
    }
    if (trackerError !== undefined)
      log(`note: the benchmark's watch had a problem: ${trackerError.message}`);
  } finally {
    handles.tracker?.stop();
    driver.close();
    floorClient.close();
    watchClient.close();
  }
}

export const machineInfo = (): Record<string, unknown> => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryBytes: totalmem(),
  loadAverageAtStart: loadavg(),
  node: process.version,
  platform: `${process.platform}/${process.arch}`,
  git: gitDescription(),
});
