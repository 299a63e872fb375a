/**
 * What stops an instrumenting write (SPEC section 8): a rollback recorded for the same inputs,
 * an open circuit breaker, a fight with another writer. In memory, but derived from the cluster
 * where it must survive a restart: rollbacks (and so the breaker) are read from the workloads'
 * annotations; a fight is only remembered by this process (a restart costs at most one more
 * round of put-backs).
 */
import type { Workload } from "@odigos/crd-types";
import type { RollbackRecord } from "@odigos/instrumentation-rules";
import { lastOtherSpecWrite } from "../cache/slim.js";

/** Why an instrumenting write is held back. */
export type Hold =
  | { readonly _tag: "RolledBack"; readonly record: RollbackRecord }
  | { readonly _tag: "BreakerOpen"; readonly rollbacks: number }
  | { readonly _tag: "Fight"; readonly manager: string; readonly putBacks: number };

/** The last writer of a workload's spec other than the instrumentor, by `managedFields` time. */
export const otherWriter = (workload: Workload): string =>
  lastOtherSpecWrite(workload.metadata.managedFields ?? [])?.manager ?? "an unknown writer";

/** Rollbacks recorded on workloads, as the circuit breaker counts them. */
export class Breaker {
  private readonly rollbacks = new Map<string, RollbackRecord>();
  private open = false;

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
  ) {}

  /** Keeps the index of rollback records current (called with every workload seen). */
  note(key: string, record: RollbackRecord | undefined): void {
    if (record === undefined) this.rollbacks.delete(key);
    else this.rollbacks.set(key, record);
  }

  /** Rollbacks that count now: recorded under this `odigos-config` version, within the window. */
  counted(configVersion: string, now: number): ReadonlyArray<[string, RollbackRecord]> {
    return [...this.rollbacks].filter(
      ([, record]) =>
        record.configVersion === configVersion && now - Date.parse(record.at) < this.windowMs,
    );
  }

  /** Whether it was open when last asked (read only: for the status). */
  get isOpen(): boolean {
    return this.open;
  }

  /** Whether it is open now, and whether that changed since the last call. */
  state(
    configVersion: string,
    now: number,
  ): { readonly open: boolean; readonly changed: boolean; readonly count: number } {
    const count = this.counted(configVersion, now).length;
    const open = this.threshold > 0 && count >= this.threshold;
    const changed = open !== this.open;
    this.open = open;
    return { open, changed, count };
  }
}

/** Shared by every instrumented workload that had no put-back (nearly all): one array, not one each. */
const noPutBacks: ReadonlyArray<number> = [];

interface FightState {
  /** Our instrumenting write: the generation it produced. */
  instrumentedGeneration: number;
  /** When we put devices back after another writer removed them, within the window. */
  putBacks: ReadonlyArray<number>;
  lastRevertAt: number;
  stopped: { readonly manager: string; readonly fingerprint: string } | undefined;
}

export type FightVerdict =
  | { readonly _tag: "NoFight" }
  /** Another writer removed the devices: put them back (counted). */
  | { readonly _tag: "PutBack"; readonly manager: string; readonly putBacks: number }
  /** Too many put-backs within the window: stop, report `manager`. */
  | {
      readonly _tag: "Stop";
      readonly manager: string;
      readonly putBacks: number;
      readonly newly: boolean;
    };

/**
 * Fights over a workload's devices: when another writer takes them away again and again, put
 * them back at most `limit` times per window, then stop until it has been quiet for the window
 * or the workload's inputs (fingerprint) change.
 */
export class Fights {
  private readonly states = new Map<string, FightState>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Stopped for this workload (for metrics). */
  get stopped(): number {
    return [...this.states.values()].filter((state) => state.stopped !== undefined).length;
  }

  /** The writer put-backs stopped for, and when they may start again, if they stopped. */
  stoppedFor(key: string): { readonly writer: string; readonly retryAt: number } | undefined {
    const state = this.states.get(key);
    if (state?.stopped === undefined) return undefined;
    return { writer: state.stopped.manager, retryAt: state.lastRevertAt + this.windowMs };
  }

  /** An instrumenting write of ours went through, producing `generation`. */
  instrumented(key: string, generation: number): void {
    const state = this.states.get(key);
    if (state === undefined)
      this.states.set(key, {
        instrumentedGeneration: generation,
        putBacks: noPutBacks,
        lastRevertAt: 0,
        stopped: undefined,
      });
    else state.instrumentedGeneration = generation;
  }

  /** We removed the devices ourselves: whatever follows is no fight. */
  forget(key: string): void {
    this.states.delete(key);
  }

  /**
   * The workload lacks devices we want it to carry: a revert when we had instrumented it and its
   * spec changed since.
   */
  judge(key: string, workload: Workload, fingerprint: string, now: number): FightVerdict {
    const state = this.states.get(key);
    if (state === undefined || this.limit === 0) return { _tag: "NoFight" };
    const manager = otherWriter(workload);
    const reverted = (workload.metadata.generation ?? 0) > state.instrumentedGeneration;
    if (state.stopped !== undefined) {
      const quiet = now - state.lastRevertAt >= this.windowMs;
      if (!quiet && state.stopped.fingerprint === fingerprint)
        return {
          _tag: "Stop",
          manager: state.stopped.manager,
          putBacks: state.putBacks.length,
          newly: false,
        };
      state.stopped = undefined;
      state.putBacks = noPutBacks;
    }
    if (!reverted) return { _tag: "NoFight" };
    state.lastRevertAt = now;
    state.instrumentedGeneration = workload.metadata.generation ?? 0;
    state.putBacks = state.putBacks.filter((at) => now - at < this.windowMs);
    if (state.putBacks.length >= this.limit) {
      state.stopped = { manager, fingerprint };
      return { _tag: "Stop", manager, putBacks: state.putBacks.length, newly: true };
    }
    state.putBacks = [...state.putBacks, now];
    return { _tag: "PutBack", manager, putBacks: state.putBacks.length };
  }
}
