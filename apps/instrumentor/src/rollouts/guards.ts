/**
 * What stops an instrumenting write (SPEC section 8): a rollback recorded for the same inputs,
 * an open circuit breaker, a fight with another writer. In memory, but derived from the cluster
 * where it must survive a restart: rollbacks (and so the breaker) are read from the workloads'
 * annotations; a fight is only remembered by this process (a restart costs at most one more
 * round of put-backs).
 */
import type { Workload } from "@odigos/crd-types";
import {
  attributeRemoval,
  type FightWriter,
  type OwnDeviceWrite,
  otherSpecWrites,
  type RollbackRecord,
} from "@odigos/instrumentation-rules";

/** Why an instrumenting write is held back. */
export type Hold =
  | { readonly _tag: "RolledBack"; readonly record: RollbackRecord }
  | { readonly _tag: "BreakerOpen"; readonly rollbacks: number }
  | { readonly _tag: "Fight"; readonly writer: FightWriter; readonly putBacks: number };

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
  /** Our last instrumenting write: when, and the newest other writer then (attribution). */
  ownWrite: OwnDeviceWrite;
  /** When we put devices back after another writer removed them, within the window. */
  putBacks: ReadonlyArray<number>;
  lastRevertAt: number;
  stopped: { writer: FightWriter; readonly fingerprint: string } | undefined;
}

export type FightVerdict =
  | { readonly _tag: "NoFight" }
  /** Another writer removed the devices: put them back (counted). */
  | { readonly _tag: "PutBack"; readonly writer: FightWriter; readonly putBacks: number }
  /** Too many put-backs within the window: stop, report `writer`. */
  | {
      readonly _tag: "Stop";
      readonly writer: FightWriter;
      readonly putBacks: number;
      readonly newly: boolean;
      /** When put-backs may start again (ms since the epoch). */
      readonly retryAt: number;
    };

/**
 * Fights over a workload's devices: when another writer takes them away again and again, put
 * them back at most `limit` times per window, then stop until it has been quiet for the window
 * or the workload's inputs (fingerprint) change. Who the writer is comes from `managedFields`
 * when it records the write (`attributeRemoval`).
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
  stoppedFor(key: string): { readonly writer: FightWriter; readonly retryAt: number } | undefined {
    const state = this.states.get(key);
    if (state?.stopped === undefined) return undefined;
    return { writer: state.stopped.writer, retryAt: state.lastRevertAt + this.windowMs };
  }

  /**
   * An instrumenting write of ours went through, producing `generation`; `from` is the copy it
   * was written from (its resourceVersion was the write's precondition), `at` when.
   */
  instrumented(key: string, generation: number, from: Workload, at: number): void {
    const ownWrite: OwnDeviceWrite = {
      at,
      newestOther: otherSpecWrites(from.metadata.managedFields ?? [])[0],
    };
    const state = this.states.get(key);
    if (state === undefined)
      this.states.set(key, {
        instrumentedGeneration: generation,
        ownWrite,
        putBacks: noPutBacks,
        lastRevertAt: 0,
        stopped: undefined,
      });
    else {
      state.instrumentedGeneration = generation;
      state.ownWrite = ownWrite;
    }
  }

  /** We removed the devices ourselves: whatever follows is no fight. */
  forget(key: string): void {
    this.states.delete(key);
  }

  /** A fuller account of a stopped fight's writer (the candidates from every field manager). */
  attributed(key: string, writer: FightWriter): void {
    const state = this.states.get(key);
    if (state?.stopped !== undefined) state.stopped.writer = writer;
  }

  /**
   * The workload lacks devices we want it to carry: a revert when we had instrumented it and its
   * spec changed since.
   */
  judge(key: string, workload: Workload, fingerprint: string, now: number): FightVerdict {
    const state = this.states.get(key);
    if (state === undefined || this.limit === 0) return { _tag: "NoFight" };
    const reverted = (workload.metadata.generation ?? 0) > state.instrumentedGeneration;
    if (state.stopped !== undefined) {
      const quiet = now - state.lastRevertAt >= this.windowMs;
      if (!quiet && state.stopped.fingerprint === fingerprint)
        return {
          _tag: "Stop",
          writer: state.stopped.writer,
          putBacks: state.putBacks.length,
          newly: false,
          retryAt: state.lastRevertAt + this.windowMs,
        };
      state.stopped = undefined;
      state.putBacks = noPutBacks;
    }
    if (!reverted) return { _tag: "NoFight" };
    const writer = attributeRemoval(state.ownWrite, workload.metadata.managedFields ?? []);
    state.lastRevertAt = now;
    state.instrumentedGeneration = workload.metadata.generation ?? 0;
    state.putBacks = state.putBacks.filter((at) => now - at < this.windowMs);
    if (state.putBacks.length >= this.limit) {
      state.stopped = { writer, fingerprint };
      const retryAt = now + this.windowMs;
      return { _tag: "Stop", writer, putBacks: state.putBacks.length, newly: true, retryAt };
    }
    state.putBacks = [...state.putBacks, now];
    return { _tag: "PutBack", writer, putBacks: state.putBacks.length };
  }
}
