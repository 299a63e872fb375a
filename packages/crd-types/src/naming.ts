/**
 * Runtime-object naming: an InstrumentedApplication for workload `cart` of kind
 * Deployment is named `deployment-cart`; the name splits back at the first `-`.
 */
import * as Data from "effect/Data";
import * as Either from "effect/Either";
import { type WorkloadKind, WorkloadKinds } from "./kubernetes.js";

/** Identifies one workload in the cluster. */
export interface WorkloadRef {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
}

/** A runtime-details name that does not denote a workload of a kind the instrumentor handles. */
export class InvalidRuntimeObjectName extends Data.TaggedError("InvalidRuntimeObjectName")<{
  readonly name: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `runtime details name "${this.name}" ${this.reason}`;
  }
}

const kindByPrefix: ReadonlyMap<string, WorkloadKind> = new Map(
  WorkloadKinds.map((kind) => [kind.toLowerCase(), kind]),
);

/**
 * Kinds that carry pods and get runtime details from Odigos, but that the instrumentor does not
 * handle, by their runtime-details name prefix: a Job (a CronJob's are handled through it), a
 * bare Pod, a ReplicaSet of its own, an OpenShift DeploymentConfig.
 */
export const UnsupportedKinds: ReadonlyMap<string, string> = new Map([
  ["job", "Job"],
  ["pod", "Pod"],
  ["replicaset", "ReplicaSet"],
  ["deploymentconfig", "DeploymentConfig"],
]);

/** `"job-migrate"` -> `{ kind: "Job", name: "migrate" }`: a kind {@link UnsupportedKinds} lists. */
export const unsupportedKindOf = (
  runtimeObjectName: string,
): { readonly kind: string; readonly name: string } | undefined => {
  const dash = runtimeObjectName.indexOf("-");
  const kind = UnsupportedKinds.get(runtimeObjectName.slice(0, Math.max(dash, 0)));
  const name = runtimeObjectName.slice(dash + 1);
  return kind === undefined || name === "" ? undefined : { kind, name };
};

/** `("Deployment", "cart")` -> `"deployment-cart"`. */
export const runtimeObjectName = (kind: WorkloadKind, workloadName: string): string =>
  `${kind.toLowerCase()}-${workloadName}`;

/** `"statefulset-db-0"` -> `{ kind: "StatefulSet", name: "db-0" }`, or why the name is not one. */
export const parseRuntimeObjectName = (
  name: string,
): Either.Either<
  { readonly kind: WorkloadKind; readonly name: string },
  InvalidRuntimeObjectName
> => {
  const dash = name.indexOf("-");
  if (dash < 0) {
    return Either.left(new InvalidRuntimeObjectName({ name, reason: "has no '<kind>-' prefix" }));
  }
  const prefix = name.slice(0, dash);
  const workloadName = name.slice(dash + 1);
  const kind = kindByPrefix.get(prefix);
  if (kind === undefined) {
    const reason =
      prefix === ""
        ? "has an empty kind prefix"
        : `has kind prefix "${prefix}", expected one of ${[...kindByPrefix.keys()].join(", ")}`;
    return Either.left(new InvalidRuntimeObjectName({ name, reason }));
  }
  if (workloadName === "") {
    return Either.left(
      new InvalidRuntimeObjectName({ name, reason: "has an empty workload name" }),
    );
  }
  return Either.right({ kind, name: workloadName });
};

/** The workload a runtime-details object in `namespace` belongs to. */
export const workloadOfRuntimeObject = (
  namespace: string,
  name: string,
): Either.Either<WorkloadRef, InvalidRuntimeObjectName> =>
  Either.map(parseRuntimeObjectName(name), (parsed) => ({ ...parsed, namespace }));

/**
 * Stable string key for a workload: `Deployment/shop/cart`.
 *
 * Built with `join`, which makes one flat string: V8 keeps the result of a template literal as
 * a tree of concatenations (4 nodes here, 164 bytes a key in a `Map` against 85), and an
 * operator holds this key in several maps per workload.
 */
export const workloadKey = (ref: WorkloadRef): string =>
  [ref.kind, ref.namespace, ref.name].join("/");

/** What {@link workloadOfPod} reads of a pod (a decoded `Pod` has it). */
export interface PodOwnership {
  readonly metadata: {
    readonly namespace?: string | undefined;
    readonly labels?: Readonly<Record<string, string>> | undefined;
    readonly ownerReferences?:
      | ReadonlyArray<{
          readonly kind: string;
          readonly name: string;
          readonly controller?: boolean | undefined;
        }>
      | undefined;
  };
}

/**
 * The workload a pod belongs to: its controller is the StatefulSet or DaemonSet itself; a
 * ReplicaSet named `<deployment>-<pod-template-hash>` (an Argo `Rollout`'s when the hash label is
 * `rollouts-pod-template-hash`); or a Job named `<cronjob>-<scheduled minute>`, as the CronJob
 * controller names them. Undefined for any other pod (a bare one, a ReplicaSet's of its own, a
 * Job's not named so).
 */
export const workloadOfPod = (pod: PodOwnership): WorkloadRef | undefined => {
  const owner = pod.metadata.ownerReferences?.find((reference) => reference.controller === true);
  const namespace = pod.metadata.namespace ?? "";
  if (owner === undefined) return undefined;
  if (owner.kind === "StatefulSet" || owner.kind === "DaemonSet")
    return { kind: owner.kind, namespace, name: owner.name };
  if (owner.kind === "Job") {
    const scheduled = /^(.+)-\d+$/.exec(owner.name);
    return scheduled?.[1] === undefined
      ? undefined
      : { kind: "CronJob", namespace, name: scheduled[1] };
  }
  if (owner.kind !== "ReplicaSet") return undefined;
  const argoHash = pod.metadata.labels?.["rollouts-pod-template-hash"];
  const hash = argoHash ?? pod.metadata.labels?.["pod-template-hash"];
  if (hash === undefined || !owner.name.endsWith(`-${hash}`)) return undefined;
  const name = owner.name.slice(0, -hash.length - 1);
  return { kind: argoHash === undefined ? "Deployment" : "Rollout", namespace, name };
};
