/**
 * The seeded cluster, as pure data: which workloads exist, what their runtime
 * details say, which devices each container must end up with, and the JSON
 * Patch the floor client sends to get there.
 */
import {
  DeviceQuantity,
  DeviceResourcePrefix,
  InstrumentAnnotation,
  InstrumentAnnotationEnabled,
  LegacyInstrumentationEnabled,
  LegacyInstrumentationLabel,
  OdigosApiVersion,
  type ProgrammingLanguage,
  ProgrammingLanguages,
  runtimeObjectName,
  type SdkTier,
  type SdkType,
  templatePath,
  type WorkloadKind,
  WorkloadKinds,
  workloadApiVersion,
  workloadKey,
} from "@odigos/crd-types";
import type { KubeObject } from "@odigos/kube-client";
import type { BenchResult } from "./types.js";

/** `odigos-config` `spec.defaultSDKs` of the benchmark. */
export const defaultSdks: Readonly<
  Record<ProgrammingLanguage, { sdkType: SdkType; sdkTier: SdkTier }>
> = {
  java: { sdkType: "native", sdkTier: "community" },
  python: { sdkType: "native", sdkTier: "community" },
  go: { sdkType: "ebpf", sdkTier: "community" },
  dotnet: { sdkType: "native", sdkTier: "community" },
  javascript: { sdkType: "native", sdkTier: "community" },
};

const deviceOf = (language: ProgrammingLanguage): string =>
  `${DeviceResourcePrefix}/${language}-${defaultSdks[language].sdkType}-${defaultSdks[language].sdkTier}`;

/** How a seeded container's `resources` look before any device: the patch shape depends on it. */
export type ResourcesShape = "none" | "requests-only" | "limits";

export interface ContainerSpec {
  readonly name: string;
  /** Language reported by the runtime details; none for a sidecar. */
  readonly language: ProgrammingLanguage | undefined;
  readonly resources: ResourcesShape;
}

export interface WorkloadSpec {
  readonly index: number;
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly containers: ReadonlyArray<ContainerSpec>;
  /** Carries its own `odigos.io/instrument: "true"` (the others inherit their namespace's marker). */
  readonly selfOptIn: boolean;
}

const namespaceName = (index: number): string => `bench-${String(index).padStart(2, "0")}`;

/** `kind/namespace/name`, as the instrumentor keys a workload. */
export const keyOf = (spec: Pick<WorkloadSpec, "kind" | "namespace" | "name">): string =>
  workloadKey(spec);

/** The kinds a run seeds: every kind the instrumentor handles, Rollouts only with their CRD. */
export const seededKinds = (rollouts: boolean): ReadonlyArray<WorkloadKind> =>
  WorkloadKinds.filter((kind) => rollouts || kind !== "Rollout");

/**
 * The kind of the workload of index `index`, in slots of 20: 19 a DaemonSet (5 %), 4 and 14
 * StatefulSets (10 %), 11 a CronJob (5 %), 3 a Rollout (5 %) when `rollouts`, the rest
 * Deployments (75 %, 80 % without Rollouts). CronJobs (slot 11) have two instrumented
 * containers; one Rollout in five (index 3 mod 25) also an un-instrumented sidecar.
 */
export const kindOf = (index: number, rollouts: boolean): WorkloadKind => {
  const slot = index % 20;
  if (slot === 19) return "DaemonSet";
  if (slot === 4 || slot === 14) return "StatefulSet";
  if (slot === 11) return "CronJob";
  if (slot === 3 && rollouts) return "Rollout";
  return "Deployment";
};

/**
 * `count` workloads over `namespaces` namespaces, of the kinds {@link kindOf} gives (Argo
 * Rollouts only with `rollouts`); one in five has two instrumented containers and one in 25 a
 * third, un-instrumented, sidecar; one in ten opts itself in. Deterministic in its arguments.
 */
