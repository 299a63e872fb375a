/**
 * SPEC section 8, the pure parts: when a workload's rollout is complete, the records the
 * instrumentor keeps on a workload (the rollout it started, a rollback), the fingerprint of the
 * inputs an instrumentation was made for, and what a pod says about the health of its revision.
 */
import {
  DeviceResourcePrefix,
  type Pod,
  RollbackAnnotation,
  RolloutAnnotation,
  type Workload,
} from "@odigos/crd-types";

/** Where a workload's rollout stands, from its own status. */
export type RolloutProgress =
  | { readonly _tag: "Complete" }
  | { readonly _tag: "Progressing"; readonly detail: string };

const progressing = (detail: string): RolloutProgress => ({ _tag: "Progressing", detail });
const complete: RolloutProgress = { _tag: "Complete" };

/**
 * A rollout is complete when the controller has seen the current spec (`observedGeneration`)
 * and every replica (every node, for a DaemonSet) runs the new template and is available; a
 * workload with 0 replicas completes at once. A CronJob has no rollout: its next Job starts
 * from the template as written. An Argo Rollout is complete when Argo Rollouts says so
 * (see `argoRolloutProgress` below).
 */
export const rolloutProgress = (workload: Workload): RolloutProgress => {
  if (workload.kind === "CronJob") return complete;
  const status = workload.status ?? {};
  const generation = workload.metadata.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation)
    return progressing(`generation ${generation} not yet observed by its controller`);
  if (workload.kind === "Rollout") return argoRolloutProgress(workload);
  if (workload.kind === "DaemonSet") {
    const desired = status.desiredNumberScheduled ?? 0;
    const updated = status.updatedNumberScheduled ?? 0;
    const available = status.numberAvailable ?? 0;
    if (updated < desired) return progressing(`${updated}/${desired} nodes updated`);
    if (available < desired) return progressing(`${available}/${desired} nodes available`);
    return complete;
  }
  const replicas = workload.spec.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const ready =
    (workload.kind === "StatefulSet" ? status.readyReplicas : status.availableReplicas) ?? 0;
  if (updated < replicas) return progressing(`${updated}/${replicas} replicas updated`);
  if (ready < replicas)
    return progressing(
      `${ready}/${replicas} replicas ${workload.kind === "StatefulSet" ? "ready" : "available"}`,
    );
  if ((status.replicas ?? 0) > updated)
    return progressing(`${(status.replicas ?? 0) - updated} old replicas still running`);
  if (
    workload.kind === "StatefulSet" &&
    status.updateRevision !== undefined &&
    status.currentRevision !== status.updateRevision
  )
    return progressing(`revision ${status.updateRevision} not yet current`);
  return complete;
};

/**
 * An Argo Rollout's progress as Argo Rollouts reports it: complete when its phase is `Healthy`
 * (every canary step or blue-green promotion done, the new ReplicaSet stable) and every replica
 * is updated and available. An abort (Argo's own, or a person's) and a pause keep it
 * progressing: the instrumentor's deadline, not Argo's verdict, decides when it is stuck.
 */
const argoRolloutProgress = (rollout: Workload): RolloutProgress => {
  const status = rollout.status ?? {};
  const phase = status.phase ?? "unknown";
  if (status.abort === true) return progressing(`aborted by Argo Rollouts (phase ${phase})`);
  if (phase !== "Healthy") return progressing(`Argo Rollouts phase ${phase}`);
  if (status.currentPodHash !== undefined && status.currentPodHash !== status.stableRS)
    return progressing(`ReplicaSet ${status.currentPodHash} not yet stable`);
  const replicas = rollout.spec.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < replicas) return progressing(`${updated}/${replicas} replicas updated`);
  if (available < replicas) return progressing(`${available}/${replicas} replicas available`);
  return complete;
};

/** What a rollout the instrumentor started was for. */
export type RolloutAction = "instrument" | "uninstrument" | "rollback";

/** The record of the last rollout the instrumentor started on a workload. */
export interface RolloutRecord {
  readonly action: RolloutAction;
  /** When it was written, RFC 3339. */
  readonly at: string;
  /** The workload's generation the write produced: the rollout is of this generation (or a later one). */
  readonly generation: number;
}

/** Why and when a workload's instrumentation was rolled back, and for which inputs. */
export interface RollbackRecord {
  readonly reason: "CrashLoopBackOff" | "RestartingContainer" | "NotReady";
  readonly container: string;
  readonly at: string;
  /** `instrumentationFingerprint` of the inputs that were rolled back. */
  readonly fingerprint: string;
  /** `resourceVersion` of `odigos-config` at the time: the circuit breaker counts rollbacks under it. */
  readonly configVersion: string;
  readonly message?: string;
}

