/**
 * `explain`: the whole chain for one workload, in the order the operator decides: how it is
 * opted in (and by which marker), its runtime details and the device each language gets, the
 * collectors, the devices wanted and present, its rollout and rollback records, and the status
 * with what happens next.
 */
import {
  rollsOut,
  runtimeObjectName,
  UnsupportedKinds,
  type Workload,
  type WorkloadKind,
  WorkloadKinds,
  workloadKey,
} from "@odigos/crd-types";
import {
  describeDeviceProblem,
  judgeWorkload,
  readMarker,
  readRollbackRecord,
  readRolloutRecord,
  rolloutProgress,
  type StatusReason,
  type WorkloadStatus,
} from "@odigos/instrumentation-rules";
import * as Either from "effect/Either";
import { desiredPods, type FleetOptions, liveSummary, statusIn } from "./fleet.js";
import { describeDevices } from "./render.js";
import type { ClusterSnapshot } from "./snapshot.js";

/** `NS/KIND/NAME` (kind in any case: `deployment`, `Deployment`). */
export const parseTarget = (
  text: string,
): Either.Either<{ namespace: string; kind: WorkloadKind; name: string }, string> => {
  const [namespace = "", kindText = "", name = "", ...rest] = text.split("/");
  const kind = WorkloadKinds.find((known) => known.toLowerCase() === kindText.toLowerCase());
  if (namespace === "" || name === "" || rest.length > 0 || kind === undefined) {
    const unsupported = UnsupportedKinds.get(kindText.toLowerCase());
    return Either.left(
      `"${text}" is not NAMESPACE/KIND/NAME with KIND one of ${WorkloadKinds.join(", ")}${unsupported === undefined ? "" : ` (a ${unsupported} is not a kind the instrumentor handles: status shows its runtime details as KindNotSupported)`}`,
    );
  }
  return Either.right({ namespace, kind, name });
};

const markerLine = (label: string, metadata: Parameters<typeof readMarker>[0]) => {
  const marker = readMarker(metadata);
  return marker._tag === "Absent"
    ? `${label}: no marker`
    : marker._tag === "Enabled"
      ? `${label}: enabled (${marker.source})`
      : `${label}: disabled (${marker.source} "${marker.value}")`;
};

/** What the instrumentor does next about a workload with this reason. */
const nextStep: Readonly<Record<StatusReason, string>> = {
  Instrumented:
    "nothing: it carries its devices and its rollout is complete; a change of its opt-in, runtime details, odigos-config or the collectors is acted on at once",
  NotOptedIn: "nothing until it (or its namespace) is opted in",
  OptedOutByWorkload: "nothing until its own odigos.io/instrument is true",
  WaitingForRuntimeDetails:
    "adds the devices once its runtime details name a language (the node agent writes them)",
  NoDefaultSdk: "nothing until odigos-config names a default SDK for its language",
  ConfigUnavailable: "neither adds nor removes devices until odigos-config is valid",
  CollectorsNotReady:
    "adds the devices once a data-collection CollectorsGroup is ready; devices present are removed when the grace period ends",
  ChangePending: "writes the change on its next reconcile",
  WaitingForRolloutSlot: "writes the change when a rollout slot frees",
  RollingOut:
    "waits for the rollout to complete, then frees its slot; rolls back if an instrumented pod crash-loops or never becomes ready",
  RolloutStuck: "has freed its rollout slot; a person looks at why the rollout does not progress",
  RolledBack: "nothing until the rollback record is removed or its runtime details change",
  FightPaused: "puts the devices back when the fight pause ends, once",
  CircuitBreakerOpen:
    "starts no new instrumentation until the breaker is reset or odigos-config changes",
  KindNotSupported: "nothing",
  WorkloadRefNotSupported:
    "nothing until the Rollout's pod template is its own (spec.template, not spec.workloadRef)",
  DryRun: "nothing: the instrumentor runs with --dry-run",
};

const podsLine = (snapshot: ClusterSnapshot, workload: Workload) => {
  const pods = snapshot.pods.get(
    workloadKey({
      kind: workload.kind,
      namespace: workload.metadata.namespace ?? "",
      name: workload.metadata.name,
    }),
  );
  const withDevice = pods?.withDevice ?? [];
  const without = pods?.withoutDevice ?? [];
  const desired = desiredPods(workload);
  const of =
    desired === null ? "of its Jobs' pods (it wants none between runs)" : `of ${desired} wanted`;
  return `pods:       ${withDevice.length} ${of} carry a device${withDevice.length === 0 ? "" : ` (${withDevice.join(", ")})`}; ${without.length} without${without.length === 0 ? "" : ` (${without.join(", ")})`}`;
};