export const planWorkloads = (
  count: number,
  namespaces: number,
  rollouts = false,
): WorkloadSpec[] =>
  Array.from({ length: count }, (_, index): WorkloadSpec => {
    const kind = kindOf(index, rollouts);
    const shapes: ReadonlyArray<ResourcesShape> = ["none", "requests-only", "limits"];
    const shape = (offset: number): ResourcesShape => shapes[(index + offset) % 3] ?? "none";
    const language = (offset: number): ProgrammingLanguage =>
      ProgrammingLanguages[(index + offset) % 5] ?? "go";
    const containers: ContainerSpec[] = [
      { name: "app", language: language(0), resources: shape(0) },
    ];
    if (index % 5 === 1 || index % 25 === 3)
      containers.push({ name: "worker", language: language(1), resources: shape(1) });
    if (index % 25 === 3)
      containers.push({ name: "proxy", language: undefined, resources: "limits" });
    return {
      index,
      kind,
      namespace: namespaceName(index % namespaces),
      name: `app-${String(index).padStart(5, "0")}`,
      containers,
      selfOptIn: index % 10 === 7,
    };
  });

/** What was seeded: workloads by kind, containers, devices when every one is instrumented. */
export const seedingOf = (
  specs: ReadonlyArray<WorkloadSpec>,
  namespaces: number,
  figures: { readonly ms: number; readonly requests: number },
): NonNullable<BenchResult["seeding"]> => {
  const byKind: Record<string, number> = {};
  // In the order of WorkloadKinds, kinds not seeded left out.
  for (const kind of WorkloadKinds) {
    const count = specs.filter((spec) => spec.kind === kind).length;
    if (count > 0) byKind[kind] = count;
  }
  return {
    workloads: specs.length,
    namespaces,
    byKind,
    multiContainer: specs.filter((spec) => spec.containers.length > 1).length,
    containers: specs.reduce((sum, spec) => sum + spec.containers.length, 0),
    devicesWhenReady: specs.reduce(
      (sum, spec) => sum + Object.keys(expectedDevices(spec)).length,
      0,
    ),
    ms: figures.ms,
    requests: figures.requests,
  };
};

/** The devices each container must carry when the workload is instrumented. */
export const expectedDevices = (spec: WorkloadSpec): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const container of spec.containers)
    if (container.language !== undefined) out[container.name] = [deviceOf(container.language)];
  return out;
};

const resourcesOf = (shape: ResourcesShape) => {
  switch (shape) {
    case "none":
      return undefined;
    case "requests-only":
      return { requests: { cpu: "10m" } };
    case "limits":
      return { limits: { cpu: "100m", memory: "64Mi" }, requests: { cpu: "10m" } };
  }
};

/**
 * How seeded workloads run on a cluster with pods: Deployments and StatefulSets with `replicas`
 * each; a DaemonSet limited (node affinity) to `replicas` of the nodes, so that every workload
 * has the same number of pods to replace.
 */
export interface PodsShape {
  readonly replicas: number;
  /** The nodes DaemonSets may run on (each gets `replicas` of them, in turn). */
  readonly nodes: ReadonlyArray<string>;
}

/** The nodes the DaemonSet of index `index` runs on: `count` consecutive ones, starting in turn. */
export const daemonSetNodes = (
  index: number,
  nodes: ReadonlyArray<string>,
  count: number,
): string[] =>
  nodes.length === 0
    ? []
    : Array.from(
        { length: Math.min(count, nodes.length) },
        (_, offset) => nodes[(index + offset) % nodes.length] ?? "",
      );

/**
 * Pods a workload has when rolled out, on a cluster with pods: none for a CronJob (seeded
 * suspended) or a Rollout (no Argo controller: 0 replicas and a fake status).
 */
export const replicasOf = (spec: WorkloadSpec, pods: PodsShape): number => {
  switch (spec.kind) {
    case "DaemonSet":
      return Math.min(pods.replicas, pods.nodes.length);
    case "CronJob":
    case "Rollout":
      return 0;
    default:
      return pods.replicas;
  }
};

/** A DaemonSet's node affinity: `count` consecutive nodes from its index. */
const nodeAffinityOf = (spec: WorkloadSpec, pods: PodsShape | undefined) => {
  if (pods === undefined || spec.kind !== "DaemonSet") return undefined;
  const onNodes = daemonSetNodes(spec.index, pods.nodes, pods.replicas);
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          {
            matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: onNodes }],
          },
        ],
      },
    },
  };
};

