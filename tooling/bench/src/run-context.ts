/**
 * What the phases of a run share: the run's inputs and the result it fills, the cluster and the
 * benchmark's clients, the meter, and the benchmark's own watch, with the waits on it that end a
 * phase. A run without pods adds the floor's client and the devices each workload must carry.
 */
import type { ControlPlane } from "@odigos/control-plane";
import type { BenchOptions } from "./args.js";
import { type BenchClient, type Log, type Meter, type RunHandles, ticking } from "./meter.js";
import type { Tracker } from "./tracker.js";
import type { BenchResult } from "./types.js";
import type { WorkloadSpec } from "./workloads.js";

/** What every run's phases work with, with or without pods. */
export interface RunBasics {
  readonly options: BenchOptions;
  /** Filled as the run goes, so that a failure still leaves every figure measured so far. */
  readonly result: BenchResult;
  /** What Ctrl-C must stop. */
  readonly handles: RunHandles;
  readonly log: Log;
  /** Workloads seeded. */
  readonly n: number;
  readonly phaseTimeoutMs: number;
  readonly specs: ReadonlyArray<WorkloadSpec>;
  readonly controlPlane: ControlPlane;
  /** The benchmark's client for its own writes (seed, collectors, opt-in and opt-out, calibration). */
  readonly driver: BenchClient;
  readonly meter: Meter;
  /** The benchmark's own list+watch of every workload and runtime-details object (with pods: and pod). */
  readonly tracker: Tracker;
  /** The last problem the watch had, reported at the end of the run. */
  readonly watchProblem: { error?: Error };
  /** Turns the data-collection CollectorsGroup ready or not. */
  readonly setCollectorsReady: (ready: boolean) => Promise<unknown>;
}

/** What the phases of a run without pods work with. */
export interface RunContext extends RunBasics {
  /** The devices each workload (by key) carries when instrumented. */
  readonly desired: ReadonlyMap<string, Record<string, string[]>>;
  /** The floor concurrency the ratios are taken against (the first of `--floor-concurrency`). */
  readonly reference: number;
  /** The floor's client, told apart in the audit log by its User-Agent. */
  readonly floorClient: BenchClient;
}

/** Waits until `check` holds by the benchmark's watch, logging `progress` every 2 s. */
export const waitTracker = (
  run: RunBasics,
  check: () => boolean,
  what: string,
  progress: () => string,
): Promise<number> =>
  ticking(run.tracker.until(check, run.phaseTimeoutMs, what), () =>
    run.log(`  ${what}: ${progress()}`),
  );

/**
 * Waits until every workload carries exactly its devices (`ready`) or none carries any; resolves
 * with the time of the watch event that showed it.
 */
export const waitConverged = (run: RunContext, ready: boolean, what: string): Promise<number> =>
  waitTracker(
    run,
    ready
      ? () => run.tracker.instrumentedCount === run.n
      : () => run.tracker.withDevicesCount === 0,
    what,
    () => `${ready ? run.tracker.instrumentedCount : run.tracker.withDevicesCount}/${run.n}`,
  );
