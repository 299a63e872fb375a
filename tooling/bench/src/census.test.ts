import { describe, expect, it } from "vitest";
import { peakRolling, RolloutCensus, summarizeRestarts } from "./census.js";

describe("the rollout census", () => {
  it("counts the most and the mean rolling in a window", () => {
    const census = new RolloutCensus();
    census.setRolling("a", true, 0, 1);
    census.begin(100);
    census.setRolling("b", true, 100, 2);
    census.setRolling("c", true, 150, 3);
    census.setRolling("a", false, 200, 4);
    census.setRolling("b", false, 300, 5);
    census.setRolling("c", false, 300, 6);
    const figures = census.figures(400);
    expect(figures.maxRolling).toBe(3);
    // 2 for 50 ms, 3 for 50, 2 for 100, 0 for 100: 400 / 300 ms.
    expect(figures.meanRolling).toBeCloseTo((2 * 50 + 3 * 50 + 2 * 100) / 300);
    expect(census.rollingCount).toBe(0);
    // Each rollout completed in the window, from when it was first seen rolling.
    expect(figures.rolloutMs).toEqual([200, 200, 150]);
  });

  it("orders transitions by resourceVersion, not by arrival across watches", () => {
    // The StatefulSet watch delivers x's completion (version 10) after the Deployment watch
    // delivered y's start (version 11): by arrival both roll at once, by version never.
    expect(
      peakRolling(
        ["x"],
        [
          { version: 11, key: "y", rolling: true },
          { version: 10, key: "x", rolling: false },
        ],
      ),
    ).toBe(1);
    const census = new RolloutCensus();
    census.setRolling("x", true, 0, 5);
    census.begin(1);
    census.setRolling("y", true, 2, 11);
    census.setRolling("x", false, 3, 10);
    expect(census.figures(4).maxRolling).toBe(1);
  });

  it("counts pods by UID: created, started, deleted, never ran, revisions per workload", () => {
    const census = new RolloutCensus();
    census.podSeen("old-1", "w", "r1", true, true);
    census.podSeen("old-2", "w", "r1", true, true);
    census.begin(0);
    census.podSeen("new-1", "w", "r2", false);
    census.podSeen("new-1", "w", "r2", true);
    census.podSeen("new-1", "w", "r2", true);
    census.podGone("old-1");
    // The same name again (a StatefulSet pod): a new UID, deleted before it ran, then again.
    census.podSeen("new-2a", "w", "r2", false);
    census.podGone("new-2a");
    census.podSeen("new-2b", "w", "r2", true);
    census.podGone("old-2");
    census.podGone("never-seen");
    census.podSeen("stray", undefined, undefined, true);
    const figures = census.figures(1);
    expect(figures.podsCreated).toBe(4);
    expect(figures.podsDeleted).toBe(3);
    expect(figures.podsStillborn).toBe(1);
    expect(figures.perWorkload.get("w")).toEqual({ created: 3, started: 2, revisions: 1 });
    expect(census.podCount).toBe(3);
  });

  it("counts only pods created in the window as started in it", () => {
    const census = new RolloutCensus();
    census.begin(0);
    census.podSeen("p", "w", "r1", false);
    census.begin(1);
    census.podSeen("p", "w", "r1", true);
    expect(census.figures(2).perWorkload.size).toBe(0);
  });
});

describe("restarts per workload", () => {
  it("tells a double rollout from a pod replaced again and from an unfinished rollout", () => {
    const summary = summarizeRestarts(
      new Map([
        ["ok", { created: 2, started: 2, revisions: 1 }],
        ["double", { created: 4, started: 4, revisions: 2 }],
        ["again", { created: 3, started: 3, revisions: 1 }],
        ["stillborn", { created: 3, started: 2, revisions: 1 }],
        ["short", { created: 1, started: 1, revisions: 1 }],
        ["bystander", { created: 1, started: 1, revisions: 1 }],
      ]),
      new Map([
        ["ok", 2],
        ["double", 2],
        ["again", 2],
        ["stillborn", 2],
        ["short", 2],
        ["untouched", 2],
      ]),
    );
    expect(summary.exact).toBe(2);
    expect(summary.doubleRollouts.map((one) => one.workload)).toEqual(["double"]);
    expect(summary.more.map((one) => one.workload)).toEqual(["again"]);
    expect(summary.fewer.map((one) => one.workload)).toEqual(["untouched", "short"]);
    expect(summary.unchangedStarted).toBe(1);
    expect(summary.meanStarted).toBeCloseTo(12 / 6);
    expect(summary.meanCreated).toBeCloseTo(13 / 6);
  });

  it("has nothing to say about a phase that changed nothing", () => {
    const summary = summarizeRestarts(new Map(), new Map());
    expect(summary).toMatchObject({ exact: 0, meanStarted: 0, unchangedStarted: 0 });
  });
});
