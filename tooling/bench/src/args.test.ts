import { describe, expect, it } from "vitest";
import { parseBenchArgs } from "./args.js";

describe("bench flags", () => {
  it("has the issue's defaults", () => {
    const options = parseBenchArgs([]);
    expect(options.workloads).toBe(1000);
    expect(options.namespaces).toBe(20);
    expect(options.cycles).toBe(10);
    expect(options.coldStarts).toBe(3);
    expect(options.flips).toBe(200);
    expect(options.steadySeconds).toBe(30);
    expect(options.floorConcurrencies).toEqual([8, 16, 32, 64]);
    expect(options.rollouts).toBe(true);
  });

  it("leaves Rollouts out with --no-rollouts, and with --pods", () => {
    expect(parseBenchArgs(["--no-rollouts"]).rollouts).toBe(false);
    expect(parseBenchArgs(["--pods"]).rollouts).toBe(false);
  });

  it("ignores pnpm's `--` and splits node args", () => {
    const options = parseBenchArgs([
      "--",
      "--workloads",
      "5000",
      "--instrumentor-node-args=--cpu-prof --cpu-prof-dir=/tmp/prof",
      "--floor-concurrency=8,32",
      "--cold-starts=0",
    ]);
    expect(options.workloads).toBe(5000);
    expect(options.coldStarts).toBe(0);
    expect(options.instrumentorNodeArgs).toEqual(["--cpu-prof", "--cpu-prof-dir=/tmp/prof"]);
    expect(options.floorConcurrencies).toEqual([8, 32]);
  });

  it("takes extra environment for the instrumentor as KEY=VALUE words", () => {
    expect(parseBenchArgs([]).instrumentorEnv).toEqual({});
    expect(
      parseBenchArgs(["--instrumentor-env", "MALLOC_ARENA_MAX=2 NODE_OPTIONS=--a=b"])
        .instrumentorEnv,
    ).toEqual({ MALLOC_ARENA_MAX: "2", NODE_OPTIONS: "--a=b" });
    expect(() => parseBenchArgs(["--instrumentor-env", "=1"])).toThrow(/KEY=VALUE.*"=1"/);
  });

  it("runs with pods on demand: budgets 50 and unlimited, 2 replicas on 20 nodes", () => {
    expect(parseBenchArgs([]).pods).toBe(false);
    const options = parseBenchArgs(["--pods"]);
    expect(options.pods).toBe(true);
    expect(options.budgets).toEqual([50, 0]);
    expect(options.uninstrumentBudget).toBe(0);
    expect(options.nodes).toBe(20);
    expect(options.replicas).toBe(2);
    expect(parseBenchArgs(["--pods", "--budgets=50", "--replicas", "3"])).toMatchObject({
      budgets: [50],
      replicas: 3,
    });
    expect(() => parseBenchArgs(["--budgets=10,-1"])).toThrow(/--budgets/);
  });

  it("times the plugin 5 times unless told otherwise", () => {
    expect(parseBenchArgs([]).pluginRuns).toBe(5);
    expect(parseBenchArgs(["--plugin-runs", "3"]).pluginRuns).toBe(3);
    expect(parseBenchArgs(["--no-plugin"]).pluginRuns).toBe(0);
    expect(() => parseBenchArgs(["--plugin-runs", "0"])).toThrow(/--plugin-runs/);
  });

  it("rejects nonsense", () => {
    expect(() => parseBenchArgs(["--workloads", "0"])).toThrow(/--workloads/);
    expect(() => parseBenchArgs(["--nope"])).toThrow();
  });
});
