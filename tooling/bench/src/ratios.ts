/**
 * What a phase of a run without pods is judged against: the floor (the faster of the reference
 * runs before and after the instrumentor), the best floor of any concurrency, and, for a cold
 * start, the floor runs beside it or a fresh floor process; which cycles are warm.
 */
import type { BenchResult, ColdStart, CycleResult, FloorRun } from "./types.js";

export type Which = "ready" | "unready";

/**
 * A cold cycle against the floor beside it: the mean of the floor runs just before and just
 * after, which cancels a drift of the machine or the API server that is steady over the minute.
 */
export const coldRatio = (start: ColdStart, which: Which): number =>
  start[which].wallMs / ((start.floorBefore[which].wallMs + start.floorAfter[which].wallMs) / 2);

/** A cold cycle against the fresh floor process's first passes (NaN without one). */
export const freshFloorRatio = (start: ColdStart, which: Which): number =>
  start.freshFloor === undefined
    ? Number.NaN
    : start[which].wallMs / start.freshFloor[which].wallMs;

/** The cycles the medians are taken over: all but one run cold by the GC probe. */
export const warmCycles = (cycles: ReadonlyArray<CycleResult>): ReadonlyArray<CycleResult> =>
  cycles.filter((cycle) => cycle.followsGcProbe !== true);

/** The floor of a phase: the faster of the reference-concurrency runs before and after the instrumentor ran. */
export const floorOf = (result: BenchResult, which: Which): number | undefined => {
  const floor = result.floor;
  if (floor === undefined) return undefined;
  const runs = [floor.runs.find((run) => run.concurrency === floor.reference), floor.after].filter(
    (run): run is FloorRun => run !== undefined,
  );
  return runs.length === 0 ? undefined : Math.min(...runs.map((run) => run[which].wallMs));
};

/** The fastest floor run of any concurrency. */
export const bestFloorOf = (
  result: BenchResult,
  which: Which,
): { ms: number; concurrency: number } | undefined => {
  const runs = [
    ...(result.floor?.runs ?? []),
    ...(result.floor?.after === undefined ? [] : [result.floor.after]),
  ];
  const winner = runs.reduce<FloorRun | undefined>(
    (acc, run) => (acc === undefined || run[which].wallMs < acc[which].wallMs ? run : acc),
    undefined,
  );
  return winner === undefined
    ? undefined
    : { ms: winner[which].wallMs, concurrency: winner.concurrency };
};
