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
    });
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
