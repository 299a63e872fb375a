/**
 * One benchmark run: a local control plane, N seeded workloads, the floor measured with a client
 * of its own, then the instrumentor as a real process through start-up, ready/unready cycles,
 * `kubectl odigos-instrumentor status -A` on the converged cluster, single flips and a quiet
 * period, the floor again, and cold starts. The phases are in `run-floor.ts`,
 * `run-instrumentor.ts`, `run-plugin.ts` and `run-cold-starts.ts`; a run with pods is `run-pods.ts`.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { repoRoot } from "@odigos/control-plane";
import { OdigosResources, workloadResource } from "@odigos/crd-types";
import { fakeRolloutStatuses, installArgoRolloutsCrd } from "./argo.js";
import type { BenchOptions } from "./args.js";
import {
  type BenchClient,
  benchClient,
  createAll,
  type Log,
  type RunHandles,
  seedOdigos,
  startBenchCluster,
  steadyPhase,
  throttled,
} from "./meter.js";
import { coldStarts } from "./run-cold-starts.js";
import type { RunContext } from "./run-context.js";
import { measureFloor, measureFloorAfter, measureFloorSingleChanges } from "./run-floor.js";
import {
  collectorsPhase,
  runCycles,
  singleChanges,
  startUp,
  stopInstrumentor,
} from "./run-instrumentor.js";
import { pluginStatusPhase } from "./run-plugin.js";
import { Tracker } from "./tracker.js";
import type { BenchResult } from "./types.js";
import {
  expectedDevices,
  keyOf,
  planWorkloads,
  runtimeDetailsManifest,
  seededKinds,
  seedingOf,
  type WorkloadSpec,
  workloadManifest,
} from "./workloads.js";

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

/**
 * _seed_: the Odigos objects and namespaces, then every workload and its runtime details
 * (`--seed-concurrency` in flight). Returns the switch of the collectors' readiness.
 */
const seedWorkloads = async (
  options: BenchOptions,
  result: BenchResult,
  driver: BenchClient,
  specs: ReadonlyArray<WorkloadSpec>,
  log: Log,
): Promise<(ready: boolean) => Promise<unknown>> => {
  const seedStarted = performance.now();
  const setCollectorsReady = await seedOdigos(driver, options.namespaces, options.seedConcurrency);
  const creates = specs.flatMap((spec) => [
    { resource: workloadResource(spec.kind), body: workloadManifest(spec) },
    { resource: OdigosResources.InstrumentedApplication, body: runtimeDetailsManifest(spec) },
  ]);
  const seedProgress = throttled(log, "seeding workloads and runtime details", creates.length);
  await createAll(driver, creates, options.seedConcurrency, seedProgress);
  // No Argo controller: each Rollout gets the status Argo would give it once done.
  const rollouts = await fakeRolloutStatuses(driver, specs, options.seedConcurrency);
  result.seeding = seedingOf(specs, options.namespaces, {
    ms: performance.now() - seedStarted,
    requests: creates.length + rollouts + options.namespaces + 5,
  });
  log(`seeded ${specs.length} workloads in ${(result.seeding.ms / 1000).toFixed(1)} s`);
  return setCollectorsReady;
};

/** Starts the benchmark's own watch and waits until it has seen every seeded object. */
const watchSeeded = async (
  run: Omit<RunContext, "tracker">,
  watchClient: BenchClient,
): Promise<RunContext> => {
  const tracker = new Tracker(
    watchClient,
    run.desired,
    seededKinds(run.options.rollouts),
    (error) => {
      run.watchProblem.error = error;
      run.log(`watch problem: ${error.message}`);
    },
  );
  run.handles.tracker = tracker;
  await tracker.start();
  await tracker.until(
    () => tracker.size >= run.n && tracker.runtimeDetailsCount >= run.n,
    run.phaseTimeoutMs,
    "the watch to see every seeded object",
  );
  return { ...run, tracker };
};

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
  const specs = planWorkloads(n, options.namespaces, options.rollouts);
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
    if (options.rollouts) {
      log(
        "installing the minimal Argo Rollouts CRD (no controller; --no-rollouts to leave it out)",
      );
      await installArgoRolloutsCrd(driver, 30_000);
    }
    const setCollectorsReady = await seedWorkloads(options, result, driver, specs, log);
    const run = await watchSeeded(
      {
        options,
        result,
        handles,
        log,
        n,
        phaseTimeoutMs: options.phaseTimeoutSeconds * 1000,
        specs,
        desired: new Map(specs.map((spec) => [keyOf(spec), expectedDevices(spec)])),
        reference: options.floorConcurrencies[0] ?? 8,
        controlPlane,
        driver,
        floorClient,
        meter,
        watchProblem: {},
        setCollectorsReady,
      },
      watchClient,
    );
    const floor = await measureFloor(run);
    const flipTargets = spread(specs, Math.floor(options.flips / 2));
    await measureFloorSingleChanges(run, floor, flipTargets);
    const main = await startUp(run);
    await runCycles(run, main);
    result.finalReady = await collectorsPhase(
      run,
      main.instrumentor,
      "ready (before flips)",
      true,
      main.profiled,
    );
    if (options.pluginRuns > 0) result.pluginStatus = await pluginStatusPhase(run);
    if (flipTargets.length > 0) await singleChanges(run, main.instrumentor, flipTargets);
    if (options.steadySeconds > 0)
      result.steady = await steadyPhase(meter, options.steadySeconds, log);
    await stopInstrumentor(run, main);
    // The floor once more, now that the instrumentor is gone: the machine may have changed meanwhile.
    await measureFloorAfter(run, floor);
    if (options.coldStarts > 0) await coldStarts(run);
    if (run.watchProblem.error !== undefined)
      log(`note: the benchmark's watch had a problem: ${run.watchProblem.error.message}`);
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
