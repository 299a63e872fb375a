/**
 * Watches, from the cluster alone, which workloads are rolling because of the instrumentor, and
 * in which waves it started them (issue 35, independent oracles). Nothing here reads what the
 * instrumentor says about itself (its `odigos.io/rollout` records, `rolloutProgress`, its logs):
 *
 * - a rollout starts at the audit-log time of the instrumentor's successful patch of the workload
 *   (User-Agent `odigos-instrumentor/…`, verb patch, code < 300, on the workload itself);
 * - it ends at the first sample, taken after that patch, in which the workload's own status says
 *   its rollout is complete, by Kubernetes' definition (see {@link rolloutComplete});
 * - a wave is the patches started while a rollout of the wave was still rolling: a patch starts
 *   a new wave when, at the first sample taken after it, every rollout started before it was
 *   complete.
 *
 * Workloads are sampled every 200 ms; the audit log is read every second (for `completed`) and
 * once more when stopped (for `samples` and `waves`).
 */
import type { V1DaemonSet, V1Deployment, V1StatefulSet } from "@kubernetes/client-node";
import { type AuditLine, filterAudit } from "@odigos/control-plane";
import type { Cluster } from "./odigos.js";

export interface Sample {
  readonly at: number;
  /** Workloads rolling because of the instrumentor at that moment. */
  readonly rolling: readonly string[];
}

/** The instrumentor's patches that started rollouts one after another, in order. */
export interface Wave {
  /** Audit time of its first patch. */
  readonly at: number;
  /** The User-Agent of the instrumentor that wrote its first patch. */
  readonly writer: string;
  readonly workloads: readonly string[];
}

export interface RolloutSampler {
  /** Filled in by `stop()`. */
  readonly samples: readonly Sample[];
  /** Filled in by `stop()`. */
  readonly waves: readonly Wave[];
  /** Workloads whose rollout of this phase was seen complete. */
  readonly completed: ReadonlySet<string>;
  readonly stop: () => Promise<void>;
}

/** An audit event with its time (the audit log has it; `AuditLine` does not name it). */
type TimedAuditLine = AuditLine & { readonly stageTimestamp?: string };

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

const resourceOf: Record<WorkloadKind, string> = {
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  DaemonSet: "daemonsets",
};

/**
 * Whether a workload's own status says its current spec is rolled out, as Kubernetes defines it
 * (`kubectl rollout status`), written here rather than taken from the product.
 */
export const rolloutComplete = (
  kind: WorkloadKind,
  workload: V1Deployment | V1StatefulSet | V1DaemonSet,
): boolean => {
  const generation = workload.metadata?.generation ?? 0;
  const observed = workload.status?.observedGeneration ?? 0;
  if (observed < generation) return false;
  if (kind === "Deployment") {
    const d = workload as V1Deployment;
    const wanted = d.spec?.replicas ?? 1;
    const status = d.status;
    const updated = status?.updatedReplicas ?? 0;
    return (
      updated === wanted &&
      (status?.replicas ?? 0) === wanted &&
      (status?.availableReplicas ?? 0) === wanted
    );
  }
  if (kind === "StatefulSet") {
    const s = workload as V1StatefulSet;
    const wanted = s.spec?.replicas ?? 1;
    const status = s.status;
    return (
      status?.updateRevision !== undefined &&
      status.updateRevision === status.currentRevision &&
      (status.updatedReplicas ?? 0) === wanted &&
      (status.readyReplicas ?? 0) === wanted
    );
  }
  const status = (workload as V1DaemonSet).status;
  const desired = status?.desiredNumberScheduled ?? 0;
  return (
    (status?.updatedNumberScheduled ?? 0) === desired && (status?.numberAvailable ?? 0) === desired
  );
};

/** The instrumentor's successful patches of `kind` workloads in `namespace` since `since`, by time. */
export const instrumentorPatches = (
  events: Iterable<TimedAuditLine>,
  namespace: string,
  since: number,
  kind: WorkloadKind = "Deployment",
) =>
  filterAudit(events, {
    userAgent: (agent) => agent.startsWith("odigos-instrumentor/"),
    verbs: new Set(["patch"]),
    resources: new Set([resourceOf[kind]]),
  })
    .filter(
      (event) =>
        event.stage === "ResponseComplete" &&
        event.objectRef?.namespace === namespace &&
        (event.responseStatus?.code ?? 0) < 300,
    )
    .map((event) => ({
      name: event.objectRef?.name ?? "",
      at: Date.parse(event.stageTimestamp ?? ""),
      writer: event.userAgent ?? "",
    }))
    .filter((patch) => patch.at >= since)
    .sort((a, b) => a.at - b.at);

type Patch = ReturnType<typeof instrumentorPatches>[number];

export function sampleRollouts(
  cluster: Cluster,
  namespace: string,
  phaseStart: number,
  readAudit: () => Promise<readonly TimedAuditLine[]>,
): RolloutSampler {
  /** When each sample was taken (before its list was sent, so it sees every earlier write). */
  const sampledAt: number[] = [];
  /** Per workload, the times of the samples in which its status said complete. */
  const completeAt = new Map<string, number[]>();
  let patches: Patch[] = [];
  const samples: Sample[] = [];
  const waves: Wave[] = [];
  let running = true;

  /** The first sample after `after` (exclusive) and at or before `until` showing `name` complete. */
  const firstCompleteAfter = (name: string, after: number): number | undefined =>
    completeAt.get(name)?.find((at) => at > after);

  const sample = async () => {
    const at = Date.now();
    const list = await cluster.apps.listNamespacedDeployment({ namespace });
    for (const workload of list.items) {
      if (!rolloutComplete("Deployment", workload)) continue;
      const name = workload.metadata?.name ?? "";
      const times = completeAt.get(name) ?? [];
      times.push(at);
      completeAt.set(name, times);
    }
    sampledAt.push(at);
  };
  const refresh = async () => {
    patches = instrumentorPatches(await readAudit(), namespace, phaseStart);
  };
  const loop = (async () => {
    let tick = 0;
    while (running) {
      await sample().catch(() => undefined);
      if (tick++ % 5 === 0) await refresh().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();

  /** Whether the rollout started by `patch` is still rolling at `at`. */
  const rollingAt = (patch: Patch, at: number) =>
    patch.at <= at && (firstCompleteAfter(patch.name, patch.at) ?? Infinity) > at;

  const judge = () => {
    for (const at of sampledAt) {
      const rolling = new Set<string>();
      for (const patch of patches) {
        if (patch.at > at) break;
        if (rollingAt(patch, at)) rolling.add(patch.name);
      }
      samples.push({ at, rolling: [...rolling].sort() });
    }
    let current: { at: number; writer: string; workloads: string[] } | undefined;
    patches.forEach((patch, index) => {
      const next = sampledAt.find((at) => at >= patch.at) ?? Infinity;
      const earlierDone = patches
        .slice(0, index)
        .every((earlier) => (firstCompleteAfter(earlier.name, earlier.at) ?? Infinity) <= next);
      if (current === undefined || earlierDone) {
        current = { at: patch.at, writer: patch.writer, workloads: [] };
        waves.push(current);
      }
      current.workloads.push(patch.name);
    });
  };

  return {
    samples,
    waves,
    get completed() {
      const latest = new Map<string, Patch>();
      for (const patch of patches) latest.set(patch.name, patch);
      return new Set(
        [...latest.values()]
          .filter((patch) => firstCompleteAfter(patch.name, patch.at) !== undefined)
          .map((patch) => patch.name),
      );
    },
    stop: async () => {
      running = false;
      await loop;
      await sample();
      await refresh();
      judge();
    },
  };
}
