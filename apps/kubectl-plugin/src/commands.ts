/** What `status` and `explain` do, as Effects over `KubeClient`: read a snapshot, then render. */
import { ArgoRolloutsCrd, workloadKey } from "@odigos/crd-types";
import type { KubeClient, KubeError } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Option from "effect/Option";
import { explainLines, parseTarget } from "./explain.js";
import { desiredPods, type FleetOptions, fleetReport, liveSummary, statusIn } from "./fleet.js";
import { readLeaderStatus } from "./leader.js";
import { renderStatus } from "./render.js";
import { readSnapshot, type SnapshotScope } from "./snapshot.js";

/** The operator's default `--rollout-timeout`, when its `/status` cannot be read. */
const rolloutTimeoutMs = 10 * 60_000;

/** Where the running instrumentor is: its namespace, its leader Lease, or one pod named. */
export interface InstrumentorArgs {
  readonly odigosNamespace: string;
  readonly leaseName: string;
  readonly instrumentorPod: Option.Option<string>;
}

/** The cluster's lists and the leader's live facts, read in parallel. */
const read = (scope: SnapshotScope, args: InstrumentorArgs) =>
  Effect.gen(function* () {
    const now = Date.now();
    const [snapshot, live] = yield* Effect.all(
      [
        readSnapshot(scope),
        readLeaderStatus(
          {
            odigosNamespace: args.odigosNamespace,
            leaseName: args.leaseName,
            pod: Option.getOrUndefined(args.instrumentorPod),
          },
          now,
        ),
      ],
      { concurrency: "unbounded" },
    );
    const options: FleetOptions = { now, rolloutTimeoutMs, live };
    return { snapshot, options };
  });

export interface StatusArgs extends InstrumentorArgs {
  readonly namespace: Option.Option<string>;
  readonly allNamespaces: boolean;
  readonly output: "table" | "wide" | "json";
}

/** `status`: the text (or JSON) to print; without `-n` or `-A`, the kubeconfig's namespace. */
export const statusCommand = (
  args: StatusArgs,
  currentNamespace = "default",
): Effect.Effect<string, KubeError, KubeClient> =>
  Effect.map(
    read(
      {
        namespace: args.allNamespaces
          ? undefined
          : Option.getOrElse(args.namespace, () => currentNamespace),
        odigosNamespace: args.odigosNamespace,
      },
      args,
    ),
    ({ snapshot, options }) => {
      const report = fleetReport(snapshot, options);
      return args.output === "json"
        ? JSON.stringify(report, null, 2)
        : renderStatus(report, args.output === "wide");
    },
  );

export interface ExplainArgs extends InstrumentorArgs {
  readonly target: string;
  readonly output: "table" | "wide" | "json";
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
    const { snapshot, options } = yield* read(
      { namespace, odigosNamespace: args.odigosNamespace },
      args,
    );
    const workload = snapshot.workloads.find(
      (candidate) => candidate.kind === kind && candidate.metadata.name === name,
    );
    if (workload === undefined) {
      const invalid = snapshot.invalid.find((error) => error.kind === kind && error.name === name);
      return yield* Effect.fail(
        new BadTarget(
          invalid?.message ??
            `${kind} ${namespace}/${name} not found${kind === "Rollout" && !snapshot.rolloutsServed ? ` (Argo Rollouts' CRD ${ArgoRolloutsCrd} is not installed)` : ""}`,
        ),
      );
    }
    const pods = snapshot.pods.get(workloadKey({ kind, namespace, name }));
    return args.output === "json"
      ? JSON.stringify(
          {
            namespace,
            kind,
            name,
            ...statusIn(snapshot, workload, options),
            pods: {
              withDevice: pods?.withDevice ?? [],
              withoutDevice: pods?.withoutDevice ?? [],
              desired: desiredPods(workload),
            },
            live: liveSummary(options.live),
          },
          null,
          2,
        )
      : explainLines(snapshot, workload, options).join("\n");
  });
