/**
 * The floor of a run without pods: what the API server itself allows. A client of the
 * benchmark's own sends exactly the writes a phase needs (`floor.ts`), as fast as the server
 * takes them, with the instrumentor not running: at each `--floor-concurrency`, once more after
 * the instrumentor stopped, one patch at a time (the latency floor), and in a fresh process of
 * its own (the floor of a cold start).
 */
import { patchAll, sendDevicePatch } from "./floor.js";
import { startFreshFloor } from "./fresh-floor.js";
import { type RunContext, waitConverged } from "./run-context.js";
import { summarize } from "./stats.js";
import type { BenchResult, FloorRun, PhaseResult } from "./types.js";
import { devicesAre, keyOf, type WorkloadSpec } from "./workloads.js";

/**
 * Patches every workload to `ready` (devices) or not with `concurrency` in flight, as fast as
 * the server takes it, from this process or (`patches`) from another, until the watch sees it.
 */
export const floorPass = async (
  run: RunContext,
  concurrency: number,
  ready: boolean,
  suffix = "",
  patches: () => Promise<void> = () =>
    patchAll(
      {
        client: run.floorClient,
        workload: (key) => run.tracker.workload(key),
        specs: run.specs,
        desired: run.desired,
      },
      concurrency,
      ready,
    ),
): Promise<PhaseResult> => {
  const name = `floor ${ready ? "ready" : "unready"} c=${concurrency}${suffix}`;
  const mark = await run.meter.begin(true);
  const started = performance.now();
  await patches();
  const seen = await waitConverged(run, ready, name);
  const phase = await run.meter.end(mark, name, seen - started, run.n);
  run.log(`${name}: ${(phase.wallMs / 1000).toFixed(2)} s`);
  return phase;
};

/** A ready pass, then an unready one. */
export const floorRun = async (
  run: RunContext,
  concurrency: number,
  suffix = "",
): Promise<FloorRun> => ({
  concurrency,
  ready: await floorPass(run, concurrency, true, suffix),
  unready: await floorPass(run, concurrency, false, suffix),
});

/** A floor run at each `--floor-concurrency`, before the instrumentor starts. */
export const measureFloor = async (run: RunContext): Promise<NonNullable<BenchResult["floor"]>> => {
  const floor: NonNullable<BenchResult["floor"]> = { reference: run.reference, runs: [] };
  run.result.floor = floor;
  for (const concurrency of run.options.floorConcurrencies)
    floor.runs.push(await floorRun(run, concurrency));
  return floor;
};

/** One device patch at a time, from the write until the watch sees it: the latency floor. */
export const measureFloorSingleChanges = async (
  run: RunContext,
  floor: NonNullable<BenchResult["floor"]>,
  flipTargets: ReadonlyArray<WorkloadSpec>,
): Promise<void> => {
  const { tracker, desired } = run;
  const floorSingle = { add: [] as number[], remove: [] as number[] };
  for (const spec of flipTargets) {
    const key = keyOf(spec);
    for (const ready of [true, false]) {
      const wanted = desired.get(key) ?? {};
      const started = await sendDevicePatch(
        run.floorClient,
        spec,
        tracker.workload(key),
        ready ? wanted : {},
      );
      if (started === undefined) continue;
      const seen = await tracker.until(
        () => devicesAre(tracker.workload(key), ready, wanted),
        30_000,
        `floor single change of ${key}`,
      );
      (ready ? floorSingle.add : floorSingle.remove).push(seen - started);
    }
  }
  floor.single = {
    add: summarize(floorSingle.add),
    remove: summarize(floorSingle.remove),
    all: summarize([...floorSingle.add, ...floorSingle.remove]),
  };
  if (flipTargets.length > 0)
    run.log(
      `floor single change: p50 ${floor.single.all?.p50.toFixed(1)} ms, p99 ${floor.single.all?.p99.toFixed(1)} ms`,
    );
};

/** The reference concurrency once more, now that the instrumentor is gone (unready first: it left the devices on). */
export const measureFloorAfter = async (
  run: RunContext,
  floor: NonNullable<BenchResult["floor"]>,
): Promise<void> => {
  const unready = await floorPass(run, run.reference, false, " (after)");
  const ready = await floorPass(run, run.reference, true, " (after)");
  floor.after = { concurrency: run.reference, ready, unready };
};

/** A floor client as fresh as a cold start's instrumentor: its own process, its first passes. */
export const freshFloorRun = async (run: RunContext, start: number): Promise<FloorRun> => {
  const fresh = startFreshFloor({
    kubeconfigPath: run.controlPlane.kubeconfigPath,
    workloads: run.n,
    namespaces: run.options.namespaces,
    rollouts: run.options.rollouts,
    concurrency: run.reference,
    timeoutMs: run.phaseTimeoutMs,
  });
  try {
    const suffix = ` (fresh process ${start})`;
    const states = () => run.specs.flatMap((spec) => run.tracker.workload(keyOf(spec)) ?? []);
    await fresh.load(states());
    const ready = await floorPass(run, run.reference, true, suffix, () => fresh.pass("ready"));
    await fresh.load(states());
    const unready = await floorPass(run, run.reference, false, suffix, () => fresh.pass("unready"));
    await fresh.close();
    return { concurrency: run.reference, ready, unready };
  } catch (error) {
    fresh.kill();
    throw error;
  }
};