/** The pod template of a seeded workload (a Job's pods must not restart `Always`). */
const podTemplateOf = (spec: WorkloadSpec, pods: PodsShape | undefined) => {
  const affinity = nodeAffinityOf(spec, pods);
  return {
    metadata: { labels: { app: spec.name } },
    spec: {
      ...(affinity === undefined ? {} : { affinity }),
      ...(spec.kind === "CronJob" ? { restartPolicy: "Never" } : {}),
      containers: spec.containers.map((container) => {
        const resources = resourcesOf(container.resources);
        return {
          name: container.name,
          image: `example.invalid/${container.name}:1`,
          ...(resources === undefined ? {} : { resources }),
        };
      }),
    },
  };
};

/**
 * A CronJob's schedule: every minute, but suspended, so that it never starts a Job: on a cluster
 * without pods nothing would run it, and with `--pods` its Jobs' pods, every minute, would be
 * noise in what the benchmark measures (the instrumentor, not the Job controller).
 */
export const cronJobSchedule = { schedule: "* * * * *", suspend: true } as const;

/** The spec of a seeded workload of each kind around its pod template. */
const workloadSpecOf = (spec: WorkloadSpec, pods: PodsShape | undefined) => {
  const template = podTemplateOf(spec, pods);
  const selector = { matchLabels: { app: spec.name } };
  switch (spec.kind) {
    case "CronJob":
      return { ...cronJobSchedule, jobTemplate: { spec: { template } } };
    case "Rollout":
      // No Argo controller: no replicas, and the fake status of `rolloutStatus`.
      return { replicas: 0, selector, template, strategy: { canary: {} } };
    case "DaemonSet":
      return { selector, template };
    case "StatefulSet":
      return {
        ...(pods === undefined ? {} : { replicas: pods.replicas }),
        selector,
        template,
        serviceName: spec.name,
      };
    case "Deployment":
      return { ...(pods === undefined ? {} : { replicas: pods.replicas }), selector, template };
  }
};

/**
 * The manifest of a seeded workload (`apps/v1`, `batch/v1` for a CronJob, `argoproj.io/v1alpha1`
 * for a Rollout; with `pods`: its replicas, or a DaemonSet's nodes).
 */
export const workloadManifest = (spec: WorkloadSpec, pods?: PodsShape): KubeObject => ({
  apiVersion: workloadApiVersion(spec.kind),
  kind: spec.kind,
  metadata: {
    name: spec.name,
    namespace: spec.namespace,
    ...(spec.selfOptIn
      ? { annotations: { [InstrumentAnnotation]: InstrumentAnnotationEnabled } }
      : {}),
  },
  spec: workloadSpecOf(spec, pods),
});

/** The InstrumentedApplication the node agent would report for the workload. */
export const runtimeDetailsManifest = (spec: WorkloadSpec): KubeObject => ({
  apiVersion: OdigosApiVersion,
  kind: "InstrumentedApplication",
  metadata: { name: runtimeObjectName(spec.kind, spec.name), namespace: spec.namespace },
  spec: {
    languages: spec.containers
      .filter((container) => container.language !== undefined)
      .map((container) => ({ containerName: container.name, language: container.language })),
  },
});

/** Even namespaces opt in by annotation, odd ones by the legacy label. */
export const namespaceManifest = (index: number): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: {
    name: namespaceName(index),
    ...(index % 2 === 0
      ? { annotations: { [InstrumentAnnotation]: InstrumentAnnotationEnabled } }
      : { labels: { [LegacyInstrumentationLabel]: LegacyInstrumentationEnabled } }),
  },
});

/** What the benchmark tracks of one workload, from the watch. */
export interface ContainerState {
  readonly name: string;
  readonly hasResources: boolean;
  readonly hasLimits: boolean;
  /** Device names in `limits`, sorted. */
  readonly limitDevices: ReadonlyArray<string>;
  /** Device names in `requests`, sorted. */
  readonly requestDevices: ReadonlyArray<string>;
}

export interface WorkloadState {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  readonly containers: ReadonlyArray<ContainerState>;
}

const deviceNames = (list: unknown): string[] =>
  list !== null && typeof list === "object"
    ? Object.keys(list)
        .filter((name) => name.startsWith(DeviceResourcePrefix))
        .sort()
    : [];

type RawContainer = { name?: string; resources?: { limits?: unknown; requests?: unknown } };

