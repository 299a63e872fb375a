import { describe, expect, it } from "@effect/vitest";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as Option from "effect/Option";
import * as TestClock from "effect/TestClock";
import { makeWorkQueue } from "./work-queue.js";

const takeNow = <K>(take: Effect.Effect<Option.Option<K>>) =>
  Effect.map(take, (key) => Option.getOrThrow(key));

describe("WorkQueue", () => {
  it.scoped("de-duplicates a key added while queued", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>();
      queue.add("a");
      queue.add("b");
      queue.add("a");
      expect(queue.depth()).toBe(2);
      expect(yield* takeNow(queue.take)).toBe("a");
      expect(yield* takeNow(queue.take)).toBe("b");
    }),
  );

  it.scoped("re-queues a key added while it is processed, once, after done", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>();
      queue.add("a");
      const key = yield* takeNow(queue.take);
      queue.add("a");
      queue.add("a");
      expect(queue.depth()).toBe(0);
      queue.done(key);
      expect(queue.depth()).toBe(1);
      expect(yield* takeNow(queue.take)).toBe("a");
    }),
  );

  it.scoped("takes back the adds made while a key is processed, and nothing else", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>();
      queue.add("a");
      queue.add("b");
      const key = yield* takeNow(queue.take);
      queue.add("a");
      queue.retract("a");
      queue.done(key);
      expect(queue.depth()).toBe(1);
      // b waits in the queue, not in a run: retracting it changes nothing.
      queue.retract("b");
      expect(yield* takeNow(queue.take)).toBe("b");
    }),
  );

  it.scoped("never hands the same key to two workers at once", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>();
      queue.add("a");
      const first = yield* takeNow(queue.take);
      queue.add("a");
      const second = yield* Effect.fork(queue.take);
      yield* Effect.yieldNow();
      expect(second.unsafePoll()).toBeNull();
      queue.done(first);
      expect(yield* Fiber.join(second)).toEqual(Option.some("a"));
    }),
  );

  it.scoped("backs off per key, exponentially and capped, on the clock", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>({ baseMs: 100, maxMs: 1_000 });
      const delays: Array<number> = [];
      for (let i = 0; i < 6; i++) delays.push(yield* queue.addRateLimited("a"));
      expect(queue.retries("a")).toBe(6);
      expect(delays[0]).toBeGreaterThanOrEqual(50);
      expect(delays[0]).toBeLessThanOrEqual(100);
      expect(delays[3]).toBeGreaterThanOrEqual(400);
      expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
      // The earliest deadline (the first, shortest delay) is the one kept.
      yield* TestClock.adjust(delays[0] ?? 0);
      expect(queue.depth()).toBe(1);
      queue.forget("a");
      expect(queue.retries("a")).toBe(0);
    }),
  );

  it.scoped("keeps the earliest deadline of delayed adds, and an add cancels the delay", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>();
      yield* queue.addAfter("a", 1_000);
      yield* queue.addAfter("a", 5_000);
      yield* TestClock.adjust(999);
      expect(queue.depth()).toBe(0);
      yield* TestClock.adjust(1);
      expect(queue.depth()).toBe(1);
      yield* takeNow(queue.take);
      queue.done("a");
      yield* queue.addAfter("a", 5_000);
      yield* queue.addAfter("a", 1_000);
      yield* TestClock.adjust(1_000);
      expect(queue.depth()).toBe(1);
      yield* takeNow(queue.take);
      queue.done("a");
      yield* queue.addAfter("b", 1_000);
      queue.add("b");
      yield* takeNow(queue.take);
      queue.done("b");
      expect(queue.delayed()).toBe(0);
      yield* TestClock.adjust(2_000);
      expect(queue.depth()).toBe(0);
    }),
  );

  it.scoped("moves a delayed add to a later time, or drops it; a queued key is left alone", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>();
      yield* queue.addAfter("a", 1_000);
      queue.rescheduleAt("a", 5_000);
      yield* TestClock.adjust(4_999);
      expect(queue.depth()).toBe(0);
      yield* TestClock.adjust(1);
      expect(queue.depth()).toBe(1);
      yield* takeNow(queue.take);
      queue.done("a");
      yield* queue.addAfter("a", 1_000);
      queue.rescheduleAt("a", undefined);
      expect(queue.delayed()).toBe(0);
      yield* TestClock.adjust(2_000);
      expect(queue.depth()).toBe(0);
      queue.add("b");
      queue.rescheduleAt("b", 60_000);
      expect(queue.delayed()).toBe(0);
      expect(yield* takeNow(queue.take)).toBe("b");
    }),
  );

  it.scoped("serves thousands of delayed keys by deadline, waking sooner for a sooner one", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<number>();
      // 3000 keys, shuffled, due at 1..10 s; every third one then cancelled by an add.
      const keys = Array.from({ length: 3_000 }, (_, i) => (i * 7_919) % 3_000);
      const dueSecond = (key: number) => 1 + (key % 10);
      for (const key of keys) yield* queue.addAfter(key, dueSecond(key) * 1_000);
      expect(queue.delayed()).toBe(3_000);
      const taken: Array<number> = [];
      const drain = Effect.gen(function* () {
        while (queue.depth() > 0) {
          const key = yield* takeNow(queue.take);
          taken.push(key);
          queue.done(key);
        }
        return taken.splice(0);
      });
      for (let key = 0; key < 3_000; key += 3) queue.add(key);
      expect((yield* drain).length).toBe(1_000);
      const kept = (second: number) =>
        keys.filter((key) => key % 3 !== 0 && dueSecond(key) === second).sort((a, b) => a - b);
      yield* TestClock.adjust(1_500);
      expect((yield* drain).sort((a, b) => a - b)).toEqual(kept(1));
      // The alarm sleeps until 2 s; a key due in 0.2 s must not wait for it.
      yield* queue.addAfter(-1, 200);
      yield* TestClock.adjust(200);
      expect(yield* drain).toEqual([-1]);
      yield* TestClock.adjust(300);
      expect((yield* drain).sort((a, b) => a - b)).toEqual(kept(2));
      yield* TestClock.adjust(8_000);
      expect((yield* drain).length).toBe(2_000 - kept(1).length - kept(2).length);
      expect(queue.delayed()).toBe(0);
    }),
  );

  it.scoped("shutting down wakes waiting takers with None, drops queued and delayed keys", () =>
    Effect.gen(function* () {
      const queue = yield* makeWorkQueue<string>();
      const waiting = yield* Effect.fork(queue.take);
      yield* Effect.yieldNow();
      queue.add("x");
      expect(yield* Fiber.join(waiting)).toEqual(Option.some("x"));
      queue.add("y");
      yield* queue.addAfter("z", 1_000);
      const next = yield* Effect.fork(Effect.zipRight(queue.take, queue.take));
      yield* queue.shutDown;
      expect(yield* Fiber.join(next)).toEqual(Option.none());
      queue.add("late");
      expect(queue.depth()).toBe(0);
      expect(yield* queue.take).toEqual(Option.none());
    }),
  );
});
