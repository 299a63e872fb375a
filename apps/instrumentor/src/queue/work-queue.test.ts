import { describe, expect, it } from "vitest";
import { WorkQueue } from "./work-queue.js";

describe("WorkQueue", () => {
  it("de-duplicates a key added while queued", async () => {
    const queue = new WorkQueue<string>();
    queue.add("a");
    queue.add("b");
    queue.add("a");
    expect(queue.depth).toBe(2);
    expect(await queue.get()).toBe("a");
    expect(await queue.get()).toBe("b");
  });

  it("re-queues a key added while it is processed, once, after done", async () => {
    const queue = new WorkQueue<string>();
    queue.add("a");
    const key = await queue.get();
    queue.add("a");
    queue.add("a");
    expect(queue.depth).toBe(0);
    queue.done(key ?? "");
    expect(queue.depth).toBe(1);
    expect(await queue.get()).toBe("a");
  });

  it("never hands the same key to two workers at once", async () => {
    const queue = new WorkQueue<string>();
    queue.add("a");
    const first = await queue.get();
    queue.add("a");
    const second = queue.get();
    let handed = false;
    void second.then(() => {
      handed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(handed).toBe(false);
    queue.done(first ?? "");
    expect(await second).toBe("a");
  });

  it("backs off per key, exponentially, and forgets on success", () => {
    const queue = new WorkQueue<string>({ baseMs: 100, maxMs: 1_000 });
    const delays = [1, 2, 3, 4, 5, 6].map(() => queue.addRateLimited("a"));
    expect(queue.retries("a")).toBe(6);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[3]).toBeGreaterThanOrEqual(400);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
    expect(queue.retries("b")).toBe(0);
    queue.forget("a");
    expect(queue.retries("a")).toBe(0);
  });

  it("delivers a delayed key after its delay unless added sooner", async () => {
    const queue = new WorkQueue<string>();
    queue.addAfter("a", 20);
    expect(queue.depth).toBe(0);
    const started = Date.now();
    expect(await queue.get()).toBe("a");
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    queue.done("a");
    queue.addAfter("b", 60_000);
    queue.add("b");
    expect(await queue.get()).toBe("b");
  });

  it("on shutdown wakes idle workers and waits for in-flight keys", async () => {
    const queue = new WorkQueue<string>();
    const idle = queue.get();
    queue.add("a");
    expect(await idle).toBe("a");
    const waiting = queue.get();
    let stopped = false;
    const shutdown = queue.shutDown().then(() => {
      stopped = true;
    });
    expect(await waiting).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    queue.done("a");
    await shutdown;
    expect(stopped).toBe(true);
    queue.add("c");
    expect(queue.depth).toBe(0);
  });
});