const parseJson = (text: string | undefined): Record<string, unknown> | undefined => {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

/** The rollout record of a workload's annotations, if there is a valid one. */
export const readRolloutRecord = (
  annotations: Readonly<Record<string, string>> | undefined,
): RolloutRecord | undefined => {
  const value = parseJson(annotations?.[RolloutAnnotation]);
  if (value === undefined) return undefined;
  const { action, at, generation } = value;
  if (action !== "instrument" && action !== "uninstrument" && action !== "rollback")
    return undefined;
  if (typeof at !== "string" || typeof generation !== "number") return undefined;
  return { action, at, generation };
};

/** The rollback record of a workload's annotations, if there is a valid one. */
export const readRollbackRecord = (
  annotations: Readonly<Record<string, string>> | undefined,
): RollbackRecord | undefined => {
  const value = parseJson(annotations?.[RollbackAnnotation]);
  if (value === undefined) return undefined;
  const { reason, container, at, fingerprint, configVersion, message } = value;
  if (reason !== "CrashLoopBackOff" && reason !== "RestartingContainer" && reason !== "NotReady")
    return undefined;
  if (typeof container !== "string" || typeof at !== "string" || typeof fingerprint !== "string")
    return undefined;
  return {
    reason,
    container,
    at,
    fingerprint,
    configVersion: typeof configVersion === "string" ? configVersion : "",
    ...(typeof message === "string" ? { message } : {}),
  };
};

/** FNV-1a, 32 bits, as 8 hex digits: a short stable fingerprint, not a security hash. */
const fnv1a = (text: string): string => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
};

/**
 * The inputs an instrumentation is made for: the runtime details object (its UID: a new one after
 * the node agent re-creates it), their languages, and the devices chosen (the default SDKs).
 */
export const instrumentationFingerprint = (input: {
  readonly runtimeDetailsUid: string;
  readonly languages: ReadonlyArray<{ readonly containerName: string; readonly language: string }>;
  readonly devices: Readonly<Record<string, ReadonlyArray<string>>>;
}): string => {
  const languages = input.languages
    .map((entry) => `${entry.containerName}:${entry.language}`)
    .sort();
  const devices = Object.keys(input.devices)
    .sort()
    .map((container) => `${container}=${[...(input.devices[container] ?? [])].sort().join("+")}`);
  return fnv1a(JSON.stringify([input.runtimeDetailsUid, languages, devices]));
};

/** True when any container of the pod asks for an instrumentation device. */
export const podCarriesDevices = (pod: Pod): boolean =>
  pod.spec.containers.some((container) =>
    Object.keys(container.resources?.limits ?? {}).some((name) =>
      name.startsWith(DeviceResourcePrefix),
    ),
  );

/** What is wrong with a pod of an instrumented revision, if anything. */
export type PodProblem =
  /** A container restarts again and again (`CrashLoopBackOff`, or the restart count passed the threshold). */
  | {
      readonly _tag: "CrashLoop";
      readonly container: string;
      readonly reason: "CrashLoopBackOff" | "RestartingContainer";
      readonly restarts: number;
      readonly detail: string;
    }
  /** The pod cannot be placed: no node has what it asks for. Not the agent's fault: a stuck rollout. */
  | { readonly _tag: "Unschedulable"; readonly detail: string }
  /** Running, but not Ready. */
  | { readonly _tag: "NotReady"; readonly container: string; readonly detail: string };

/** The first problem of a pod, most serious first; undefined for a healthy (or just starting) pod. */
export const podProblem = (pod: Pod, restartThreshold: number): PodProblem | undefined => {
  const statuses = pod.status?.containerStatuses ?? [];
  for (const status of statuses) {
    const waiting = status.state?.waiting?.reason;
    const restarts = status.restartCount ?? 0;
    const last = status.lastState?.terminated?.reason;
    if (waiting === "CrashLoopBackOff" || restarts >= restartThreshold) {
      const reason = waiting === "CrashLoopBackOff" ? "CrashLoopBackOff" : "RestartingContainer";
      const detail = `container ${status.name} of pod ${pod.metadata.name}: ${reason}, ${restarts} restarts${last === undefined ? "" : ` (last: ${last})`}`;
      return { _tag: "CrashLoop", container: status.name, reason, restarts, detail };
    }
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled");
  if (scheduled?.status === "False")
    return {
      _tag: "Unschedulable",
      detail:
        `pod ${pod.metadata.name} is not scheduled: ${scheduled.reason ?? ""} ${scheduled.message ?? ""}`.trim(),
    };
  if (pod.status?.phase === "Running") {
    const notReady = statuses.find((status) => status.ready === false);
    if (notReady !== undefined)
      return {
        _tag: "NotReady",
        container: notReady.name,
        detail: `container ${notReady.name} of pod ${pod.metadata.name} is running but not ready`,
      };
  }
  return undefined;
};
