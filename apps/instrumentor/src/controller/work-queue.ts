/**
 * A keyed, de-duplicating work queue in the manner of client-go's: a key added while queued is
 * queued once; a key added while being processed is processed again after the current run;
 * failing keys back off exponentially per key; a delayed add keeps the earliest deadline.
 * Delays run on Effect's `Clock` (so tests drive them with `TestClock`), as fibers in the
 * queue's scope: closing the scope drops them.
 */
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as FiberId from "effect/FiberId";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import type * as Scope from "effect/Scope";
import { type BackoffOptions, backoffDelay } from "./backoff.js";

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
  /** Stops intake and drops queued and delayed keys; takers get `None`. In-flight runs go on. */
  readonly shutDown: Effect.Effect<void>;
  readonly isShutDown: () => boolean;
}

interface Timer {
  readonly deadline: number;
  readonly fiber: Fiber.RuntimeFiber<void>;
}

class KeyedQueue<K> implements WorkQueue<K> {
  private readonly queue: Array<K> = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly timers = new Map<K, Timer>();
  private readonly takers: Array<(key: Option.Option<K>) => void> = [];
  private shuttingDown = false;

  constructor(
    private readonly scope: Scope.Scope,
    private readonly backoff: BackoffOptions,
  ) {}

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
    Effect.gen(this, function* () {
      if (this.shuttingDown || this.dirty.has(key)) return;
      if (delayMs <= 0) return this.add(key);
      const deadline = (yield* Clock.currentTimeMillis) + delayMs;
      const existing = this.timers.get(key);
      if (existing !== undefined && existing.deadline <= deadline) return;
      this.cancelTimer(key);
      const fiber: Fiber.RuntimeFiber<void> = yield* Effect.sleep(delayMs).pipe(
        Effect.zipRight(
          Effect.sync(() => {
            if (this.timers.get(key)?.fiber === fiber) this.timers.delete(key);
            this.add(key);
          }),
        ),
        // Forked from a worker's uninterruptible reconcile: the timer itself must stay cancellable.
        Effect.interruptible,
        Effect.forkIn(this.scope),
      );
      this.timers.set(key, { deadline, fiber });
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

  done = (key: K): void => {
    this.processing.delete(key);
    if (!this.dirty.has(key)) return;
    this.dirty.delete(key);
    this.add(key);
  };

  shutDown: Effect.Effect<void> = Effect.suspend(() => {
    this.shuttingDown = true;
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    const fibers = [...this.timers.values()].map((timer) => timer.fiber);
    this.timers.clear();
    for (const taker of this.takers.splice(0)) taker(Option.none());
    return Fiber.interruptAll(fibers);
  });

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
    const timer = this.timers.get(key);
    if (timer === undefined) return;
    this.timers.delete(key);
    timer.fiber.unsafeInterruptAsFork(FiberId.none);
  }
}

/** A work queue whose delayed adds live in the caller's scope. */
export const makeWorkQueue = <K>(
  backoff: BackoffOptions = { baseMs: 50, maxMs: 60_000 },
): Effect.Effect<WorkQueue<K>, never, Scope.Scope> =>
  Effect.map(Effect.scope, (scope) => new KeyedQueue<K>(scope, backoff));

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
