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
  /** Its labels (a workload's selector matches them, so they are always there). */
  metadata: Schema.optional(Schema.Struct({ labels: Schema.optional(StringMap) })),
  spec: Schema.Struct({
    containers: Schema.Array(Container),
  }),
});
export type PodTemplateSpec = typeof PodTemplateSpec.Type;

/**
 * The workload kinds the instrumentor manages; nothing else is ever modified. `Rollout` is Argo
 * Rollouts' (`argoproj.io/v1alpha1`), handled when its CRD is installed.
 */
export const WorkloadKind = Schema.Literal(
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "CronJob",
  "Rollout",
);
export type WorkloadKind = typeof WorkloadKind.Type;
export const WorkloadKinds: ReadonlyArray<WorkloadKind> = WorkloadKind.literals;

/**
 * A timestamp as an RFC 3339 string: as the API server serves it, or from a `Date` (what
 * `@kubernetes/client-node` turns it into).
 */
export const Timestamp = Schema.Union(
  Schema.String,
  Schema.transform(Schema.DateFromSelf, Schema.String, {
    strict: true,
    decode: (date) => date.toISOString(),
    encode: (text) => new Date(text),
  }),
);

/** Who last wrote an object, as `metadata.managedFields` records it (without the field sets). */
export const ManagedFieldsEntry = Schema.Struct({
  manager: Schema.optional(Schema.String),
  operation: Schema.optional(Schema.String),
  /** `status` for a write of the status subresource (a controller reporting, not changing the spec). */
  subresource: Schema.optional(Schema.String),
  time: Schema.optional(Timestamp),
});
export type ManagedFieldsEntry = typeof ManagedFieldsEntry.Type;

/** A workload's `metadata`: what every object keeps, plus its generation and writers. */
export const WorkloadMeta = Schema.Struct({
  ...ObjectMeta.fields,
  generation: Schema.optional(Schema.Number),
  managedFields: Schema.optional(Schema.Array(ManagedFieldsEntry)),
});
export type WorkloadMeta = typeof WorkloadMeta.Type;

/** `status.conditions[]` of an object, as a Pod reports them (`PodScheduled`, `Ready`). */
export const WorkloadCondition = Schema.Struct({
  type: Schema.String,
  status: Schema.String,
  reason: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
});

/**
 * The rollout progress of any of the three kinds: Deployments and StatefulSets report
 * replicas, DaemonSets the number of nodes scheduled; all report `observedGeneration`.
 */
export const WorkloadStatus = Schema.Struct({
  observedGeneration: Schema.optional(Schema.Number),
  replicas: Schema.optional(Schema.Number),
  updatedReplicas: Schema.optional(Schema.Number),
  readyReplicas: Schema.optional(Schema.Number),
  availableReplicas: Schema.optional(Schema.Number),
  currentRevision: Schema.optional(Schema.String),
  updateRevision: Schema.optional(Schema.String),
  desiredNumberScheduled: Schema.optional(Schema.Number),
  currentNumberScheduled: Schema.optional(Schema.Number),
  updatedNumberScheduled: Schema.optional(Schema.Number),
  numberAvailable: Schema.optional(Schema.Number),
  numberReady: Schema.optional(Schema.Number),
  // Argo Rollouts only: its own verdict (`Healthy`, `Progressing`, `Paused`, `Degraded`), an
  // abort, and which ReplicaSet is stable against the one of the current template.
  phase: Schema.optional(Schema.String),
  abort: Schema.optional(Schema.Boolean),
  currentPodHash: Schema.optional(Schema.String),
  stableRS: Schema.optional(Schema.String),
  // Not `conditions`: progress is judged from the counts above, and a workload's conditions
  // (`Available`, `Progressing`, each with a sentence of message) would be the largest part of
  // its cached status.
});
export type WorkloadStatus = typeof WorkloadStatus.Type;

/** `spec.selector` as far as pods are found by it. */
export const LabelSelector = Schema.Struct({
  matchLabels: Schema.optional(StringMap),
});

/** A Rollout's `spec.workloadRef`: its pod template lives in another object (not supported). */
export const WorkloadReference = Schema.Struct({
  apiVersion: Schema.optional(Schema.String),
  kind: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
});
export type WorkloadReference = typeof WorkloadReference.Type;

/** The spec every kind decodes to: its pod template, wherever the kind keeps it. */
const WorkloadSpec = Schema.Struct({
  template: PodTemplateSpec,
  replicas: Schema.optional(Schema.Number),
  paused: Schema.optional(Schema.Boolean),
  selector: Schema.optional(LabelSelector),
  /** Argo Rollouts only: the template is another object's (the Rollout's own is empty). */
  workloadRef: Schema.optional(WorkloadReference),
});

