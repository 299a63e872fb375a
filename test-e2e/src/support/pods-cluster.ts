import type { V1Pod } from "@kubernetes/client-node";
import {
  type ControlPlane,
  ensureBinaries,
  type PodsCluster as PodsClusterInfo,
  type PodsOptions,
  startControlPlane,
} from "@odigos/control-plane";
import { RollbackAnnotation } from "@odigos/crd-types";
import { type InstrumentorProcess, startInstrumentor } from "@odigos/harness";
import { Cluster, defaultSdks, type WorkloadKind } from "./odigos.js";
import { waitFor } from "./wait-for.js";

/** A control plane with pods of a test file's own (kube-scheduler, KWOK nodes); nodes are cluster-wide, so files do not share one. */
export interface PodsCluster {
  readonly controlPlane: ControlPlane;
  /** The nodes, devices and component users of the cluster. */
  readonly pods: PodsClusterInfo;
  readonly cluster: Cluster;
  /** Creates a namespace (it goes with the control plane). */
  readonly namespace: (name: string, annotations?: Record<string, string>) => Promise<string>;
  readonly stop: () => Promise<void>;
}

/** Starts a control plane with pods (no instrumentor: for tests of the cluster itself). */
export async function startPodsCluster(pods: PodsOptions | true = true): Promise<PodsCluster> {
  const started = Date.now();
  const controlPlane = await startControlPlane({
    binaries: await ensureBinaries({ pods: true }),
    pods,
    auditLog: true,
  });
  const info = controlPlane.pods;
  if (info === undefined) {
    await controlPlane.stop();
    throw new Error("startControlPlane({ pods }) returned no pods cluster");
  }
  console.log(
    `[e2e] control plane with ${info.nodesWithDevices.length + info.nodesWithoutDevices.length} KWOK nodes up in ${Date.now() - started} ms`,
  );
  const cluster = new Cluster(controlPlane.kubeConfig());
  return {
    controlPlane,
    pods: info,
    cluster,
    namespace: async (name, annotations) => {
      await cluster.createNamespace(name, annotations);
      return name;
    },
    stop: () => controlPlane.stop(),
  };
}

/**
 * A control plane with pods, an Odigos namespace with ready collectors, and the instrumentor
 * as a real process.
 */
export interface PodsBed extends PodsCluster {
  readonly odigosNamespace: string;
  readonly instrumentor: InstrumentorProcess;
  /** Stops the instrumentor (SIGTERM, must exit 0 with only JSON logs) and the control plane. */
  readonly stop: () => Promise<void>;
}

