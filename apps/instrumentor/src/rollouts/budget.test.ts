import { describe, expect, it } from "vitest";
import { idleResetMs, RolloutBudget } from "./budget.js";

const keys = (n: number, prefix = "w") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Asks for a slot for every key; returns those granted. */
const ask = (budget: RolloutBudget, names: ReadonlyArray<string>, now = 0) =>
  names.filter((key) => budget.request(key, now)._tag === "Granted");

describe("rollout budget", () => {
  it("starts a mass change in waves of 1, 2, 4, 8, then keeps the cap with a sliding window", () => {
    const budget = new RolloutBudget(10);
    const all = keys(40);
    const waves: Array<number> = [];
    let pending = [...all];
    for (let round = 0; round < 4; round++) {
      const started = ask(budget, pending);
      waves.push(started.length);
      pending = pending.filter((key) => !started.includes(key));
      for (const key of started) budget.release(key, "completed", 0);
    }
    expect(waves).toEqual([1, 2, 4, 8]);
    // At the cap: 10 in flight, and each completion lets exactly one more start.
    const atCap = ask(budget, pending);
    expect(atCap).toHaveLength(10);
    expect(budget.figures).toMatchObject({ inFlight: 10, window: 10 });
    pending = pending.filter((key) => !atCap.includes(key));
    const woken = budget.release(atCap[0] ?? "", "completed", 0);
    expect(woken).toEqual([pending[0]]);
    expect(ask(budget, pending)).toEqual([pending[0]]);
  });

  it("a rollback keeps the slot of the rollout it undoes, counted from the rollback's write", () => {
    const budget = new RolloutBudget(1);
    expect(ask(budget, ["a"], 1_000)).toEqual(["a"]);
    budget.fail("a");
    budget.restart("a", 61_000);
    expect(budget.inFlightSince("a")).toBe(61_000);
    expect(budget.figures).toMatchObject({ inFlight: 1, window: 1 });
    // Only a rollout in flight is restarted: nothing else takes a slot by it.
    budget.restart("b", 61_000);
    expect(budget.isInFlight("b")).toBe(false);
  });

  it("serves waiting workloads oldest first, and puts a rollback at the front of the line", () => {
    const budget = new RolloutBudget(1);
    expect(ask(budget, ["a"])).toEqual(["a"]);
    expect(budget.request("b", 1)).toEqual({ _tag: "Waiting", position: 1, inFlight: 1, limit: 1 });
    expect(budget.request("c", 2)).toMatchObject({ _tag: "Waiting", position: 2 });
    expect(budget.request("r", 3, { priority: true })).toMatchObject({
      _tag: "Waiting",
      position: 1,
    });
    expect(budget.release("a", "completed", 4)).toEqual(["r"]);
    expect(budget.request("c", 5)._tag).toBe("Waiting");
    expect(budget.request("r", 5)._tag).toBe("Granted");
  });

  it("a failed or stuck rollout starts the waves over at 1", () => {
    const budget = new RolloutBudget(10);
    for (const key of ask(budget, ["a"])) budget.release(key, "completed", 0);
    const two = ask(budget, keys(5));
    expect(two).toHaveLength(2);
    budget.release(two[0] ?? "", "failed", 0);
    budget.release(two[1] ?? "", "completed", 0);
    expect(ask(budget, keys(5))).toHaveLength(1);
  });

  it("counts rollouts found in flight in the cluster (after a restart) against the cap", () => {
    const budget = new RolloutBudget(3);
    budget.track("old-1", 0);
    budget.track("old-2", 0);
    budget.track("old-3", 0);
    expect(ask(budget, ["new"])).toEqual([]);
    expect(budget.isInFlight("old-1")).toBe(true);
    expect(budget.release("old-1", "completed", 0)).toEqual(["new"]);
    expect(ask(budget, ["new"])).toEqual(["new"]);
    // A workload in flight keeps its slot when it asks again (an SDK swap, a rollback).
    expect(budget.request("old-2", 0)._tag).toBe("Granted");
  });

  it("is back to waves of 1 after it was idle, and unlimited when max is 0", () => {
    const budget = new RolloutBudget(8);
    let pending = keys(15, "r");
    while (pending.length > 0) {
      const started = ask(budget, pending);
      pending = pending.filter((key) => !started.includes(key));
      for (const key of started) budget.release(key, "completed", 0);
    }
    expect(budget.figures.window).toBe(8);
    expect(ask(budget, keys(3, "soon"), idleResetMs - 1)).toHaveLength(3);
    for (const key of keys(3, "soon")) budget.release(key, "completed", idleResetMs);
    expect(ask(budget, keys(3, "later"), 2 * idleResetMs + 1)).toHaveLength(1);
    const unlimited = new RolloutBudget(0);
    expect(ask(unlimited, keys(500))).toHaveLength(500);
    expect(unlimited.figures).toEqual({ inFlight: 500, waiting: 0, window: 0 });
  });
});
