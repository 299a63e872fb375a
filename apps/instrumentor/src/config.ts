/** Flags and environment, validated once at start (SPEC sections 7 and 8). */
import { parseArgs } from "node:util";
import { odigosNamespaceFrom } from "@odigos/crd-types";
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Either from "effect/Either";

/** A listen address: `:8080`, `127.0.0.1:0`, or disabled with `0`. */
export type BindAddress =
  | { readonly _tag: "Disabled" }
  | { readonly _tag: "Listen"; readonly host: string; readonly port: number };

/** How the instrumentor paces and guards the rollouts it causes (SPEC section 8). */
export interface RolloutSettings {
  /** Workloads rolling because of the instrumentor at once; 0 = unlimited. */
  readonly maxConcurrentRollouts: number;
  /** A rollout not complete after this long frees its slot and is reported as stuck. */
  readonly rolloutTimeoutMs: number;
  /** Collectors not ready for less than this remove no device; 0 = remove at once. */
  readonly collectorsUnreadyGraceMs: number;
  /** Restarts of a container of an instrumented pod that count as a crash loop; 0 = never roll back. */
  readonly rollbackRestarts: number;
  /** How long after its instrumentation a workload's crash loop is blamed on it and rolled back. */
  readonly rollbackWindowMs: number;
  /** Rollbacks within the window that open the circuit breaker; 0 = no breaker. */
  readonly breakerThreshold: number;
  readonly breakerWindowMs: number;
  /** Put-backs of devices another writer removed, within the window, before stopping; 0 = never stop. */
  readonly fightLimit: number;
  readonly fightWindowMs: number;
  /** Compute and report every write, make none. */
  readonly dryRun: boolean;
}

export interface InstrumentorConfig extends RolloutSettings {
  readonly metricsBindAddress: BindAddress;
  readonly healthProbeBindAddress: BindAddress;
  readonly leaderElect: boolean;
  readonly leaderElectionId: string;
  readonly odigosNamespace: string;
  readonly maxConcurrentReconciles: number;
  readonly logLevel: "debug" | "info" | "warn" | "error";
}

/** The validated flags and environment of this process. */
export class Config extends Context.Tag("@odigos/instrumentor/Config")<
  Config,
  InstrumentorConfig
>() {}

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly problems: ReadonlyArray<string>;
}> {
  override get message(): string {
    return `invalid configuration: ${this.problems.join("; ")}`;
  }
}

export const usage = `Usage: odigos-instrumentor [flags]

  --metrics-bind-address ADDR        Prometheus /metrics listen address, "0" disables (default ":8080")
  --health-probe-bind-address ADDR   /healthz and /readyz listen address (default ":8081")
  --leader-elect[=true|false]        Elect a leader through a Lease in the Odigos namespace (default false)
  --leader-election-id NAME          Lease name (default "instrumentor.odigos.io")
  --max-concurrent-reconciles N      Workloads reconciled at once (default 8)
  --log-level LEVEL                  debug, info, warn or error (default "info")

Rollouts (each device change restarts the workload's pods):
  --max-concurrent-rollouts N        Workloads rolling because of the instrumentor at once, started
                                     1, 2, 4, ... while they complete healthy; 0 = unlimited (default 20)
  --rollout-timeout DURATION         A rollout not complete by then frees its slot, reported stuck (default 10m)
  --collectors-unready-grace DURATION  Keep devices while collectors are not ready for less than this (default 2m)
  --rollback-restarts N              Restarts of an instrumented container that mean a crash loop and
                                     roll the instrumentation back; 0 = never (default 3)
  --rollback-window DURATION         Crash loops this long after instrumenting are rolled back (default 1h)
  --breaker-threshold N              Rollbacks within the breaker window that stop all new
                                     instrumentation until odigos-config changes; 0 = never (default 3)
  --breaker-window DURATION          (default 1h)
  --fight-limit N                    Put back devices another writer removed at most N times per fight
                                     window, then stop and report it; 0 = always put back (default 3)
  --fight-window DURATION            (default 10m)
  --dry-run[=true|false]             Report every write it would make (log, /dry-run), make none

Durations: 90s, 10m, 1h30m, 500ms.
Environment: CURRENT_NS is the Odigos namespace (default "odigos-system").
Credentials: in-cluster service account, else KUBECONFIG, else ~/.kube/config.`;

/** Parses `:8080`, `host:port`, `[::1]:port`, or `0`. */
export const parseBindAddress = (
  flag: string,
  value: string,
): Either.Either<BindAddress, string> => {
  if (value === "0") return Either.right({ _tag: "Disabled" });
  const match = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    return Either.left(
      `--${flag}=${JSON.stringify(value)} is not a listen address (expected ":8080", "127.0.0.1:8080" or "0" to disable)`,
    );
  }
  const host = (match[1] ?? "").replace(/^\[|\]$/g, "");
  return Either.right({ _tag: "Listen", host: host === "" ? "0.0.0.0" : host, port });
};

const units: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration (`90s`, `1h30m`, `500ms`, `0`) into milliseconds. */
export const parseDuration = (flag: string, value: string): Either.Either<number, string> => {
  if (value === "0") return Either.right(0);
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== value)
    return Either.left(
      `--${flag}=${JSON.stringify(value)} is not a duration (e.g. "90s", "10m", "1h30m")`,
    );
  return Either.right(
    parts.reduce((sum, part) => sum + Number(part[1]) * (units[part[2] ?? "ms"] ?? 1), 0),
  );
};

