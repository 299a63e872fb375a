/** Flags and environment, validated once at start (SPEC section 7). */
import { parseArgs } from "node:util";
import { odigosNamespaceFrom } from "@odigos/crd-types";
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Either from "effect/Either";

/** A listen address: `:8080`, `127.0.0.1:0`, or disabled with `0`. */
export type BindAddress =
  | { readonly _tag: "Disabled" }
  | { readonly _tag: "Listen"; readonly host: string; readonly port: number };

export interface InstrumentorConfig {
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

const parseBoolean = (
  flag: string,
  value: string | boolean | undefined,
): Either.Either<boolean, string> => {
  if (value === undefined || value === true || value === "" || value === "true")
    return Either.right(true);
  if (value === false || value === "false") return Either.right(false);
  return Either.left(`--${flag}=${JSON.stringify(value)} must be true or false`);
};

/** Go flags accept `--leader-elect=false`; node's parser wants a value-less boolean, so split it here. */
const normaliseBooleanFlags = (
  argv: ReadonlyArray<string>,
): { argv: Array<string>; leaderElect?: string } => {
  const rest: Array<string> = [];
  let leaderElect: string | undefined;
  for (const arg of argv) {
    const match = /^--?leader-elect(?:=(.*))?$/.exec(arg);
    if (match === null) rest.push(arg);
    else leaderElect = match[1] ?? "true";
  }
  return leaderElect === undefined ? { argv: rest } : { argv: rest, leaderElect };
};

export const parseConfig = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>,
): Either.Either<InstrumentorConfig, ConfigError> => {
  const normalised = normaliseBooleanFlags(argv);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: normalised.argv,
      options: {
        "metrics-bind-address": { type: "string", default: ":8080" },
        "health-probe-bind-address": { type: "string", default: ":8081" },
        "leader-election-id": { type: "string", default: "instrumentor.odigos.io" },
        "max-concurrent-reconciles": { type: "string", default: "8" },
        "log-level": { type: "string", default: "info" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return Either.left(new ConfigError({ problems: [(error as Error).message] }));
  }
  const problems: Array<string> = [];
  const take = <A>(result: Either.Either<A, string>, fallback: A): A => {
    if (Either.isLeft(result)) {
      problems.push(result.left);
      return fallback;
    }
    return result.right;
  };
  const disabled: BindAddress = { _tag: "Disabled" };
  const metricsBindAddress = take(
    parseBindAddress("metrics-bind-address", String(values["metrics-bind-address"])),
    disabled,
  );
  const healthProbeBindAddress = take(
    parseBindAddress("health-probe-bind-address", String(values["health-probe-bind-address"])),
    disabled,
  );
  const leaderElect = take(parseBoolean("leader-elect", normalised.leaderElect ?? "false"), false);
  const workers = Number(values["max-concurrent-reconciles"]);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    problems.push(
      `--max-concurrent-reconciles=${JSON.stringify(values["max-concurrent-reconciles"])} must be a whole number from 1 to 256`,
    );
  }
  const logLevel = String(values["log-level"]);
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    problems.push(
      `--log-level=${JSON.stringify(logLevel)} must be one of debug, info, warn, error`,
    );
  }
  const odigosNamespace = odigosNamespaceFrom(env);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(odigosNamespace)) {
    problems.push(`CURRENT_NS=${JSON.stringify(odigosNamespace)} is not a valid namespace name`);
  }
  const leaderElectionId = String(values["leader-election-id"]);
  if (problems.length > 0) return Either.left(new ConfigError({ problems }));
  return Either.right({
    metricsBindAddress,
    healthProbeBindAddress,
    leaderElect,
    leaderElectionId,
    odigosNamespace,
    maxConcurrentReconciles: workers,
    logLevel: logLevel as InstrumentorConfig["logLevel"],
  });
};
