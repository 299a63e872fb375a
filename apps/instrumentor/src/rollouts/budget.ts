/**
 * The rollout budget (SPEC section 8): at most `max` workloads rolling because of the
 * instrumentor at once (0 = unlimited). A mass change starts small: waves of 1, 2, 4, … each
 * started once every rollout of the wave before completed healthy, up to `max`; from there a
 * completed rollout frees its slot for the next at once. A failed rollout (rolled back, or stuck
 * at its deadline) starts over at 1. Workloads waiting for a slot are served oldest first;
 * rollbacks go to the front of the line.
 *
 * Pure bookkeeping over what it is told; the caller derives what is in flight from the cluster
 * (the rollout records on workloads), so a restart or a new leader keeps the bound.
 */

export type SlotAnswer =
  | { readonly _tag: "Granted" }
  | {
      readonly _tag: "Waiting";
      readonly position: number;
      readonly inFlight: number;
      readonly limit: number;
    };

/** How a rollout ended, for the slow start: only healthy completions let it grow. */
export type RolloutEnd = "completed" | "stuck" | "failed";

/** The budget is back to waves of 1 after it was idle (nothing in flight or waiting) this long. */
export const idleResetMs = 60_000;

export class RolloutBudget {
  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, { readonly since: number }>();
  /** Size of the current wave while slow-starting; `max` once grown to it. */
  private window = 1;
  /** Rollouts of the current wave still in flight, and whether one failed. */
  private readonly wave = new Set<string>();
  private waveStarted = 0;
  private waveFailed = false;
  private idleSince: number | undefined;

  constructor(readonly max: number) {}

  get unlimited(): boolean {
    return this.max === 0;
  }

  /** Workloads in flight and waiting, and the current wave size (for metrics and logs). */
  get figures() {
    return {
      inFlight: this.inFlight.size,
      waiting: this.waiting.size,
      window: this.currentWindow(),
    };
  }

  isInFlight(key: string): boolean {
    return this.inFlight.has(key);
  }

  inFlightSince(key: string): number | undefined {
    return this.inFlight.get(key);
  }

  /** Each waiting workload's place in line, as `request` would answer it now (read only). */
  waitingLine(): ReadonlyMap<string, Extract<SlotAnswer, { _tag: "Waiting" }>> {
    const free = this.free();
    const line = new Map<string, Extract<SlotAnswer, { _tag: "Waiting" }>>();
    let index = 0;
    for (const key of this.waiting.keys()) {
      const position = Math.max(1, index - free + 1);
      line.set(key, {
        _tag: "Waiting",
        position,
        inFlight: this.inFlight.size,
        limit: this.currentWindow(),
      });
      index += 1;
    }
    return line;
  }

  /** A rollout found in flight in the cluster (after a restart): it holds a slot until it ends. */
  track(key: string, since: number): void {
    if (!this.inFlight.has(key)) this.inFlight.set(key, since);
  }

  /** Asks for a slot for `key`; a workload already in flight keeps its slot. */
  request(key: string, now: number, options: { readonly priority?: boolean } = {}): SlotAnswer {
    this.resetWhenIdle(now);
    if (this.inFlight.has(key)) return { _tag: "Granted" };
    if (!this.waiting.has(key)) this.enqueue(key, now, options.priority === true);
    const free = this.free();
    const position = [...this.waiting.keys()].indexOf(key);
    if (position >= free)
      return {
        _tag: "Waiting",
        position: position - free + 1,
        inFlight: this.inFlight.size,
        limit: this.currentWindow(),
      };
    this.waiting.delete(key);
    this.inFlight.set(key, now);
    if (this.slowStarting()) {
      this.wave.add(key);
      this.waveStarted += 1;
    }
    return { _tag: "Granted" };
  }

  /**
   * `key`'s rollout failed but goes on (it is being rolled back, in its own slot): the slow start
   * starts over at 1.
   */
  fail(key: string): void {
    if (!this.inFlight.has(key)) return;
    this.window = 1;
    this.waveFailed = true;
  }

  /**
   * `key`'s rollback was written: a rollout of its own in the slot of the one it undoes, counted
   * (and its deadline) from now, as a restart reads it from the rollback's record.
   */
  restart(key: string, now: number): void {
    if (this.inFlight.has(key)) this.inFlight.set(key, now);
  }

  /** A waiting workload that no longer needs a slot. */
  withdraw(key: string): void {
    this.waiting.delete(key);
  }

  /** `key`'s rollout ended; returns the waiting workloads that may now start (to wake them). */
  release(key: string, end: RolloutEnd, now: number): ReadonlyArray<string> {
    if (!this.inFlight.delete(key)) return [];
    if (end !== "completed") {
      this.window = 1;
      this.waveFailed = true;
    }
    if (this.wave.delete(key) && this.wave.size === 0) this.nextWave();
    if (this.inFlight.size === 0 && this.waiting.size === 0) this.idleSince = now;
    return [...this.waiting.keys()].slice(0, this.free());
  }

  private enqueue(key: string, now: number, priority: boolean): void {
    if (!priority) {
      this.waiting.set(key, { since: now });
      return;
    }
    const rest = [...this.waiting];
    this.waiting.clear();
    this.waiting.set(key, { since: now });
    for (const [other, entry] of rest) this.waiting.set(other, entry);
  }

  private slowStarting(): boolean {
    return !this.unlimited && this.window < this.max;
  }

  private currentWindow(): number {
    return this.unlimited ? 0 : Math.min(this.window, this.max);
  }

  /** Slots free now: the hard cap, and while slow-starting, what is left of the current wave. */
  private free(): number {
    if (this.unlimited) return Number.POSITIVE_INFINITY;
    const underCap = this.max - this.inFlight.size;
    if (!this.slowStarting()) return Math.max(0, underCap);
    // The next wave starts only once this one has ended (see nextWave).
    return Math.max(0, Math.min(underCap, this.window - this.waveStarted));
  }

  /** The wave ended: grow (doubling) if all of it completed healthy, else start over at 1. */
  private nextWave(): void {
    this.window = this.waveFailed ? 1 : Math.min(this.window * 2, this.max);
    this.waveStarted = 0;
    this.waveFailed = false;
  }

  private resetWhenIdle(now: number): void {
    if (this.idleSince === undefined) return;
    if (this.inFlight.size > 0 || this.waiting.size > 0) {
      this.idleSince = undefined;
      return;
    }
    if (now - this.idleSince >= idleResetMs) {
      this.window = 1;
      this.wave.clear();
      this.waveStarted = 0;
      this.waveFailed = false;
    }
    this.idleSince = undefined;
  }
}