/** The rollout record and progress; a CronJob has none: its next Job starts from the template. */
const rolloutLine = (workload: Workload) => {
  const rollout = readRolloutRecord(workload.metadata.annotations);
  const record =
    rollout === undefined
      ? "no record"
      : `${rollout.action} at ${rollout.at} (generation ${rollout.generation})`;
  if (!rollsOut(workload.kind))
    return `rollout:    none for a ${workload.kind}: its next Job picks the template up (${record})`;
  const progress = rolloutProgress(workload);
  return `rollout:    ${record}; ${progress._tag === "Complete" ? "complete" : progress.detail}`;
};

/** A Rollout whose pod template is another object's. */
const templateLines = (workload: Workload) => {
  const ref = workload.spec.workloadRef;
  return ref === undefined
    ? []
    : [
        `template:   spec.workloadRef ${ref.kind ?? "?"} ${ref.name ?? "?"} (${ref.apiVersion ?? "no apiVersion"}): not supported`,
      ];
};

const liveLine = (options: FleetOptions) => {
  const live = liveSummary(options.live);
  return "unavailable" in live
    ? `instrumentor: live facts unavailable (${live.unavailable}); queue position, fight, breaker and grace not shown`
    : `instrumentor: live facts from ${live.source} at ${live.at}`;
};

/** The lines of `explain` for one workload of the snapshot. */
export const explainLines = (
  snapshot: ClusterSnapshot,
  workload: Workload,
  options: FleetOptions,
): ReadonlyArray<string> => {
  const namespace = workload.metadata.namespace ?? "";
  const ns = snapshot.namespaces.get(namespace);
  const status: WorkloadStatus = statusIn(snapshot, workload, options);
  const details = snapshot.runtimeDetails.get(
    `${namespace}/${runtimeObjectName(workload.kind, workload.metadata.name)}`,
  );
  const verdict = judgeWorkload({
    workload: {
      namespace,
      metadata: workload.metadata,
      containers: workload.spec.template.spec.containers,
    },
    namespace: ns?.metadata,
    odigosNamespace: snapshot.odigosNamespace,
    runtimeDetails: details,
    collectorsReady: snapshot.collectorsReady,
    config: snapshot.config,
  });
  const rollback = readRollbackRecord(workload.metadata.annotations);
  const problems = verdict.intent._tag === "Instrument" ? verdict.intent.problems : [];
  return [
    `${workloadKey({ kind: workload.kind, namespace, name: workload.metadata.name })}`,
    `  state:    ${status.state} (${status.reason}): ${status.message}`,
    ...(status.remedy === undefined ? [] : [`  remedy:   ${status.remedy}`]),
    `opt-in:     ${verdict.optIn.optedIn ? "yes" : "no"} (${verdict.optIn.reason})`,
    `  ${markerLine("workload", workload.metadata)}`,
    `  ${markerLine(`namespace ${namespace}`, ns?.metadata)}`,
    `runtime details: ${details === undefined ? "none" : `${details.metadata.name}: ${(details.spec?.languages ?? []).map((entry) => `${entry.containerName}=${entry.language}`).join(", ") || "no language"}`}`,
    ...problems.map((problem) => `  ${describeDeviceProblem(problem)}`),
    `collectors: ${snapshot.collectorsGroups.map((group) => `${group.metadata.name} (${group.spec.role}) ready=${group.status?.ready === true}`).join(", ") || "none"}`,
    `odigos-config: ${snapshot.config !== undefined ? "present" : (snapshot.configInvalid ?? "missing")}`,
    ...templateLines(workload),
    `devices:    wanted ${describeDevices(status.devices.wanted ?? {})}; present ${describeDevices(status.devices.present)}`,
    rolloutLine(workload),
    podsLine(snapshot, workload),
    `rollback:   ${rollback === undefined ? "none" : `${rollback.reason} of ${rollback.container} at ${rollback.at}`}`,
    liveLine(options),
    `next:       ${nextFor(workload, status.reason)}`,
  ];
};

/** The next step; an instrumented CronJob has no rollout to complete: its Jobs pick the template up. */
const nextFor = (workload: Workload, reason: StatusReason): string =>
  reason === "Instrumented" && !rollsOut(workload.kind)
    ? "nothing: its Job template carries its devices, and every Job it starts from now on runs with them; a change of its opt-in, runtime details, odigos-config or the collectors is acted on at once"
    : nextStep[reason];
