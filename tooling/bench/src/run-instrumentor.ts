/**
 * The instrumentor's phases in a run without pods, on the seeded cluster with the floor
 * measured: start-up (as a real process, `@odigos/harness`), ready/unready cycles (the
 * collectors turn ready or not), single opt-out/opt-in changes, and its stop.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { repoRoot } from "@odigos/control-plane";
import {
  InstrumentAnnotation,
  InstrumentAnnotationEnabled,
  OdigosResources,
  runtimeObjectName,
  workloadResource,
} from "@odigos/crd-types";
import {
  type InstrumentorProcess,
  instrumentorMain,
  metricSum,
  startInstrumentor,
} from "@odigos/harness";
import { Inspector } from "./inspector.js";
import { odigosNamespace, send, throttled } from "./meter.js";
import { MemorySampler, residentParts } from "./proc.js";
import { type CpuProfile, summarizeProfile } from "./profile.js";
import { v8Spaces } from "./prometheus.js";
import { type RunContext, waitConverged } from "./run-context.js";
import { settled } from "./settle.js";
import { summarize } from "./stats.js";
import type { CycleResult, PhaseResult, RequestSummary } from "./types.js";
import { devicesAre, keyOf, runtimeDetailsManifest, type WorkloadSpec } from "./workloads.js";

/** Profiles `work` in the instrumentor when asked to (`--cpu-profile-dir`); else just runs it. */
type Profiled = <T>(phase: string, work: () => Promise<T>) => Promise<T>;

const unprofiled: Profiled = (_, work) => work();

/** The instrumentor of the main run, and what watches it. */
export interface Started {
  readonly instrumentor: InstrumentorProcess;
  /** Its inspector (`--inspect`), unless `--no-gc-probe`. */
  readonly inspector: Inspector | undefined;
  /** Its memory, sampled every 200 ms. */
  readonly sampler: MemorySampler;
  readonly profiled: Profiled;
}

/** Starts an instrumentor process (with an inspector if asked), not waiting for it to be ready. */
export const launchInstrumentor = async (
  run: RunContext,
  inspect: boolean,
): Promise<InstrumentorProcess> => {
  const { options } = run;
  const started = await startInstrumentor({
    kubeconfigPath: run.controlPlane.kubeconfigPath,
    odigosNamespace,
    main: options.instrumentorMain,
    nodeArgs: [...options.instrumentorNodeArgs, ...(inspect ? ["--inspect=127.0.0.1:0"] : [])],
    args: options.instrumentorArgs,
    // Timed here rather than awaited by the start; lines are counted, not kept (10^5 at N=5000).
    waitReady: false,
    retainLogs: false,
    env: options.instrumentorEnv,
  });
  run.handles.instrumentor = started;
  return started;
};

/** Connects to the instrumentor's inspector, and with `--cpu-profile-dir` sets up its profiler. */
const inspect = async (
  run: RunContext,
  instrumentor: InstrumentorProcess,
): Promise<{ inspector: Inspector | undefined; profiled: Profiled }> => {
  const { options, log, result } = run;
  const inspectorUrl = instrumentor.inspectorUrl;
  const inspector = inspectorUrl === undefined ? undefined : await Inspector.connect(inspectorUrl);
  if (options.gcProbe && inspector === undefined)
    log("note: no inspector URL from the instrumentor: live heap after GC is not measured");
  const profileDir = options.cpuProfileDir;
  if (profileDir === undefined || inspector === undefined)
    return { inspector, profiled: unprofiled };
  if (options.instrumentorMain === undefined)
    log(
      "note: profiling the bundle: self time is attributed to its files (instrumentor.mjs, chunks/), not to packages; --instrumentor-main apps/instrumentor/dist/main.js profiles tsc's output per package",
    );
  await mkdir(profileDir, { recursive: true });
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: 100 });
  /** Profiles `work` in the instrumentor; the profile is written and summarised. */
  const profiled: Profiled = async (phase, work) => {
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
  return { inspector, profiled };
};

/**
 * _start-up_: the instrumentor started with the collectors not ready (nothing to write), timed to
 * its first log line, `/readyz` and caches synced, until its initial reconcile of every workload
 * is done; its memory then.
 */
