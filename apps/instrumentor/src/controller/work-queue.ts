/**
 * A keyed, de-duplicating work queue in the manner of client-go's: a key added while queued is
 * queued once; a key added while being processed is processed again after the current run;
 * failing keys back off exponentially per key; a delayed add keeps the earliest deadline.
 * Delays are deadlines in a heap, served by one alarm fiber in the queue's scope that sleeps
 * on Effect's `Clock` until the earliest (so tests drive them with `TestClock`); closing the
 * scope drops them. One fiber per delayed key cost ~2 KB each: every rolling workload has one.
 */
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";
import { type BackoffOptions, backoffDelay } from "../backoff.js";

export interface WorkQueue<K> {
  /** Keys waiting to be taken (not counting delayed ones). */
  readonly depth: () => number;
  /** Keys being processed. */
  readonly inFlight: () => number;
  /** Keys waiting for a delayed add. */
  readonly delayed: () => number;
  /** Queues a key now (or after its current run); cancels its delayed add. */
  readonly add: (key: K) => void;
  /** Queues a key after a delay, unless something queues it sooner; the earliest deadline wins. */
  readonly addAfter: (key: K, delayMs: number) => Effect.Effect<void>;
  /**
   * Replaces a key's delayed add (not the earliest wins, as with `addAfter`) by one at `at`, a
   * time of the Effect `Clock`, or drops it when `at` is undefined; no effect on a queued key.
   */
  readonly rescheduleAt: (key: K, at: number | undefined) => void;
  /** Queues a failed key after its next per-key backoff delay; returns the delay. */
  readonly addRateLimited: (key: K) => Effect.Effect<number>;
  /** Clears a key's failure count after a success. */
  readonly forget: (key: K) => void;
  /** Failures of a key since it last succeeded. */
  readonly retries: (key: K) => number;
  /** The next key, waiting for one; `None` once shut down. */
  readonly take: Effect.Effect<Option.Option<K>>;
  /** Marks a key's run finished; re-queues it if it was added meanwhile. */
  readonly done: (key: K) => void;
  /**
   * Takes back the adds of a key made while it is being processed (its run after this one),
   * when the caller knows they are moot; no effect on a key that is not being processed.
   */
  readonly retract: (key: K) => void;
  /** Stops intake and drops queued and delayed keys; takers get `None`. In-flight runs go on. */
  readonly shutDown: Effect.Effect<void>;
  readonly isShutDown: () => boolean;
}

/** A min-heap of (deadline, key); an entry whose deadline is no longer its key's is stale. */
class Deadlines<K> {
  private items: Array<{ readonly at: number; readonly key: K }> = [];

  get size(): number {
    return this.items.length;
  }

  peek(): { readonly at: number; readonly key: K } | undefined {
    return this.items[0];
  }

  push(at: number, key: K): void {
    const items = this.items;
    items.push({ at, key });
    let child = items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if ((items[parent] as { at: number }).at <= at) break;
      [items[parent], items[child]] = [items[child] as never, items[parent] as never];
      child = parent;
    }
  }

  pop(): void {
    const items = this.items;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    items[0] = last;
    let parent = 0;
    for (;;) {
      const left = parent * 2 + 1;
      const right = left + 1;
      let smallest = parent;
      if (
        left < items.length &&
        (items[left] as { at: number }).at < (items[smallest] as { at: number }).at
      )
        smallest = left;
      if (
        right < items.length &&
        (items[right] as { at: number }).at < (items[smallest] as { at: number }).at
      )
        smallest = right;
      if (smallest === parent) return;
      [items[parent], items[smallest]] = [items[smallest] as never, items[parent] as never];
      parent = smallest;
    }
  }

  /** Rebuilds from the live deadlines, dropping stale entries. */
  reset(live: ReadonlyMap<K, number>): void {
    this.items = [];
    for (const [key, at] of live) this.push(at, key);
  }
}

class KeyedQueue<K> implements WorkQueue<K> {
  private readonly queue: Array<K> = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  /** Each delayed key's deadline (ms on the `Clock`). */
  private readonly timers = new Map<K, number>();
  private readonly deadlines = new Deadlines<K>();
  /** When the alarm wakes next, and how to wake it sooner. */
  private alarmAt = Number.POSITIVE_INFINITY;
  private rouse: Deferred.Deferred<void> | undefined;
  private readonly takers: Array<(key: Option.Option<K>) => void> = [];
  private shuttingDown = false;

  constructor(private readonly backoff: BackoffOptions) {}

  depth = () => this.queue.length - this.head;
  inFlight = () => this.processing.size;
  delayed = () => this.timers.size;
  retries = (key: K) => this.failures.get(key) ?? 0;
  isShutDown = () => this.shuttingDown;
  forget = (key: K) => {
    this.failures.delete(key);
  };

