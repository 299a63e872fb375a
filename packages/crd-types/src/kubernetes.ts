/**
 * The slices of core Kubernetes objects the instrumentor reads. Decoding keeps
 * only these fields, so a cache of thousands of workloads stays small.
 */
import * as Schema from "effect/Schema";

/** String-to-string map such as labels or annotations. */
export const StringMap = Schema.Record({ key: Schema.String, value: Schema.String });
export type StringMap = typeof StringMap.Type;

/** The part of `metadata` every cached object keeps. */
export const ObjectMeta = Schema.Struct({
  name: Schema.String,
  namespace: Schema.optional(Schema.String),
  uid: Schema.String,
  resourceVersion: Schema.String,
  labels: Schema.optional(StringMap),
  annotations: Schema.optional(StringMap),
});
export type ObjectMeta = typeof ObjectMeta.Type;

/** A resource quantity as the API serves it (`"1"`, `"500m"`, or a bare number). */
export const Quantity = Schema.Union(Schema.String, Schema.Number);
export type Quantity = typeof Quantity.Type;

/** Resource name to quantity, as in `resources.limits`. */
export const ResourceList = Schema.Record({ key: Schema.String, value: Quantity });
export type ResourceList = typeof ResourceList.Type;

export const ResourceRequirements = Schema.Struct({
  limits: Schema.optional(ResourceList),
  requests: Schema.optional(ResourceList),
});
export type ResourceRequirements = typeof ResourceRequirements.Type;

/** A pod-template container: its name and resources, nothing else. */
export const Container = Schema.Struct({
  name: Schema.String,
  resources: Schema.optional(ResourceRequirements),
});
export type Container = typeof Container.Type;

export const PodTemplateSpec = Schema.Struct({
  spec: Schema.Struct({
    containers: Schema.Array(Container),
  }),
});
export type PodTemplateSpec = typeof PodTemplateSpec.Type;

/** The three workload kinds the instrumentor manages; nothing else is ever modified. */
export const WorkloadKind = Schema.Literal("Deployment", "StatefulSet", "DaemonSet");
export type WorkloadKind = typeof WorkloadKind.Type;
export const WorkloadKinds: ReadonlyArray<WorkloadKind> = WorkloadKind.literals;

const workload = <K extends WorkloadKind>(kind: K) =>
  Schema.Struct({
    kind: Schema.optionalWith(Schema.Literal(kind), { default: () => kind }),
    metadata: ObjectMeta,
    spec: Schema.Struct({ template: PodTemplateSpec }),
  });

/** `apps/v1` Deployment slice. */
export const Deployment = workload("Deployment");
export type Deployment = typeof Deployment.Type;
/** `apps/v1` StatefulSet slice. */
export const StatefulSet = workload("StatefulSet");
export type StatefulSet = typeof StatefulSet.Type;
/** `apps/v1` DaemonSet slice. */
export const DaemonSet = workload("DaemonSet");
export type DaemonSet = typeof DaemonSet.Type;

/** Any of the three workload slices, told apart by `kind`. */
export const Workload = Schema.Union(Deployment, StatefulSet, DaemonSet);
export type Workload = typeof Workload.Type;

/** Schema for the workload slice of one kind. */
export const workloadSchemaFor = (
  kind: WorkloadKind,
): typeof Deployment | typeof StatefulSet | typeof DaemonSet =>
  kind === "Deployment" ? Deployment : kind === "StatefulSet" ? StatefulSet : DaemonSet;

/** `v1` Namespace slice (cluster scoped: no `metadata.namespace`). */
export const Namespace = Schema.Struct({
  metadata: ObjectMeta,
});
export type Namespace = typeof Namespace.Type;

/** The REST coordinates of a workload kind under `apps/v1`. */
export const workloadPlural = (
  kind: WorkloadKind,
): "deployments" | "statefulsets" | "daemonsets" =>
  kind === "Deployment" ? "deployments" : kind === "StatefulSet" ? "statefulsets" : "daemonsets";