export const startUp = async (run: RunContext): Promise<Started> => {
  const { options, meter, result, log, n } = run;
  log(
    `starting the instrumentor (${relative(repoRoot, options.instrumentorMain ?? instrumentorMain())})${options.instrumentorNodeArgs.length > 0 ? ` with node ${options.instrumentorNodeArgs.join(" ")}` : ""}`,
  );
  const startMark = await meter.begin(true);
  const instrumentor = await launchInstrumentor(run, options.gcProbe);
  const readyAt = await instrumentor.ready(120_000);
  const timings = {
    startedMs: (await instrumentor.logged("instrumentor started")) - instrumentor.spawnedAt,
    cachesSyncedMs: (await instrumentor.logged("caches synced")) - instrumentor.spawnedAt,
    readyMs: readyAt - instrumentor.spawnedAt,
  };
  const { inspector, profiled } = await inspect(run, instrumentor);
  const sampler = new MemorySampler(instrumentor.pid, 200);
  sampler.start();
  meter.attach(instrumentor, sampler);
  await settled(instrumentor, { atLeastReconciles: n, timeoutMs: run.phaseTimeoutMs });
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
  return { instrumentor, inspector, sampler, profiled };
};

/**
 * The instrumentor's report of a global change: once, on the CollectorsGroup, when the burst it
 * caused is over (a few seconds after the last workload it moved). It may come at most 60 s
 * after the phase's last write is seen (a long phase at a large N takes longer than that
 * itself): listened for from the start, judged from then.
 */
const reportedChange = (run: RunContext, target: InstrumentorProcess, reason: string) =>
  target
    .waitForLog(
      (line) => line.kind === "CollectorsGroup" && line.reason === reason,
      run.phaseTimeoutMs + 60_000,
    )
    .then(
      () => true,
      () => false,
    );

/**
 * _ready_ or _unready_: the collectors turn ready (or not) until every workload carries its
 * devices (or none), the phase waiting for the instrumentor's report of the change, so that its
 * requests include the Event and the next phase's do not.
 */