  add = (key: K): void => {
    if (this.shuttingDown) return;
    this.cancelTimer(key);
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const taker = this.takers.shift();
    if (taker === undefined) {
      this.queue.push(key);
      return;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    taker(Option.some(key));
  };

  addAfter = (key: K, delayMs: number): Effect.Effect<void> =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      if (this.shuttingDown || this.dirty.has(key)) return;
      if (delayMs <= 0) return this.add(key);
      const deadline = now + delayMs;
      const existing = this.timers.get(key);
      if (existing !== undefined && existing <= deadline) return;
      this.schedule(key, deadline);
    });

  rescheduleAt = (key: K, at: number | undefined): void => {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.cancelTimer(key);
    if (at !== undefined) this.schedule(key, at);
  };

  private schedule(key: K, deadline: number): void {
    this.timers.set(key, deadline);
    this.deadlines.push(deadline, key);
    // Superseded and cancelled deadlines stay in the heap until popped: drop them if they pile up.
    if (this.deadlines.size > 2 * this.timers.size + 1024) this.deadlines.reset(this.timers);
    if (deadline < this.alarmAt && this.rouse !== undefined)
      Deferred.unsafeDone(this.rouse, Exit.void);
  }

  /** Adds the keys whose deadline has come, then sleeps until the next one or a sooner one. */
  alarm: Effect.Effect<never> = Effect.gen(this, function* () {
    for (;;) {
      const now = yield* Clock.currentTimeMillis;
      this.fireDue(now);
      const rouse = yield* Deferred.make<void>();
      this.rouse = rouse;
      this.alarmAt = this.deadlines.peek()?.at ?? Number.POSITIVE_INFINITY;
      yield* this.alarmAt === Number.POSITIVE_INFINITY
        ? Deferred.await(rouse)
        : Effect.race(Effect.sleep(this.alarmAt - now), Deferred.await(rouse));
    }
  });

  addRateLimited = (key: K): Effect.Effect<number> =>
    Effect.suspend(() => {
      const attempt = this.failures.get(key) ?? 0;
      this.failures.set(key, attempt + 1);
      const delayMs = backoffDelay(attempt, this.backoff);
      return Effect.as(this.addAfter(key, delayMs), delayMs);
    });

  take: Effect.Effect<Option.Option<K>> = Effect.suspend(() => {
    const key = this.next();
    if (key !== undefined) return Effect.succeed(Option.some(key));
    if (this.shuttingDown) return Effect.succeed(Option.none());
    return Effect.async<Option.Option<K>>((resume) => {
      const taker = (next: Option.Option<K>) => resume(Effect.succeed(next));
      this.takers.push(taker);
      return Effect.sync(() => {
        const index = this.takers.indexOf(taker);
        if (index >= 0) this.takers.splice(index, 1);
      });
    });
  });

  retract = (key: K): void => {
    if (this.processing.has(key)) this.dirty.delete(key);
  };

  done = (key: K): void => {
    this.processing.delete(key);
    if (!this.dirty.has(key)) return;
    this.dirty.delete(key);
    this.add(key);
  };

  shutDown: Effect.Effect<void> = Effect.sync(() => {
    this.shuttingDown = true;
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.timers.clear();
    this.deadlines.reset(this.timers);
    for (const taker of this.takers.splice(0)) taker(Option.none());
  });

  private fireDue(now: number): void {
    for (let next = this.deadlines.peek(); next !== undefined && next.at <= now; ) {
      this.deadlines.pop();
      if (this.timers.get(next.key) === next.at) {
        this.timers.delete(next.key);
        this.add(next.key);
      }
      next = this.deadlines.peek();
    }
  }

  /** The next queued key, now being processed. */
  private next(): K | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head] as K;
    this.head += 1;
    // Compact now and then rather than shifting an array of thousands on every take.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private cancelTimer(key: K): void {
    this.timers.delete(key);
  }
}

/** A work queue whose delayed adds live in the caller's scope. */
export const makeWorkQueue = <K>(
  backoff: BackoffOptions = { baseMs: 50, maxMs: 60_000 },
): Effect.Effect<WorkQueue<K>, never, Scope.Scope> =>
  Effect.suspend(() => {
    const queue = new KeyedQueue<K>(backoff);
    return Effect.as(Effect.forkScoped(Effect.interruptible(queue.alarm)), queue);
  });

/** The queue of workload keys (`Deployment/shop/cart`) the caches feed and the controller drains. */
export class WorkloadQueue extends Context.Tag("@odigos/instrumentor/WorkloadQueue")<
  WorkloadQueue,
  WorkQueue<string>
>() {}

/** One queue for the process; closing its scope drops delayed keys. */
export const WorkloadQueueLive: Layer.Layer<WorkloadQueue> = Layer.scoped(
  WorkloadQueue,
  makeWorkQueue<string>(),
);
