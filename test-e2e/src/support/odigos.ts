import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Container,
} from "@kubernetes/client-node";
import { instrumentationDevices } from "@odigos/control-plane";

const group = "odigos.io";
const version = "v1alpha1";

export type Language = "java" | "python" | "go" | "dotnet" | "javascript";
export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";
/** The instrumentor's caches, by the name its logs give them. */
export type Informer =
  | WorkloadKind
  | "Namespace"
  | "InstrumentedApplication"
  | "CollectorsGroup"
  | "OdigosConfiguration";

/** Typed helpers over the admin client for the objects the scenarios create. */
export class Cluster {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly kubeConfig: KubeConfig) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async createNamespace(
    name: string,
    annotations?: Record<string, string>,
    labels?: Record<string, string>,
  ) {
    await this.core.createNamespace({
      body: {
        metadata: { name, ...(annotations ? { annotations } : {}), ...(labels ? { labels } : {}) },
      },
    });
  }

  /** Merge-patches a namespace's annotations (null removes a key). */
  async annotateNamespace(name: string, annotations: Record<string, string | null>) {
    await this.core.patchNamespace({ name, body: { metadata: { annotations } } }, mergePatch);
  }

  async labelNamespace(name: string, labels: Record<string, string | null>) {
    await this.core.patchNamespace({ name, body: { metadata: { labels } } }, mergePatch);
  }

  /** An Odigos namespace with odigos-config (defaults given) and one DATA_COLLECTION group, not ready. */
  async createOdigosNamespace(
    name: string,
    defaultSDKs: Record<string, { sdkType: string; sdkTier: string }> = defaultSdks,
  ) {
    await this.createNamespace(name);
    await this.putConfig(name, { defaultSDKs });
    await this.createCollectorsGroup(name, "data-collection", "DATA_COLLECTION");
  }

  async putConfig(namespace: string, spec: Record<string, unknown>) {
    await this.putCustomObject(namespace, "odigosconfigurations", {
      apiVersion: `${group}/${version}`,
      kind: "OdigosConfiguration",
      metadata: { name: "odigos-config", namespace },
      spec: { configVersion: 1, odigosVersion: "v1.0.0", ...spec },
    });
  }

  /** Creates an Odigos object, or replaces the one of that name (a full replace, as `kubectl replace`). */
  private async putCustomObject(
    namespace: string,
    plural: string,
    body: { metadata: { name: string; namespace: string } } & Record<string, unknown>,
  ) {
    const name = body.metadata.name;
    try {
      const current = (await this.custom.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        name,
      })) as { metadata: { resourceVersion: string } };
      await this.custom.replaceNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        name,
        body: {
          ...body,
          metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion },
        },
      });
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 404) throw error;
      await this.custom.createNamespacedCustomObject({ group, version, namespace, plural, body });
    }
  }

  async deleteConfig(namespace: string) {
    await this.custom.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "odigosconfigurations",
      name: "odigos-config",
    });
  }

  async createCollectorsGroup(
    namespace: string,
    name: string,
    role: "GATEWAY" | "DATA_COLLECTION",
  ) {
    await this.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "collectorsgroups",
      body: {
        apiVersion: `${group}/${version}`,
        kind: "CollectorsGroup",
        metadata: { name, namespace },
        spec: { role },
      },
    });
  }

  async setCollectorsReady(namespace: string, name: string, ready: boolean) {
    await this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural: "collectorsgroups", name, body: { status: { ready } } },
      mergePatch,
    );
  }

  async createWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    options: {
      annotations?: Record<string, string>;
      labels?: Record<string, string>;
      containers?: V1Container[];
      initContainers?: V1Container[];
      /** Deployment and StatefulSet only (the API's default is 1). */
      replicas?: number;
      /** Annotations of the pod template (e.g. the KWOK stage knobs of a cluster with pods). */
      podAnnotations?: Record<string, string>;
      /** The pod template's nodeSelector. */
      nodeSelector?: Record<string, string>;
    } = {},
  ) {
    const metadata = {
      name,
      namespace,
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
    };
    const template = {
      metadata: {
        labels: { app: name },
        ...(options.podAnnotations ? { annotations: options.podAnnotations } : {}),
      },
      spec: {
        containers: options.containers ?? [{ name: "app", image: "example.invalid/app:1" }],
        ...(options.initContainers ? { initContainers: options.initContainers } : {}),
        ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
      },
    };
    const selector = { matchLabels: { app: name } };
    const replicas = options.replicas === undefined ? {} : { replicas: options.replicas };
    switch (kind) {
      case "Deployment":
        return this.apps.createNamespacedDeployment({
          namespace,
          body: { metadata, spec: { selector, template, ...replicas } },
        });
      case "StatefulSet":
        return this.apps.createNamespacedStatefulSet({
          namespace,
          body: { metadata, spec: { selector, template, serviceName: name, ...replicas } },
        });
      case "DaemonSet":
        return this.apps.createNamespacedDaemonSet({
          namespace,
          body: { metadata, spec: { selector, template } },
        });
    }
  }

  /** The typed client's calls for one workload kind. */
  private workloadCalls(kind: WorkloadKind) {
    const apps = this.apps;
    type Ref = { namespace: string; name: string };
    type Patch = Ref & { body: object };
    switch (kind) {
      case "Deployment":
        return {
          read: (ref: Ref) => apps.readNamespacedDeployment(ref),
          mergePatch: (patch: Patch) => apps.patchNamespacedDeployment(patch, mergePatch),
          delete: (ref: Ref) => apps.deleteNamespacedDeployment(ref),
        };
      case "StatefulSet":
        return {
          read: (ref: Ref) => apps.readNamespacedStatefulSet(ref),
          mergePatch: (patch: Patch) => apps.patchNamespacedStatefulSet(patch, mergePatch),
          delete: (ref: Ref) => apps.deleteNamespacedStatefulSet(ref),
        };
      case "DaemonSet":
        return {
          read: (ref: Ref) => apps.readNamespacedDaemonSet(ref),
          mergePatch: (patch: Patch) => apps.patchNamespacedDaemonSet(patch, mergePatch),
          delete: (ref: Ref) => apps.deleteNamespacedDaemonSet(ref),
        };
    }
  }

  /** The workload as the API server has it now. */
  readWorkload(kind: WorkloadKind, namespace: string, name: string) {
    return this.workloadCalls(kind).read({ namespace, name });
  }

  /** Merge-patches a workload's metadata annotations (null removes). */
  annotateWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    annotations: Record<string, string | null>,
  ) {
    return this.workloadCalls(kind).mergePatch({
      namespace,
      name,
      body: { metadata: { annotations } },
    });
  }

  /** Merge-patches a workload's metadata labels (null removes). */
  labelWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    labels: Record<string, string | null>,
  ) {
    return this.workloadCalls(kind).mergePatch({ namespace, name, body: { metadata: { labels } } });
  }

  deleteWorkload(kind: WorkloadKind, namespace: string, name: string) {
    return this.workloadCalls(kind).delete({ namespace, name });
  }

  /** Creates or replaces `<kind>-<name>` runtime details with these languages. */
  async putRuntimeDetails(
    kind: WorkloadKind,
    namespace: string,
    workload: string,
    languages: ReadonlyArray<{ containerName: string; language: Language }>,
  ) {
    return this.putRuntimeDetailsNamed(namespace, `${kind.toLowerCase()}-${workload}`, {
      languages,
    });
  }

  async putRuntimeDetailsNamed(namespace: string, name: string, spec: Record<string, unknown>) {
    await this.putCustomObject(namespace, "instrumentedapplications", {
      apiVersion: `${group}/${version}`,
      kind: "InstrumentedApplication",
      metadata: { name, namespace },
      spec,
    });
  }

  async runtimeDetailsExists(
    kind: WorkloadKind,
    namespace: string,
    workload: string,
  ): Promise<boolean> {
    try {
      await this.custom.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: "instrumentedapplications",
        name: `${kind.toLowerCase()}-${workload}`,
      });
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return false;
      throw error;
    }
  }

  async deleteRuntimeDetails(kind: WorkloadKind, namespace: string, workload: string) {
    await this.custom.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: "instrumentedapplications",
      name: `${kind.toLowerCase()}-${workload}`,
    });
  }

  /** Device names per container of the workload's pod template, as the server has them now. */
  /** The current resourceVersion of an object, named by the instrumentor informer that caches it. */
  async resourceVersionOf(informer: Informer, namespace: string | undefined, name: string) {
    const object = await this.readByInformer(informer, namespace ?? "", name);
    return (object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? "";
  }

  private readByInformer(informer: Informer, namespace: string, name: string): Promise<unknown> {
    switch (informer) {
      case "Deployment":
      case "StatefulSet":
      case "DaemonSet":
        return this.readWorkload(informer, namespace, name);
      case "Namespace":
        return this.core.readNamespace({ name });
      default:
        return this.custom.getNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: `${informer.toLowerCase()}s`,
          name,
        });
    }
  }

  async devices(
    kind: WorkloadKind,
    namespace: string,
    name: string,
  ): Promise<Record<string, string[]>> {
    return devicesOf(await this.readWorkload(kind, namespace, name));
  }
}