/** The containers of a raw workload's pod template (`templatePath`: a CronJob's is in its jobTemplate). */
const templateContainers = (kind: WorkloadKind, raw: unknown): ReadonlyArray<RawContainer> => {
  let node: unknown = raw;
  for (const key of templatePath(kind))
    node =
      node !== null && typeof node === "object"
        ? (node as Record<string, unknown>)[key]
        : undefined;
  const containers = (node as { spec?: { containers?: unknown } } | undefined)?.spec?.containers;
  return Array.isArray(containers) ? (containers as RawContainer[]) : [];
};

/** The tracked slice of a raw workload; `undefined` when it is not one. */
export const stateOf = (kind: WorkloadKind, raw: unknown): WorkloadState | undefined => {
  const metadata = (
    raw as { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }
  )?.metadata;
  if (metadata?.name === undefined || metadata.namespace === undefined) return undefined;
  return {
    kind,
    namespace: metadata.namespace,
    name: metadata.name,
    resourceVersion: metadata.resourceVersion ?? "",
    containers: templateContainers(kind, raw).map((container) => ({
      name: container.name ?? "",
      hasResources: container.resources !== undefined,
      hasLimits: container.resources?.limits !== undefined,
      limitDevices: deviceNames(container.resources?.limits),
      requestDevices: deviceNames(container.resources?.requests),
    })),
  };
};

/** Whether a workload is seen carrying exactly `desired` (`instrumented`), or no device at all. */
export const devicesAre = (
  state: WorkloadState | undefined,
  instrumented: boolean,
  desired: Readonly<Record<string, ReadonlyArray<string>>>,
): boolean =>
  state !== undefined && (instrumented ? carries(state, desired) : !hasAnyDevice(state));

export const hasAnyDevice = (state: WorkloadState): boolean =>
  state.containers.some(
    (container) => container.limitDevices.length > 0 || container.requestDevices.length > 0,
  );

/** Whether every container carries exactly its desired devices (in limits, none in requests). */
export const carries = (
  state: WorkloadState,
  desired: Readonly<Record<string, ReadonlyArray<string>>>,
): boolean =>
  state.containers.every((container) => {
    const wanted = [...(desired[container.name] ?? [])].sort();
    return (
      container.requestDevices.length === 0 &&
      container.limitDevices.length === wanted.length &&
      container.limitDevices.every((name, index) => name === wanted[index])
    );
  });

const pointer = (segments: ReadonlyArray<string | number>): string =>
  segments
    .map((segment) => `/${String(segment).replaceAll("~", "~0").replaceAll("/", "~1")}`)
    .join("");

export type PatchOperation =
  | { readonly op: "add" | "replace"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string };

/**
 * The JSON Patch that gives every container exactly `desired` (`{}` removes
 * every device), led by a resourceVersion precondition, as the instrumentor's
 * planner writes it; `undefined` when nothing is to change.
 */
export const devicePatch = (
  state: WorkloadState,
  desired: Readonly<Record<string, ReadonlyArray<string>>>,
): PatchOperation[] | undefined => {
  const operations: PatchOperation[] = [];
  state.containers.forEach((container, index) => {
    const base = [...templatePath(state.kind), "spec", "containers", index, "resources"];
    const wanted = new Set(desired[container.name] ?? []);
    for (const name of container.limitDevices)
      if (!wanted.has(name))
        operations.push({ op: "remove", path: pointer([...base, "limits", name]) });
    for (const name of container.requestDevices)
      operations.push({ op: "remove", path: pointer([...base, "requests", name]) });
    const added = [...wanted].filter((name) => !container.limitDevices.includes(name)).sort();
    if (added.length === 0) return;
    const fresh = Object.fromEntries(added.map((name) => [name, DeviceQuantity]));
    if (!container.hasResources)
      operations.push({ op: "add", path: pointer(base), value: { limits: fresh } });
    else if (!container.hasLimits)
      operations.push({ op: "add", path: pointer([...base, "limits"]), value: fresh });
    else
      for (const name of added)
        operations.push({
          op: "add",
          path: pointer([...base, "limits", name]),
          value: DeviceQuantity,
        });
  });
  if (operations.length === 0) return undefined;
  return [
    { op: "replace", path: "/metadata/resourceVersion", value: state.resourceVersion },
    ...operations,
  ];
};