export const collectorsPhase = async (
  run: RunContext,
  target: InstrumentorProcess,
  name: string,
  ready: boolean,
  profiled: Profiled = unprofiled,
): Promise<PhaseResult> => {
  const { meter, log } = run;
  const mark = await meter.begin(true);
  const reason = ready ? "WorkloadsInstrumented" : "WorkloadsUninstrumented";
  const reportedAtAll = reportedChange(run, target, reason);
  const started = performance.now();
  const seen = await profiled(name, async () => {
    await run.setCollectorsReady(ready);
    return waitConverged(run, ready, name);
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
  await settled(target, { timeoutMs: run.phaseTimeoutMs });
  const phase = await meter.end(mark, name, seen - started, run.n);
  const requests: RequestSummary | undefined = phase.instrumentor?.requests;
  log(
    `${name}: ${(phase.wallMs / 1000).toFixed(2)} s, ${requests?.workloadWrites ?? "?"} workload writes, ${(requests?.writes ?? 0) - (requests?.workloadWrites ?? 0)} other writes, RSS ${((phase.instrumentor?.rssAfterBytes ?? 0) / 1048576).toFixed(0)} MB`,
  );
  return phase;
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

/** `--cycles` ready/unready cycles; RSS after each, the live heap after the first and the last. */
export const runCycles = async (run: RunContext, main: Started): Promise<void> => {
  const { options, result } = run;
  const { instrumentor, inspector, sampler, profiled } = main;
  const cycles: CycleResult[] = [];
  result.cycles = cycles;
  for (let cycle = 1; cycle <= options.cycles; cycle++) {
    const ready = await collectorsPhase(run, instrumentor, `ready #${cycle}`, true, profiled);
    const unready = await collectorsPhase(run, instrumentor, `unready #${cycle}`, false, profiled);
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
      ...(cycles.at(-1)?.liveHeapBytes === undefined ? {} : { followsGcProbe: true }),
    };
    cycles.push(entry);
  }
};

/** Latencies of the single changes, each from its write to the watch event that shows it. */
interface FlipTimes {
  readonly optOut: number[];
  readonly optIn: number[];
  readonly optInFromAnnotation: number[];
}

/**
 * One workload opts out (its own annotation `"false"`) until its devices are gone and its
 * runtime details deleted (SPEC 5), then opts in again as a node agent would see it: the
 * annotation back to `"true"`, the instrumentor settled, the runtime details reported again.
 */
const flip = async (
  run: RunContext,
  instrumentor: InstrumentorProcess,
  spec: WorkloadSpec,
  times: FlipTimes,
  progress: () => void,
): Promise<void> => {
  const { driver, tracker, desired } = run;
  const key = keyOf(spec);
  const annotate = (value: string) =>
    send(
      driver.patch(
        workloadResource(spec.kind),
        spec.name,
        { type: "merge", body: { metadata: { annotations: { [InstrumentAnnotation]: value } } } },
        { namespace: spec.namespace },
      ),
    );
  const outStarted = performance.now();
  await annotate("false");
  const outSeen = await tracker.until(
    () => devicesAre(tracker.workload(key), false, {}),
    30_000,
    `opt-out of ${key}`,
  );
  times.optOut.push(outSeen - outStarted);
  // Opting out deletes the runtime details (SPEC 5); the node agent reports them again after an opt-in.
  await tracker.until(
    () => !tracker.hasRuntimeDetails(spec.namespace, runtimeObjectName(spec.kind, spec.name)),
    30_000,
    `runtime details of ${key} deleted`,
  );
  const before = await settled(instrumentor, { quietMs: 150 });
  progress();
  const inStarted = performance.now();
  await annotate(InstrumentAnnotationEnabled);
  await settled(instrumentor, { quietMs: 150, atLeastReconciles: before + 1 });
  const reported = performance.now();
  await send(driver.create(OdigosResources.InstrumentedApplication, runtimeDetailsManifest(spec)));
  const inSeen = await tracker.until(
    () => devicesAre(tracker.workload(key), true, desired.get(key) ?? {}),
    30_000,
    `opt-in of ${key}`,
  );
  times.optIn.push(inSeen - reported);
  times.optInFromAnnotation.push(inSeen - inStarted);
  await settled(instrumentor, { quietMs: 150 });
  progress();
};

/** _single changes_ (`--flips`), on an otherwise quiet cluster with the collectors ready. */
export const singleChanges = async (
  run: RunContext,
  instrumentor: InstrumentorProcess,
  flipTargets: ReadonlyArray<WorkloadSpec>,
): Promise<void> => {
  const { meter, log } = run;
  const times: FlipTimes = { optOut: [], optIn: [], optInFromAnnotation: [] };
  const mark = await meter.begin();
  const started = performance.now();
  const report = throttled(log, "single changes", flipTargets.length * 2);
  let done = 0;
  for (const spec of flipTargets) await flip(run, instrumentor, spec, times, () => report(++done));
  const phase = await meter.end(mark, `single changes (${done})`, performance.now() - started, 0);
  run.result.singleChange = {
    phase,
    optOut: summarize(times.optOut),
    optIn: summarize(times.optIn),
    optInFromAnnotation: summarize(times.optInFromAnnotation),
    all: summarize([...times.optOut, ...times.optIn]),
  };
  log(
    `single changes: p50 ${run.result.singleChange.all?.p50.toFixed(1)} ms, p99 ${run.result.singleChange.all?.p99.toFixed(1)} ms`,
  );
};

/** Stops the main run's instrumentor (SIGTERM, killed after 30 s) and records its figures. */
export const stopInstrumentor = async (run: RunContext, main: Started): Promise<void> => {
  const { options, result } = run;
  const { instrumentor, sampler } = main;
  sampler.sample();
  // An attached inspector would keep the process waiting for it at exit.
  main.inspector?.close();
  // A process that does not exit in 30 s is killed: the run must end.
  const stopping = performance.now();
  const code = await instrumentor.stop("SIGTERM", { killAfterMs: 30_000 });
  result.shutdown = { code, ms: performance.now() - stopping };
  run.meter.detach();
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
};