const parseBoolean = (flag: string, value: string | undefined): Either.Either<boolean, string> => {
  if (value === undefined || value === "" || value === "true") return Either.right(true);
  if (value === "false") return Either.right(false);
  return Either.left(`--${flag}=${JSON.stringify(value)} must be true or false`);
};

const parseCount = (
  flag: string,
  value: string,
  min: number,
  max: number,
): Either.Either<number, string> => {
  const number = Number(value);
  return Number.isInteger(number) && number >= min && number <= max
    ? Either.right(number)
    : Either.left(
        `--${flag}=${JSON.stringify(value)} must be a whole number from ${min} to ${max}`,
      );
};

/** Boolean flags: Go accepts `--flag=false`; node's parser wants value-less booleans, so they are split off here. */
const booleanFlags = ["leader-elect", "dry-run"] as const;

const splitBooleans = (argv: ReadonlyArray<string>) => {
  const rest: Array<string> = [];
  const booleans: Partial<Record<(typeof booleanFlags)[number], string>> = {};
  for (const arg of argv) {
    const match = /^--?(leader-elect|dry-run)(?:=(.*))?$/.exec(arg);
    if (match === null) rest.push(arg);
    else booleans[match[1] as (typeof booleanFlags)[number]] = match[2] ?? "true";
  }
  return { rest, booleans };
};

const stringFlags = {
  "metrics-bind-address": ":8080",
  "health-probe-bind-address": ":8081",
  "leader-election-id": "instrumentor.odigos.io",
  "max-concurrent-reconciles": "8",
  "log-level": "info",
  "max-concurrent-rollouts": "20",
  "rollout-timeout": "10m",
  "collectors-unready-grace": "2m",
  "rollback-restarts": "3",
  "rollback-window": "1h",
  "breaker-threshold": "3",
  "breaker-window": "1h",
  "fight-limit": "3",
  "fight-window": "10m",
} as const;
type StringFlag = keyof typeof stringFlags;

/** Collects every problem instead of stopping at the first. */
const collector = () => {
  const problems: Array<string> = [];
  const take = <A>(result: Either.Either<A, string>, fallback: A): A => {
    if (Either.isRight(result)) return result.right;
    problems.push(result.left);
    return fallback;
  };
  return { problems, take };
};

const rolloutSettings = (
  value: (flag: StringFlag) => string,
  take: <A>(result: Either.Either<A, string>, fallback: A) => A,
  dryRun: boolean,
): RolloutSettings => {
  const duration = (flag: StringFlag) => take(parseDuration(flag, value(flag)), 0);
  const count = (flag: StringFlag, max: number) => take(parseCount(flag, value(flag), 0, max), 0);
  return {
    maxConcurrentRollouts: count("max-concurrent-rollouts", 100_000),
    rolloutTimeoutMs: duration("rollout-timeout"),
    collectorsUnreadyGraceMs: duration("collectors-unready-grace"),
    rollbackRestarts: count("rollback-restarts", 1_000),
    rollbackWindowMs: duration("rollback-window"),
    breakerThreshold: count("breaker-threshold", 100_000),
    breakerWindowMs: duration("breaker-window"),
    fightLimit: count("fight-limit", 1_000),
    fightWindowMs: duration("fight-window"),
    dryRun,
  };
};

export const parseConfig = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>,
): Either.Either<InstrumentorConfig, ConfigError> => {
  const { rest, booleans } = splitBooleans(argv);
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(stringFlags).map(([flag, value]) => [
        flag,
        { type: "string" as const, default: value },
      ]),
    );
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    return Either.left(new ConfigError({ problems: [(error as Error).message] }));
  }
  const value = (flag: StringFlag) => String(values[flag]);
  const { problems, take } = collector();
  const disabled: BindAddress = { _tag: "Disabled" };
  const logLevel = value("log-level");
  const odigosNamespace = odigosNamespaceFrom(env);
  const config: InstrumentorConfig = {
    metricsBindAddress: take(
      parseBindAddress("metrics-bind-address", value("metrics-bind-address")),
      disabled,
    ),
    healthProbeBindAddress: take(
      parseBindAddress("health-probe-bind-address", value("health-probe-bind-address")),
      disabled,
    ),
    leaderElect: take(parseBoolean("leader-elect", booleans["leader-elect"] ?? "false"), false),
    leaderElectionId: value("leader-election-id"),
    odigosNamespace,
    maxConcurrentReconciles: take(
      parseCount("max-concurrent-reconciles", value("max-concurrent-reconciles"), 1, 256),
      1,
    ),
    logLevel: logLevel as InstrumentorConfig["logLevel"],
    ...rolloutSettings(
      value,
      take,
      take(parseBoolean("dry-run", booleans["dry-run"] ?? "false"), false),
    ),
  };
  if (!["debug", "info", "warn", "error"].includes(logLevel))
    problems.push(
      `--log-level=${JSON.stringify(logLevel)} must be one of debug, info, warn, error`,
    );
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(odigosNamespace))
    problems.push(`CURRENT_NS=${JSON.stringify(odigosNamespace)} is not a valid namespace name`);
  return problems.length > 0 ? Either.left(new ConfigError({ problems })) : Either.right(config);
};