export const defaultSdks = {
  go: { sdkType: "ebpf", sdkTier: "community" },
  java: { sdkType: "native", sdkTier: "community" },
  python: { sdkType: "native", sdkTier: "community" },
  javascript: { sdkType: "native", sdkTier: "community" },
  dotnet: { sdkType: "native", sdkTier: "community" },
};

export const device = (
  language: Language,
  sdkType = language === "go" ? "ebpf" : "native",
  tier = "community",
) => `instrumentation.odigos.io/${language}-${sdkType}-${tier}`;

/** The devices of community SDKs: what the nodes of a cluster without enterprise SDKs advertise. */
export const communityDevices = instrumentationDevices.filter((name) =>
  name.endsWith("-community"),
);

/** An enterprise SDK's device, which no node of a {@link communityDevices} cluster advertises. */
export const javaEnterprise = device("java", "native", "enterprise");

/** Device names (limits and requests) per container that has any. */
export function devicesOf(workload: {
  spec?: { template?: { spec?: { containers?: V1Container[] } } };
}): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const container of workload.spec?.template?.spec?.containers ?? []) {
    const names = new Set<string>();
    for (const list of [container.resources?.limits, container.resources?.requests]) {
      for (const name of Object.keys(list ?? {}))
        if (name.startsWith("instrumentation.odigos.io")) names.add(name);
    }
    if (names.size > 0) out[container.name] = [...names].sort();
  }
  return out;
}

// client-node 1.x picks the patch content type from a middleware option.
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