const workload = <K extends WorkloadKind>(kind: K) =>
  Schema.Struct({
    kind: Schema.optionalWith(Schema.Literal(kind), { default: () => kind }),
    metadata: WorkloadMeta,
    spec: WorkloadSpec,
    status: Schema.optional(WorkloadStatus),
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

/** A `batch/v1` CronJob as served: its pod template is its Job template's. */
const CronJobServed = Schema.Struct({
  metadata: WorkloadMeta,
  spec: Schema.Struct({
    jobTemplate: Schema.Struct({ spec: Schema.Struct({ template: PodTemplateSpec }) }),
  }),
});

/**
 * `batch/v1` CronJob slice, decoded to the shape of the other kinds: `spec.template` is its
 * `spec.jobTemplate.spec.template` ({@link templatePath} says where to write). It has no rollout:
 * its next Job starts from the template as it is then.
 */
export const CronJob = Schema.transform(CronJobServed, Schema.typeSchema(workload("CronJob")), {
  strict: true,
  decode: (served) => ({
    kind: "CronJob" as const,
    metadata: served.metadata,
    spec: { template: served.spec.jobTemplate.spec.template },
  }),
  encode: (cronJob) => ({
    metadata: cronJob.metadata,
    spec: { jobTemplate: { spec: { template: cronJob.spec.template } } },
  }),
});
export type CronJob = typeof CronJob.Type;

/** Argo Rollouts' `status`, as far as a rollout's progress is judged by it. */
const RolloutStatusServed = Schema.Struct({
  /** The generation the controller acted on, as a decimal string. */
  observedGeneration: Schema.optional(Schema.String),
  phase: Schema.optional(Schema.String),
  abort: Schema.optional(Schema.Boolean),
  currentPodHash: Schema.optional(Schema.String),
  stableRS: Schema.optional(Schema.String),
  replicas: Schema.optional(Schema.Number),
  updatedReplicas: Schema.optional(Schema.Number),
  readyReplicas: Schema.optional(Schema.Number),
  availableReplicas: Schema.optional(Schema.Number),
});

/**
 * Argo Rollouts' `status` as the other kinds report it: its `observedGeneration` (a string)
 * becomes a number when it is one.
 */
export const RolloutStatus = Schema.transform(
  RolloutStatusServed,
  Schema.typeSchema(WorkloadStatus),
  {
    strict: true,
    decode: ({ observedGeneration, ...progress }) => {
      const generation = observedGeneration?.match(/^\d+$/)
        ? Number(observedGeneration)
        : undefined;
      return {
        ...progress,
        ...(generation === undefined ? {} : { observedGeneration: generation }),
      };
    },
    encode: ({ observedGeneration, ...progress }) => ({
      ...progress,
      ...(observedGeneration === undefined
        ? {}
        : { observedGeneration: String(observedGeneration) }),
    }),
  },
);

const RolloutServed = Schema.Struct({
  metadata: WorkloadMeta,
  spec: Schema.Struct({
    template: Schema.optional(PodTemplateSpec),
    replicas: Schema.optional(Schema.Number),
    paused: Schema.optional(Schema.Boolean),
    selector: Schema.optional(LabelSelector),
    workloadRef: Schema.optional(WorkloadReference),
  }),
  status: Schema.optional(RolloutStatus),
});

const noTemplate = { spec: { containers: [] } };

/**
 * `argoproj.io/v1alpha1` Rollout slice, decoded to the shape of the other kinds: its status is
 * {@link RolloutStatus}; a Rollout with a `workloadRef` keeps it, with an empty template.
 */
export const Rollout = Schema.transform(RolloutServed, Schema.typeSchema(workload("Rollout")), {
  strict: true,
  decode: ({ metadata, spec: { template, ...spec }, status }) => ({
    kind: "Rollout" as const,
    metadata,
    spec: { ...spec, template: template ?? noTemplate },
    ...(status === undefined ? {} : { status }),
  }),
  encode: ({ metadata, spec, status }) => ({
    metadata,
    spec,
    ...(status === undefined ? {} : { status }),
  }),
});
export type Rollout = typeof Rollout.Type;

/** Any of the workload slices, told apart by `kind`. */
export const Workload = Schema.Union(Deployment, StatefulSet, DaemonSet, CronJob, Rollout);
export type Workload = typeof Workload.Type;

/**
 * Schema for the `status` of one kind's served object, as that kind's slice holds it; `undefined`
 * for a CronJob, whose slice keeps no status.
 */
export const workloadStatusSchemaFor = (kind: WorkloadKind) =>
  ({
    Deployment: WorkloadStatus,
    StatefulSet: WorkloadStatus,
    DaemonSet: WorkloadStatus,
    CronJob: undefined,
    Rollout: RolloutStatus,
  })[kind];

/** Schema for the workload slice of one kind. */
export const workloadSchemaFor = (kind: WorkloadKind) =>
  ({ Deployment, StatefulSet, DaemonSet, CronJob, Rollout })[kind];

/**
 * Where a kind keeps its pod template, as a path of keys: `spec.template`, or a CronJob's
 * `spec.jobTemplate.spec.template`. A patch of the decoded `spec.template` writes there.
 */
export const templatePath = (kind: WorkloadKind): ReadonlyArray<string> =>
  kind === "CronJob" ? ["spec", "jobTemplate", "spec", "template"] : ["spec", "template"];

/**
 * Whether a workload of this kind restarts its pods when its template changes, so that the
 * change is a rollout (a slot of the budget, a deadline, rollback). A CronJob's next Job just
 * starts from the new template: its change is complete when written.
 */
export const rollsOut = (kind: WorkloadKind): boolean => kind !== "CronJob";

/** The name of Argo Rollouts' CRD: Rollouts are handled while it is installed. */
export const ArgoRolloutsCrd = "rollouts.argoproj.io";

/** A `CustomResourceDefinition`, as far as whether it is established (served) goes. */
export const CustomResource = Schema.Struct({
  metadata: ObjectMeta,
  status: Schema.optional(
    Schema.Struct({
      conditions: Schema.optional(
        Schema.Array(Schema.Struct({ type: Schema.String, status: Schema.String })),
      ),
    }),
  ),
});
export type CustomResource = typeof CustomResource.Type;

/** `v1` Namespace slice (cluster scoped: no `metadata.namespace`). */
export const Namespace = Schema.Struct({
  metadata: ObjectMeta,
});
export type Namespace = typeof Namespace.Type;

/** The REST plural of a workload kind. */
export const workloadPlural = (kind: WorkloadKind): string => `${kind.toLowerCase()}s`;

/** The state of one container of a pod, as far as crash loops and readiness go. */
export const ContainerStatus = Schema.Struct({
  name: Schema.String,
  ready: Schema.optional(Schema.Boolean),
  restartCount: Schema.optional(Schema.Number),
  state: Schema.optional(
    Schema.Struct({
      waiting: Schema.optional(
        Schema.Struct({
          reason: Schema.optional(Schema.String),
          message: Schema.optional(Schema.String),
        }),
      ),
      running: Schema.optional(Schema.Struct({ startedAt: Schema.optional(Timestamp) })),
      terminated: Schema.optional(
        Schema.Struct({
          reason: Schema.optional(Schema.String),
          exitCode: Schema.optional(Schema.Number),
        }),
      ),
    }),
  ),
  lastState: Schema.optional(
    Schema.Struct({
      terminated: Schema.optional(
        Schema.Struct({
          reason: Schema.optional(Schema.String),
          exitCode: Schema.optional(Schema.Number),
        }),
      ),
    }),
  ),
});
export type ContainerStatus = typeof ContainerStatus.Type;

/** The controller of a pod: a ReplicaSet (of a Deployment), a StatefulSet or a DaemonSet. */
export const OwnerReference = Schema.Struct({
  kind: Schema.String,
  name: Schema.String,
  controller: Schema.optional(Schema.Boolean),
});

/**
 * `v1` Pod slice: who owns it, its containers' devices, and the status fields that tell a
 * healthy rollout from a crash-looping or unschedulable one.
 */
export const Pod = Schema.Struct({
  metadata: Schema.Struct({
    ...ObjectMeta.fields,
    ownerReferences: Schema.optional(Schema.Array(OwnerReference)),
    creationTimestamp: Schema.optional(Timestamp),
  }),
  spec: Schema.Struct({
    containers: Schema.Array(Container),
    nodeName: Schema.optional(Schema.String),
  }),
  status: Schema.optional(
    Schema.Struct({
      phase: Schema.optional(Schema.String),
      conditions: Schema.optional(Schema.Array(WorkloadCondition)),
      containerStatuses: Schema.optional(Schema.Array(ContainerStatus)),
    }),
  ),
});
export type Pod = typeof Pod.Type;
