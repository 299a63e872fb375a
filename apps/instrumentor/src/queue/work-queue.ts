/**
 * A keyed, de-duplicating work queue in the manner of client-go's: a key
 * added while queued is queued once; a key added while being processed is
 * processed again after the current run; failing keys back off exponentially
 * per key; a bounded number of workers take keys.
 */
import { type BackoffOptions, backoffDelay } from "./backoff.js";

export class WorkQueue<K> {
  private readonly queue: Array<K> = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, NodeJS.Timeout>();
  private readonly waiters: Array<(key: K | undefined) => void> = [];
  private shuttingDown = false;
  private drained: (() => void) | undefined;

  constructor(private readonly backoff: BackoffOptions = { baseMs: 50, maxMs: 60_000 }) {}

  /** Keys waiting to be processed (not counting delayed ones). */
  get depth(): number {
    return this.queue.length;
  }

  /** Keys currently being processed. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Queues a key now (or after its current run). */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    const timer = this.delayed.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.delayed.delete(key);
    }
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Queues a key after a delay, unless something queues it sooner. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown || this.dirty.has(key) || this.delayed.has(key)) return;
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, timer);
  }

  /** Queues a failed key after its next per-key backoff delay; returns the delay. */
  addRateLimited(key: K): number {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    const delayMs = backoffDelay(attempt, this.backoff);
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Clears a key's failure count after a success. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Takes the next key, waiting for one; `undefined` once shut down and empty. */
  get(): Promise<K | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key's run finished; re-queues it if it was added meanwhile. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      if (!this.shuttingDown) {
        this.add(key);
      }
    }
    if (this.shuttingDown && this.processing.size === 0) this.drained?.();
  }

  /** Stops intake, drops queued and delayed keys, and waits for in-flight runs to finish. */
  async shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
    });
  }
}