export async function startPodsBed(
  options: {
    pods?: PodsOptions;
    defaultSDKs?: Record<string, { sdkType: string; sdkTier: string }>;
    /** Instrumentor flags (e.g. the rollout settings; later flags win over the harness's). */
    args?: readonly string[];
    /** More environment for the instrumentor (e.g. `POD_NAME`). */
    env?: Readonly<Record<string, string>>;
  } = {},
): Promise<PodsBed> {
  const base = await startPodsCluster(options.pods ?? true);
  let instrumentor: InstrumentorProcess | undefined;
  try {
    const odigosNamespace = "odigos-system";
    await base.cluster.createOdigosNamespace(odigosNamespace, options.defaultSDKs ?? defaultSdks);
    await base.cluster.setCollectorsReady(odigosNamespace, "data-collection", true);
    instrumentor = await startInstrumentor({
      kubeconfigPath: base.controlPlane.kubeconfigPath,
      odigosNamespace,
      ...(options.args === undefined ? {} : { args: options.args }),
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    const running = instrumentor;
    return {
      ...base,
      odigosNamespace,
      instrumentor: running,
      stop: async () => {
        // A test may have stopped (or killed) it itself: only a process still running must exit 0 on SIGTERM.
        const before = await Promise.race([running.exited, Promise.resolve("running" as const)]);
        const code = await running.stop("SIGTERM");
        await base.stop();
        if (before === "running" && code !== 0)
          throw new Error(`instrumentor exited with ${code} on SIGTERM`);
        if (running.unstructured.length > 0)
          throw new Error(`instrumentor wrote non-JSON lines:\n${running.unstructured.join("\n")}`);
      },
    };
  } catch (error) {
    await instrumentor?.stop("SIGKILL");
    await base.stop();
    throw error;
  }
}

/** What the tests read of a pod. */
export interface PodView {
  readonly name: string;
  readonly uid: string;
  readonly node: string | undefined;
  readonly phase: string | undefined;
  readonly ready: boolean;
  readonly terminating: boolean;
  /** Name of the owning ReplicaSet, StatefulSet or DaemonSet. */
  readonly owner: string | undefined;
  /** `controller-revision-hash` (StatefulSet, DaemonSet) or `pod-template-hash` (ReplicaSet). */
  readonly revision: string | undefined;
  /** Instrumentation devices in each container's `limits`. */
  readonly devices: Readonly<Record<string, readonly string[]>>;
  /** The PodScheduled condition when it is not True (reason and the scheduler's message). */
  readonly unschedulable: { readonly reason?: string; readonly message?: string } | undefined;
  readonly containers: Readonly<
    Record<
      string,
      {
        readonly ready: boolean;
        readonly restartCount: number;
        readonly waitingReason: string | undefined;
      }
    >
  >;
}

export function podView(pod: V1Pod): PodView {
  const condition = (type: string) => pod.status?.conditions?.find((c) => c.type === type);
  const scheduled = condition("PodScheduled");
  const labels = pod.metadata?.labels ?? {};
  return {
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
    node: pod.spec?.nodeName,
    phase: pod.status?.phase,
    ready: condition("Ready")?.status === "True",
    terminating: pod.metadata?.deletionTimestamp !== undefined,
    owner: pod.metadata?.ownerReferences?.find((ref) => ref.controller === true)?.name,
    revision: labels["controller-revision-hash"] ?? labels["pod-template-hash"],
    devices: Object.fromEntries(
      (pod.spec?.containers ?? []).map((container) => [
        container.name,
        Object.keys(container.resources?.limits ?? {})
          .filter((name) => name.startsWith("instrumentation.odigos.io/"))
          .sort(),
      ]),
    ),
    unschedulable:
      scheduled !== undefined && scheduled.status !== "True"
        ? {
            ...(scheduled.reason === undefined ? {} : { reason: scheduled.reason }),
            ...(scheduled.message === undefined ? {} : { message: scheduled.message }),
          }
        : undefined,
    containers: Object.fromEntries(
      (pod.status?.containerStatuses ?? []).map((status) => [
        status.name,
        {
          ready: status.ready,
          restartCount: status.restartCount,
          waitingReason: status.state?.waiting?.reason,
        },
      ]),
    ),
  };
}

/** The pods of a workload made by `Cluster.createWorkload` (label `app=<name>`), as they are now. */
export async function workloadPods(
  cluster: Cluster,
  namespace: string,
  name: string,
): Promise<PodView[]> {
  const list = await cluster.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
  return list.items.map(podView).sort((a, b) => a.name.localeCompare(b.name));
}

/** Why the workload's rollout is not complete yet (undefined: complete), from its status as its controller reports it. */
export async function rolloutPending(
  cluster: Cluster,
  kind: WorkloadKind,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  const stale = (workload: {
    metadata?: { generation?: number };
    status?: { observedGeneration?: number };
  }) =>
    (workload.status?.observedGeneration ?? 0) < (workload.metadata?.generation ?? 0)
      ? `observedGeneration ${workload.status?.observedGeneration} < generation ${workload.metadata?.generation}`
      : undefined;
  const pending = (done: boolean, status: object | undefined) =>
    done ? undefined : `status ${JSON.stringify(status ?? {})}`;
  switch (kind) {
    case "Deployment": {
      const deployment = await cluster.apps.readNamespacedDeployment({ namespace, name });
      const replicas = deployment.spec?.replicas ?? 1;
      const status = deployment.status;
      // status.replicas counts old pods too: equal to spec.replicas once the old ones are gone.
      return (
        stale(deployment) ??
        pending(
          status?.updatedReplicas === replicas &&
            status.readyReplicas === replicas &&
            status.availableReplicas === replicas &&
            status.replicas === replicas,
          status,
        )
      );
    }
    case "StatefulSet": {
      const set = await cluster.apps.readNamespacedStatefulSet({ namespace, name });
      const replicas = set.spec?.replicas ?? 1;
      const status = set.status;
      return (
        stale(set) ??
        pending(
          status?.currentRevision === status?.updateRevision &&
            status?.updatedReplicas === replicas &&
            status?.readyReplicas === replicas &&
            status?.replicas === replicas,
          status,
        )
      );
    }
    case "DaemonSet": {
      const set = await cluster.apps.readNamespacedDaemonSet({ namespace, name });
      const status = set.status;
      const desired = status?.desiredNumberScheduled ?? 0;
      return (
        stale(set) ??
        pending(
          desired > 0 &&
            status?.updatedNumberScheduled === desired &&
            status.numberReady === desired &&
            status.numberAvailable === desired &&
            status.currentNumberScheduled === desired &&
            (status.numberMisscheduled ?? 0) === 0,
          status,
        )
      );
    }
  }
}

/**
 * Waits until the workload's controller reports its rollout complete and every pod it has is
 * Ready and not terminating; returns those pods.
 */
export async function waitForRollout(
  cluster: Cluster,
  kind: WorkloadKind,
  namespace: string,
  name: string,
  timeoutMs = 60_000,
): Promise<PodView[]> {
  let last = "";
  return waitFor(
    async () => {
      const pending = await rolloutPending(cluster, kind, namespace, name);
      if (pending !== undefined) {
        last = pending;
        return undefined;
      }
      const pods = await workloadPods(cluster, namespace, name);
      const notReady = pods.filter((pod) => !pod.ready || pod.terminating);
      last = `pods not ready or terminating: ${notReady.map((pod) => pod.name).join(", ")}`;
      return notReady.length === 0 ? pods : undefined;
    },
    { timeoutMs, intervalMs: 200, description: `${kind} ${namespace}/${name} rolled out` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last: ${last}`);
  });
}

/** Waits until the workload's pod template carries exactly these devices per container (`{}`: none). */
export async function waitForTemplateDevices(
  cluster: Cluster,
  kind: WorkloadKind,
  namespace: string,
  name: string,
  expected: Record<string, string[]>,
  timeoutMs = 30_000,
): Promise<void> {
  let last: Record<string, string[]> = {};
  await waitFor(
    async () => {
      last = await cluster.devices(kind, namespace, name);
      return JSON.stringify(last) === JSON.stringify(expected);
    },
    {
      timeoutMs,
      description: `${kind} ${namespace}/${name} template devices ${JSON.stringify(expected)}`,
    },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen ${JSON.stringify(last)}`);
  });
}

/** Waits until `probe` holds for the workload's pods, and returns them; the failure says what they were. */
export async function waitForPods(
  cluster: Cluster,
  namespace: string,
  name: string,
  probe: (pods: readonly PodView[]) => boolean,
  description: string,
  timeoutMs = 60_000,
): Promise<PodView[]> {
  let last: PodView[] = [];
  return waitFor(
    async () => {
      last = await workloadPods(cluster, namespace, name);
      return probe(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 200, description: `${namespace}/${name}: ${description}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; pods: ${JSON.stringify(last, null, 1)}`);
  });
}

/** A Deployment's rollback record (`odigos.io/rollback`), as the API server holds it, parsed. */
export async function rollbackOf(
  bed: PodsCluster,
  namespace: string,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const deployment = await bed.cluster.apps.readNamespacedDeployment({ namespace, name });
  const text = deployment.metadata?.annotations?.[RollbackAnnotation];
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
}
