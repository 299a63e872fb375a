import * as Either from "effect/Either";
import { describe, expect, it } from "vitest";
import { parseBindAddress, parseConfig } from "./config.js";

const ok = (argv: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const result = parseConfig(argv, env);
  if (Either.isLeft(result)) throw new Error(result.left.message);
  return result.right;
};

const problems = (argv: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const result = parseConfig(argv, env);
  if (Either.isRight(result)) throw new Error("expected a configuration error");
  return result.left.problems;
};

describe("configuration", () => {
  it("has the Go instrumentor's defaults", () => {
    expect(ok([])).toEqual({
      metricsBindAddress: { _tag: "Listen", host: "0.0.0.0", port: 8080 },
      healthProbeBindAddress: { _tag: "Listen", host: "0.0.0.0", port: 8081 },
      leaderElect: false,
      leaderElectionId: "instrumentor.odigos.io",
      odigosNamespace: "odigos-system",
      maxConcurrentReconciles: 8,
      logLevel: "info",
      maxConcurrentRollouts: 20,
      rolloutTimeoutMs: 600_000,
      collectorsUnreadyGraceMs: 120_000,
      rollbackRestarts: 3,
      rollbackWindowMs: 3_600_000,
      breakerThreshold: 3,
      breakerWindowMs: 3_600_000,
      fightLimit: 3,
      fightWindowMs: 600_000,
      dryRun: false,
    });
  });

  it("reads the rollout flags, durations in Go's notation", () => {
    const config = ok([
      "--max-concurrent-rollouts=0",
      "--rollout-timeout=1m30s",
      "--collectors-unready-grace=0",
      "--rollback-restarts=5",
      "--rollback-window=2h",
      "--breaker-threshold=1",
      "--breaker-window=500ms",
      "--fight-limit=2",
      "--fight-window=45s",
      "--dry-run",
    ]);
    expect(config).toMatchObject({
      maxConcurrentRollouts: 0,
      rolloutTimeoutMs: 90_000,
      collectorsUnreadyGraceMs: 0,
      rollbackRestarts: 5,
      rollbackWindowMs: 7_200_000,
      breakerThreshold: 1,
      breakerWindowMs: 500,
      fightLimit: 2,
      fightWindowMs: 45_000,
      dryRun: true,
    });
    expect(ok(["--dry-run=false"]).dryRun).toBe(false);
    expect(problems(["--rollout-timeout=10", "--max-concurrent-rollouts=-1"])).toEqual([
      '--max-concurrent-rollouts="-1" must be a whole number from 0 to 100000',
      '--rollout-timeout="10" is not a duration (e.g. "90s", "10m", "1h30m")',
    ]);
  });

  it("reads CURRENT_NS and the Go-style flags", () => {
    const config = ok(
      [
        "--metrics-bind-address=127.0.0.1:0",
        "--health-probe-bind-address",
        "[::1]:9000",
        "--leader-elect",
      ],
      { CURRENT_NS: "odigos" },
    );
    expect(config.metricsBindAddress).toEqual({ _tag: "Listen", host: "127.0.0.1", port: 0 });
    expect(config.healthProbeBindAddress).toEqual({ _tag: "Listen", host: "::1", port: 9000 });
    expect(config.leaderElect).toBe(true);
    expect(config.odigosNamespace).toBe("odigos");
  });

  it.each([
    ["--leader-elect=true", true],
    ["--leader-elect=false", false],
    ["-leader-elect", true],
  ])("accepts %s", (flag, expected) => {
    expect(ok([flag]).leaderElect).toBe(expected);
  });

  it("disables metrics with 0", () => {
    expect(ok(["--metrics-bind-address=0"]).metricsBindAddress).toEqual({ _tag: "Disabled" });
  });

  it("names every bad value at once", () => {
    expect(
      problems(
        ["--metrics-bind-address=8080", "--leader-elect=maybe", "--max-concurrent-reconciles=0"],
        {
          CURRENT_NS: "Not_A_Namespace",
        },
      ),
    ).toEqual([
      '--metrics-bind-address="8080" is not a listen address (expected ":8080", "127.0.0.1:8080" or "0" to disable)',
      '--leader-elect="maybe" must be true or false',
      '--max-concurrent-reconciles="0" must be a whole number from 1 to 256',
      'CURRENT_NS="Not_A_Namespace" is not a valid namespace name',
    ]);
  });

  it("rejects unknown flags", () => {
    expect(problems(["--metrics-addr=:8080"])[0]).toContain("--metrics-addr");
  });

  it("rejects ports out of range", () => {
    expect(Either.isLeft(parseBindAddress("x", ":70000"))).toBe(true);
  });
});
