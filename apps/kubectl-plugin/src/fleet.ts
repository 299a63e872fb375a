/**
 * The status of every workload of a snapshot, by the library's `workloadStatus` (the rules the
 * operator decides by), sorted so that what needs a person comes first, with counts by state and
 * reason; and a row for each runtime details of a kind the instrumentor does not handle (a Job, a
 * bare Pod), by `unsupportedKindStatus`. Pure: the same snapshot always gives the same report.
 */
import {
  type InstrumentedApplication,
  runtimeObjectName,
  unsupportedKindOf,
  type Workload,
  type WorkloadKind,
  workloadKey,
} from "@odigos/crd-types";
import {
  type LiveFacts,
  type StatusReason,
  sharedLiveFacts,
  unsupportedKindStatus,
  type WorkloadState,
  type WorkloadStatus,
  workloadStatus,
} from "@odigos/instrumentation-rules";
import type { LiveSource } from "./leader.js";
import type { ClusterSnapshot } from "./snapshot.js";

/**
 * Pods that have not ended and carry a device (a CronJob's: its Jobs' pods), and the pods the
 * workload wants (null for a CronJob: it wants none between runs).
 */
export interface PodCounts {
  readonly withDevice: number;
  readonly desired: number | null;
}

export interface StatusRow extends WorkloadStatus {
  readonly namespace: string;
  /** A {@link WorkloadKind}, or a kind the instrumentor does not handle (`Job`, `Pod`, ...). */
  readonly kind: string;
  readonly name: string;
  /** Null for a kind the instrumentor does not handle: its pods are not read. */
  readonly pods: PodCounts | null;
}

/** Where the live facts came from, or why there are none. */
export type LiveSummary =
  | { readonly source: string; readonly at: string }
  | { readonly unavailable: string };

export interface FleetReport {
  readonly total: number;
  readonly byState: Readonly<Partial<Record<WorkloadState, number>>>;
  readonly byReason: Readonly<Partial<Record<StatusReason, number>>>;
  readonly rows: ReadonlyArray<StatusRow>;
  /** Objects that failed to decode, as the operator reports them. */
  readonly invalid: ReadonlyArray<string>;
  readonly live: LiveSummary;
}

export interface FleetOptions {
  readonly now: number;
  /** The operator's `--rollout-timeout` when its `/status` cannot tell (10 minutes by default). */
  readonly rolloutTimeoutMs: number;
  /** What the running instrumentor knows, when it could be asked. */
  readonly live: LiveSource;
}

/**
 * The pods a workload wants: its replicas (a Rollout's `spec.replicas` too), or a DaemonSet's
 * nodes; null for a CronJob, which has no replicas (its Jobs' pods come and go with its schedule).
 */
export const desiredPods = (workload: Workload): number | null =>
  workload.kind === "CronJob"
    ? null
    : workload.kind === "DaemonSet"
      ? (workload.status?.desiredNumberScheduled ?? 0)
      : (workload.spec.replicas ?? 1);

/** Where the live facts came from, or why there are none. */
export const liveSummary = (live: LiveSource): LiveSummary =>
  live._tag === "Reached"
    ? {
        source: `pod ${live.pod} (the leader's /status, by the pods proxy)`,
        at: live.view.instrumentor.at,
      }
    : { unavailable: live.reason };

/**
 * Lower first: a person acts on these (held, stuck), then what is under way, then the rest; a
 * choice (not opted in, opted out), then a kind the instrumentor does not handle, last.
 */
const urgency = (row: WorkloadStatus): number => {
  if (row.reason === "KindNotSupported") return 6;
  if (row.state === "Held" || row.reason === "RolloutStuck") return 0;
  if (row.state === "Waiting") return 1;
  if (row.state === "RollingOut") return 2;
  if (
    row.state === "NotInstrumented" &&
    row.reason !== "NotOptedIn" &&
    row.reason !== "OptedOutByWorkload"
  )
    return 3;
  if (row.state === "Instrumented") return 4;
  return 5;
};

/** One workload's status from a snapshot. */
export const statusIn = (
  snapshot: ClusterSnapshot,
  workload: Workload,
  options: FleetOptions,
): WorkloadStatus => {
  const namespace = workload.metadata.namespace ?? "";
  const { live } = options;
  const facts: LiveFacts | undefined =
    live._tag === "Reached"
      ? (live.view.byWorkload.get(
          workloadKey({ kind: workload.kind, namespace, name: workload.metadata.name }),
        ) ?? sharedLiveFacts(live.view.instrumentor))
      : undefined;
  return workloadStatus({
    workload,
    namespace: snapshot.namespaces.get(namespace)?.metadata,
    odigosNamespace: snapshot.odigosNamespace,
    runtimeDetails: snapshot.runtimeDetails.get(
      `${namespace}/${runtimeObjectName(workload.kind, workload.metadata.name)}`,
    ),
    collectorsReady: snapshot.collectorsReady,
    config: snapshot.config,
    configInvalid: snapshot.configInvalid,
    now: options.now,
    rolloutTimeoutMs:
      live._tag === "Reached" ? live.view.instrumentor.rolloutTimeoutMs : options.rolloutTimeoutMs,
    live: facts,
  });
};

/**
 * The row of runtime details that name a kind the instrumentor does not handle (`job-migrate`),
 * as the operator reports them; undefined for any other.
 */
export const unsupportedKindRow = (details: InstrumentedApplication): StatusRow | undefined => {
  const unsupported = unsupportedKindOf(details.metadata.name);
  if (unsupported === undefined) return undefined;
  const status = unsupportedKindStatus(unsupported.kind);
  const through =
    unsupported.kind === "Job" ? " (a CronJob's Jobs are instrumented through the CronJob)" : "";
  return {
    ...status,
    message: `${status.message}${through}`,
    namespace: details.metadata.namespace ?? "",
    kind: unsupported.kind,
    name: unsupported.name,
    pods: null,
  };
};

const workloadRow = (
  snapshot: ClusterSnapshot,
  workload: Workload,
  options: FleetOptions,
): StatusRow => {
  const ref = {
    namespace: workload.metadata.namespace ?? "",
    kind: workload.kind,
    name: workload.metadata.name,
  };
  return {
    ...ref,
    ...statusIn(snapshot, workload, options),
    pods: {
      withDevice: snapshot.pods.get(workloadKey(ref))?.withDevice.length ?? 0,
      desired: desiredPods(workload),
    },
  };
};

export const fleetReport = (snapshot: ClusterSnapshot, options: FleetOptions): FleetReport => {
  const rows: Array<StatusRow> = [
    ...snapshot.workloads.map((workload) => workloadRow(snapshot, workload, options)),
    ...[...snapshot.runtimeDetails.values()].flatMap(
      (details) => unsupportedKindRow(details) ?? [],
    ),
  ];
  rows.sort(
    (a, b) =>
      urgency(a) - urgency(b) ||
      a.namespace.localeCompare(b.namespace) ||
      a.kind.localeCompare(b.kind) ||
      a.name.localeCompare(b.name),
  );
  const byState: Partial<Record<WorkloadState, number>> = {};
  const byReason: Partial<Record<StatusReason, number>> = {};
  for (const row of rows) {
    byState[row.state] = (byState[row.state] ?? 0) + 1;
    byReason[row.reason] = (byReason[row.reason] ?? 0) + 1;
  }
  return {
    total: rows.length,
    byState,
    byReason,
    rows,
    invalid: snapshot.invalid.map((error) => error.message),
    live: liveSummary(options.live),
  };
};
