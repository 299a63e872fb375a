/**
 * _Cold starts_ (`--cold-starts`): cycle 1 of the main run is one cold cycle against floor runs
 * minutes away, on a machine whose speed drifts. Here each start is a fresh instrumentor process
 * timed through its first cycle between two floor runs, which the ratio takes the mean of, and
 * against a fresh floor process of its own.
 */
import { MemorySampler } from "./proc.js";
import { coldRatio, freshFloorRatio } from "./ratios.js";
import type { RunContext } from "./run-context.js";
import { floorPass, floorRun, freshFloorRun } from "./run-floor.js";
import { collectorsPhase, launchInstrumentor } from "./run-instrumentor.js";
import { settled } from "./settle.js";
import type { ColdStart, FloorRun } from "./types.js";

/**
 * One fresh instrumentor (the same entry and flags, no inspector): its initial reconcile, one
 * ready and one unready phase, its stop; then a fresh floor process and the floor run after it.
 */
const coldStart = async (
  run: RunContext,
  start: number,
  floorBefore: FloorRun,
  starts: ColdStart[],
): Promise<ColdStart> => {
  const { meter, log } = run;
  const fresh = await launchInstrumentor(run, false);
  const freshSampler = new MemorySampler(fresh.pid, 200);
  freshSampler.start();
  meter.attach(fresh, freshSampler);
  await fresh.ready(120_000);
  await settled(fresh, { atLeastReconciles: run.n, timeoutMs: run.phaseTimeoutMs });
  const rssAfterSyncBytes = freshSampler.sample();
  const ready = await collectorsPhase(run, fresh, `cold ready #${start}`, true);
  const unready = await collectorsPhase(run, fresh, `cold unready #${start}`, false);
  const code = await fresh.stop("SIGTERM", { killAfterMs: 30_000 });
  if (code !== 0) log(`  cold start ${start}: the instrumentor exited with ${code} on SIGTERM`);
  meter.detach();
  freshSampler.stop();
  const freshFloor = await freshFloorRun(run, start);
  const floorAfter = await floorRun(run, run.reference, ` (after cold ${start})`);
  const entry: ColdStart = {
    start,
    ready,
    unready,
    floorBefore,
    floorAfter,
    freshFloor,
    rssAfterSyncBytes,
  };
  starts.push(entry);
  log(
    `cold start ${start}: ready ${coldRatio(entry, "ready").toFixed(2)}×, unready ${coldRatio(entry, "unready").toFixed(2)}× the floor beside it, ${freshFloorRatio(entry, "ready").toFixed(2)}× / ${freshFloorRatio(entry, "unready").toFixed(2)}× a fresh floor process, RSS after sync ${(rssAfterSyncBytes / 1048576).toFixed(0)} MB`,
  );
  return entry;
};

/** From where the main run began (collectors not ready, no devices): floor, start, floor, start, … */
export const coldStarts = async (run: RunContext): Promise<void> => {
  await run.setCollectorsReady(false);
  // A start begins where the main run began: collectors not ready, no devices.
  if (run.tracker.withDevicesCount > 0) await floorPass(run, run.reference, false, " (reset)");
  const starts: ColdStart[] = [];
  run.result.coldStarts = starts;
  let floorBefore = await floorRun(run, run.reference, " (before cold 1)");
  for (let start = 1; start <= run.options.coldStarts; start++) {
    const entry = await coldStart(run, start, floorBefore, starts);
    floorBefore = entry.floorAfter;
  }
};
