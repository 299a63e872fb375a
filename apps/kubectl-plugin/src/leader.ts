/**
 * What only the running instrumentor knows (its place in line for a slot, a fight, the breaker,
 * the collectors' grace), read from the leader's `/status` through the API server: the leader
 * Lease names the leader's pod (its holder identity is `<pod>_<pid>_<random>`), the pod's
 * container port named `metrics` is where `/status` is served, and the pods proxy
 * (`/api/v1/namespaces/NS/pods/POD:PORT/proxy/status`) reaches it with the user's own RBAC:
 * `get` on the Lease, on `pods` and on `pods/proxy` in the Odigos namespace. Anything in the way
 * is said, never fatal: the rest of the status comes from the cluster.
 */
import { decodeLiveView, type LiveView } from "@odigos/instrumentation-rules";
import { hasStatus, KubeClient, type KubeError, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";

export type LiveSource =
  | { readonly _tag: "Reached"; readonly pod: string; readonly view: LiveView }
  | { readonly _tag: "Unreachable"; readonly reason: string };

export interface LeaderOptions {
  readonly odigosNamespace: string;
  /** The leader Lease's name (the operator's `--leader-election-id`). */
  readonly leaseName: string;
  /** A pod to ask instead of the Lease's holder (leader election off: one replica). */
  readonly pod?: string | undefined;
}

class Unreachable {
  readonly _tag = "Unreachable";
  constructor(readonly reason: string) {}
}

/** The user's request was refused or failed: why, with what they need when it is RBAC. */
const explainError = (what: string, namespace: string, error: KubeError): Unreachable =>
  new Unreachable(
    hasStatus(error, 403)
      ? `${what} is forbidden (${error.message}): reading the instrumentor's live status needs get on leases, pods and pods/proxy in ${namespace}`
      : `${what} failed: ${error.message}`,
  );

interface LeaseSpec {
  readonly holderIdentity?: string | null;
  readonly renewTime?: string | null;
  readonly leaseDurationSeconds?: number | null;
}

/** The leader's pod, by the Lease: its holder, if it renewed within its duration. */
const leaderPod = (options: LeaderOptions, now: number) =>
  Effect.gen(function* () {
    const { odigosNamespace: namespace, leaseName } = options;
    const lease = yield* Effect.mapError(
      Effect.flatMap(KubeClient, (client) => client.get(Resources.Lease, leaseName, { namespace })),
      (error) =>
        hasStatus(error, 404)
          ? new Unreachable(
              `no Lease ${namespace}/${leaseName}: the instrumentor runs without --leader-elect (name its pod with --instrumentor-pod) or in another namespace (--odigos-namespace)`,
            )
          : explainError(`get lease ${namespace}/${leaseName}`, namespace, error),
    );
    const spec = (lease.spec ?? {}) as LeaseSpec;
    const holder = spec.holderIdentity ?? "";
    const renewed = Date.parse(spec.renewTime ?? "");
    const duration = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder === "" || Number.isNaN(renewed) || renewed + duration < now)
      return yield* Effect.fail(
        new Unreachable(
          `no instrumentor holds Lease ${namespace}/${leaseName}${holder === "" ? "" : ` (${holder} last renewed it ${spec.renewTime ?? "never"})`}`,
        ),
      );
    return holder.split("_")[0] ?? holder;
  });

/** The pod's container port named `metrics`. */
const metricsPort = (namespace: string, pod: string) =>
  Effect.gen(function* () {
    const object = yield* Effect.mapError(
      Effect.flatMap(KubeClient, (client) => client.get(Resources.Pod, pod, { namespace })),
      (error) => explainError(`get pod ${namespace}/${pod}`, namespace, error),
    );
    const containers =
      ((object.spec as { containers?: unknown } | undefined)?.containers as
        | ReadonlyArray<{ ports?: ReadonlyArray<{ name?: string; containerPort?: number }> }>
        | undefined) ?? [];
    const port = containers
      .flatMap((container) => container.ports ?? [])
      .find((candidate) => candidate.name === "metrics")?.containerPort;
    if (port === undefined)
      return yield* Effect.fail(
        new Unreachable(`pod ${namespace}/${pod} has no container port named "metrics"`),
      );
    return port;
  });

/** The leader's live facts, or why they could not be read. Never fails. */
export const readLeaderStatus = (
  options: LeaderOptions,
  now: number,
): Effect.Effect<LiveSource, never, KubeClient> =>
  Effect.gen(function* () {
    const namespace = options.odigosNamespace;
    const pod = options.pod ?? (yield* leaderPod(options, now));
    const port = yield* metricsPort(namespace, pod);
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy/status`;
    const body = yield* Effect.mapError(
      Effect.flatMap(KubeClient, (client) => client.getText(path)),
      (error) => explainError(`get ${path}`, namespace, error),
    );
    const view = decodeLiveView(body);
    if (Either.isLeft(view))
      return yield* Effect.fail(
        new Unreachable(`${path} is not the instrumentor's /status: ${view.left}`),
      );
    return { _tag: "Reached", pod: `${namespace}/${pod}`, view: view.right } as const;
  }).pipe(Effect.catchAll((unreachable) => Effect.succeed(unreachable)));
