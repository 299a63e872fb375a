/** What `status` and `explain` do, as Effects over `KubeClient`: read a snapshot, then render. */
import type { KubeClient, KubeError } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Option from "effect/Option";
import { explainLines, parseTarget } from "./explain.js";
import { type FleetOptions, fleetReport, statusIn } from "./fleet.js";
import { renderStatus } from "./render.js";
import { readSnapshot } from "./snapshot.js";

/** The operator's default `--rollout-timeout`. */
const rolloutTimeoutMs = 10 * 60_000;

const fleetOptions = (): FleetOptions => ({ now: Date.now(), rolloutTimeoutMs });

export interface StatusArgs {
  readonly namespace: Option.Option<string>;
  readonly allNamespaces: boolean;
  readonly output: "table" | "wide" | "json";
  readonly odigosNamespace: string;
}

/** `status`: the text (or JSON) to print. */
export const statusCommand = (
  args: StatusArgs,
  currentNamespace = "default",
): Effect.Effect<string, KubeError, KubeClient> =>
  Effect.map(
    readSnapshot({
      namespace: args.allNamespaces
        ? undefined
        : Option.getOrElse(args.namespace, () => currentNamespace),
      odigosNamespace: args.odigosNamespace,
    }),
    (snapshot) => {
      const report = fleetReport(snapshot, fleetOptions());
      return args.output === "json"
        ? JSON.stringify(report, null, 2)
        : renderStatus(report, args.output === "wide");
    },
  );

export interface ExplainArgs {
  readonly target: string;
  readonly output: "table" | "wide" | "json";
  readonly odigosNamespace: string;
}

/** The user gave something that is not a workload: said in one line, exit code 1. */
export class BadTarget extends Error {}

/** `explain`: the text (or JSON) to print. */
export const explainCommand = (
  args: ExplainArgs,
): Effect.Effect<string, KubeError | BadTarget, KubeClient> =>
  Effect.gen(function* () {
    const target = parseTarget(args.target);
    if (Either.isLeft(target)) return yield* Effect.fail(new BadTarget(target.left));
    const { namespace, kind, name } = target.right;
    const snapshot = yield* readSnapshot({ namespace, odigosNamespace: args.odigosNamespace });
    const workload = snapshot.workloads.find(
      (candidate) => candidate.kind === kind && candidate.metadata.name === name,
    );
    if (workload === undefined) {
      const invalid = snapshot.invalid.find((error) => error.kind === kind && error.name === name);
      return yield* Effect.fail(
        new BadTarget(invalid?.message ?? `${kind} ${namespace}/${name} not found`),
      );
    }
    const options = fleetOptions();
    return args.output === "json"
      ? JSON.stringify({ namespace, kind, name, ...statusIn(snapshot, workload, options) }, null, 2)
      : explainLines(snapshot, workload, options).join("\n");
  });
