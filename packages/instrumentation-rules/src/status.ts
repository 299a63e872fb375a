/**
 * SPEC section 9: the status of one workload, a reading of the same decision the operator makes
 * ({@link judgeWorkload}), of the records it keeps on the workload (rollout, rollback), of the
 * workload's own rollout status, and of what the running instrumentor knows when that is given
 * (its place in line for a rollout slot, a fight, the circuit breaker, the collectors' grace).
 * A state, a reason from a closed list, one line of message and the remedy a person can apply.
 */
import {
  type Container,
  type InstrumentedApplication,
  rollsOut,
  type Workload,
} from "@odigos/crd-types";
import { describeOptIn } from "./decision.js";
import { describeDeviceProblem, isDeviceName } from "./devices.js";
import { fightRemedy, fightWriterOf } from "./fight.js";
import { type JudgeInput, judgeWorkload, type Verdict } from "./judge.js";
import {
  instrumentationFingerprint,
  readRollbackRecord,
  readRolloutRecord,
  rolloutProgress,
} from "./rollout.js";
import type { DesiredDevices } from "./types.js";

/** Where a workload stands, from a person's point of view. */
export type WorkloadState =
  /** Carries the devices it should, and its rollout is complete. */
  | "Instrumented"
  /** A rollout the instrumentor started (adding or removing devices) is under way. */
  | "RollingOut"
  /** A change is due and will be written: waiting for a slot, for the write, or a dry run. */
  | "Waiting"
  /** Carries no device, and should not (or cannot) carry any. */
  | "NotInstrumented"
  /** Should carry devices, but the instrumentor holds back (rollback, breaker, fight, config). */
  | "Held";

/** Why, from a closed list (README, "Status reasons"). */
export const StatusReasons = [
  "Instrumented",
  "NotOptedIn",
  "OptedOutByWorkload",
  "WaitingForRuntimeDetails",
  "NoDefaultSdk",
  "ConfigUnavailable",
  "CollectorsNotReady",
  "ChangePending",
  "WaitingForRolloutSlot",
  "RollingOut",
  "RolloutStuck",
  "RolledBack",
  "FightPaused",
  "CircuitBreakerOpen",
  "KindNotSupported",
  "WorkloadRefNotSupported",
  "DryRun",
] as const;
export type StatusReason = (typeof StatusReasons)[number];

/** What only the running instrumentor knows about a workload (its `/status` gives it). */
export interface LiveFacts {
  /** Its place in line for a rollout slot. */
  readonly waitingForSlot?: {
    readonly position: number;
    readonly inFlight: number;
    readonly limit: number;
  };
  /**
   * It stopped putting back devices another writer removes; it tries again at `retryAt`.
   * `writer` is its field manager, or, when `managedFields` does not record it, words that say
   * so (`an unrecorded writer (candidates: helm, gitops)`); then `candidates` lists the likeliest
   * field managers, most recent first (`attributeRemoval`).
   */
  readonly fight?: {
    readonly writer: string;
    readonly candidates?: ReadonlyArray<string>;
    readonly retryAt: string;
  };
  readonly breakerOpen?: boolean;
  /** Collectors are not ready: devices are kept this much longer. */
  readonly collectorsGraceLeftMs?: number;
  /** The instrumentor runs with `--dry-run`: nothing is written. */
  readonly dryRun?: boolean;
}

/** What the status reads: the rules' inputs, the workload itself, and the live facts if known. */
export interface StatusInput extends Omit<JudgeInput, "workload"> {
  readonly workload: Workload;
  /** Why `odigos-config` is unusable, when it failed to decode. */
  readonly configInvalid?: string | undefined;
  /** Now, ms since the epoch (rollout deadlines). */
  readonly now: number;
  /** `--rollout-timeout`: a rollout of ours not complete after this long is stuck. */
  readonly rolloutTimeoutMs: number;
  readonly live?: LiveFacts | undefined;
}

export interface WorkloadStatus {
  readonly state: WorkloadState;
  readonly reason: StatusReason;
  /** One line, e.g. "3/4 replicas updated". */
  readonly message: string;
  /** What a person can do, with the exact command where there is one. */
  readonly remedy?: string;
  /** Devices wanted per container (when the rules can choose them) and present now. */
  readonly devices: { readonly wanted?: DesiredDevices; readonly present: DesiredDevices };
}

const instrumentAnnotation = "odigos.io/instrument";

const deviceNamesIn = (list: Readonly<Record<string, unknown>> | undefined) =>
  Object.keys(list ?? {})
    .filter(isDeviceName)
    .sort();

/** The devices each container names now, in `limits` or `requests` (containers without any are absent). */
export const devicesOn = (containers: ReadonlyArray<Container>): DesiredDevices => {
  const present: Record<string, ReadonlyArray<string>> = {};
  for (const container of containers) {
    const names = new Set([
      ...deviceNamesIn(container.resources?.limits),
      ...deviceNamesIn(container.resources?.requests),
    ]);
    if (names.size > 0) present[container.name] = [...names].sort();
  }
  return present;
};

/**
 * Whether every container carries exactly its wanted devices, in `limits` only: what the device
 * planner would leave as it is (it removes devices from `requests`; containers the template
 * lacks are ignored).
 */
export const carriesExactly = (
  containers: ReadonlyArray<Container>,
  wanted: DesiredDevices,
): boolean =>
  containers.every(
    (container) =>
      deviceNamesIn(container.resources?.requests).length === 0 &&
      JSON.stringify(deviceNamesIn(container.resources?.limits)) ===
        JSON.stringify([...new Set((wanted[container.name] ?? []).filter(isDeviceName))].sort()),
  );

const isEmpty = (devices: DesiredDevices) => Object.keys(devices).length === 0;

/** `kubectl` arguments that name the workload. */
const target = (workload: Workload) =>
  `-n ${workload.metadata.namespace ?? ""} ${workload.kind.toLowerCase()} ${workload.metadata.name}`;

/** The status of a kind the instrumentor does not handle (a Job, a bare Pod, ...). */
export const unsupportedKindStatus = (kind: string): WorkloadStatus => ({
  state: "NotInstrumented",
  reason: "KindNotSupported",
  message: `${kind} is not a kind the instrumentor handles (Deployment, StatefulSet, DaemonSet, CronJob, Argo Rollout)`,
  devices: { present: {} },
});

/** An opted-in Argo Rollout whose pod template is another object's (`spec.workloadRef`). */
const workloadRefStatus = (workload: Workload): WorkloadStatus => {
  const ref = workload.spec.workloadRef;
  return {
    state: "NotInstrumented",
    reason: "WorkloadRefNotSupported",
    message: `its pod template is ${ref?.kind ?? "another object"} ${ref?.name ?? ""}'s (spec.workloadRef): the instrumentor writes only a template of the Rollout's own`,
    remedy: "move the pod template into the Rollout's spec.template",
    devices: { present: {} },
  };
};

/** The status of one workload. */
export const workloadStatus = (input: StatusInput): WorkloadStatus => {
  const { workload } = input;
  const containers = workload.spec.template.spec.containers;
  const verdict = judgeWorkload({
    ...input,
    workload: {
      namespace: workload.metadata.namespace ?? "",
      metadata: workload.metadata,
      containers,
    },
  });
  if (workload.spec.workloadRef !== undefined && verdict.optIn.optedIn)
    return workloadRefStatus(workload);
  const present = devicesOn(containers);
  return verdict.intent._tag === "Instrument"
    ? instrumentStatus(input, verdict, verdict.intent.devices, present)
    : verdict.intent._tag === "LeaveAsIs"
      ? configUnavailable(input, present)
      : uninstrumentStatus(input, verdict, present);
};

const configUnavailable = (input: StatusInput, present: DesiredDevices): WorkloadStatus => ({
  state: "Held",
  reason: "ConfigUnavailable",
  message: `odigos-config is ${input.configInvalid === undefined ? "missing or names no default SDK" : `invalid: ${input.configInvalid}`}: devices are neither added nor removed`,
  remedy: `kubectl -n ${input.odigosNamespace} get odigosconfiguration odigos-config -o yaml`,
  devices: { present },
});

/** A rollout of ours under way (or past its deadline), if the records say so. */
const rolloutUnderWay = (
  input: StatusInput,
  devices: WorkloadStatus["devices"],
): WorkloadStatus | undefined => {
  const { workload } = input;
  const record = readRolloutRecord(workload.metadata.annotations);
  if (record === undefined || !rollsOut(workload.kind)) return undefined;
  const progress = rolloutProgress(workload);
  if (
    (workload.status?.observedGeneration ?? 0) >= record.generation &&
    progress._tag === "Complete"
  )
    return undefined;
  const detail = progress._tag === "Progressing" ? progress.detail : "complete";
  const elapsed = input.now - Date.parse(record.at);
  if (elapsed >= input.rolloutTimeoutMs)
    return {
      state: "RollingOut",
      reason: "RolloutStuck",
      message: `the ${record.action} rollout started ${record.at} is not complete after the rollout timeout: ${detail}`,
      remedy: `kubectl describe ${target(workload)}; kubectl rollout status -n ${workload.metadata.namespace ?? ""} ${workload.kind.toLowerCase()}/${workload.metadata.name}`,
      devices,
    };
  return {
    state: "RollingOut",
    reason: "RollingOut",
    message: `${record.action} rollout started ${record.at}: ${detail}`,
    devices,
  };
};

const uninstrumentStatus = (
  input: StatusInput,
  verdict: Verdict,
  present: DesiredDevices,
): WorkloadStatus => {
  const devices = { present };
  const live = input.live ?? {};
  const { decision } = verdict;
  if (!isEmpty(present)) {
    if (decision.reason === "CollectorsNotReady" && (live.collectorsGraceLeftMs ?? 0) > 0)
      return {
        state: "Held",
        reason: "CollectorsNotReady",
        message: `collectors are not ready: devices kept for ${Math.ceil((live.collectorsGraceLeftMs ?? 0) / 1000)} s more of the grace period`,
        remedy: `kubectl -n ${input.odigosNamespace} get collectorsgroups`,
        devices,
      };
    return pending(input, devices, `${decision.message}: its devices are to be removed`);
  }
  const rolling = rolloutUnderWay(input, devices);
  if (rolling !== undefined) return rolling;
  const rolledBack = readRollbackRecord(input.workload.metadata.annotations);
  if (rolledBack !== undefined && decision.reason !== "NotOptedIn")
    return rolledBackStatus(input, rolledBack, devices);
  return notInstrumented(input, verdict, devices);
};

const notInstrumented = (
  input: StatusInput,
  verdict: Verdict,
  devices: WorkloadStatus["devices"],
): WorkloadStatus => {
  const { decision, optIn } = verdict;
  const base = { state: "NotInstrumented" as const, message: decision.message, devices };
  switch (decision.reason) {
    case "NotOptedIn":
      return optIn.reason === "WorkloadDisabled"
        ? {
            ...base,
            reason: "OptedOutByWorkload",
            remedy: `kubectl annotate ${target(input.workload)} ${instrumentAnnotation}=true --overwrite`,
          }
        : {
            ...base,
            reason: "NotOptedIn",
            remedy: `kubectl annotate ${target(input.workload)} ${instrumentAnnotation}=true`,
          };
    case "NoRuntimeDetails":
    case "NoLanguages":
      return {
        ...base,
        reason: "WaitingForRuntimeDetails",
        remedy:
          "runtime details come from the Odigos node agent (odiglet) once the workload's pods run",
      };
    default:
      return {
        ...base,
        reason: "CollectorsNotReady",
        remedy: `kubectl -n ${input.odigosNamespace} get collectorsgroups`,
      };
  }
};

const rolledBackStatus = (
  input: StatusInput,
  record: NonNullable<ReturnType<typeof readRollbackRecord>>,
  devices: WorkloadStatus["devices"],
): WorkloadStatus => ({
  state: "Held",
  reason: "RolledBack",
  message: `instrumentation rolled back ${record.at}: container ${record.container} ${record.reason}${record.message === undefined ? "" : ` (${record.message})`}`,
  remedy: `fix the container, then: kubectl annotate ${target(input.workload)} odigos.io/rollback-`,
  devices,
});

/** A change is due: a slot, the write itself, or a dry run that writes nothing. */
const pending = (
  input: StatusInput,
  devices: WorkloadStatus["devices"],
  what: string,
): WorkloadStatus => {
  const live = input.live ?? {};
  if (live.dryRun === true)
    return {
      state: "Waiting",
      reason: "DryRun",
      message: `${what} (dry run: nothing is written)`,
      devices,
    };
  if (live.waitingForSlot !== undefined) {
    const { position, inFlight, limit } = live.waitingForSlot;
    return {
      state: "Waiting",
      reason: "WaitingForRolloutSlot",
      message: `${what}: waiting for a rollout slot, position ${position} (${inFlight} rolling, ${limit} allowed)`,
      devices,
    };
  }
  return { state: "Waiting", reason: "ChangePending", message: what, devices };
};

const instrumentStatus = (
  input: StatusInput,
  verdict: Verdict,
  wanted: DesiredDevices,
  present: DesiredDevices,
): WorkloadStatus => {
  const devices = { wanted, present };
  const intent = verdict.intent._tag === "Instrument" ? verdict.intent : undefined;
  if (isEmpty(wanted) && isEmpty(present))
    return {
      state: "NotInstrumented",
      reason: "NoDefaultSdk",
      message:
        (intent?.problems ?? []).map(describeDeviceProblem).join("; ") ||
        "no device for any language",
      remedy: `kubectl -n ${input.odigosNamespace} edit odigosconfiguration odigos-config (spec.defaultSDKs)`,
      devices,
    };
  const rolledBack = readRollbackRecord(input.workload.metadata.annotations);
  if (
    rolledBack !== undefined &&
    rolledBack.fingerprint === fingerprintOf(input.runtimeDetails, wanted)
  )
    return rolledBackStatus(input, rolledBack, devices);
  if (!carriesExactly(input.workload.spec.template.spec.containers, wanted))
    return heldOrPending(input, verdict, devices);
  return (
    rolloutUnderWay(input, devices) ?? {
      state: "Instrumented",
      reason: "Instrumented",
      message: describeOptIn(verdict.optIn),
      devices,
    }
  );
};

/** Devices are to be added or changed: unless the breaker or a fight holds it back. */
const heldOrPending = (
  input: StatusInput,
  verdict: Verdict,
  devices: WorkloadStatus["devices"],
): WorkloadStatus => {
  const live = input.live ?? {};
  if (live.breakerOpen === true)
    return {
      state: "Held",
      reason: "CircuitBreakerOpen",
      message: "the circuit breaker is open: no new instrumentation starts anywhere",
      remedy: `kubectl -n ${input.odigosNamespace} annotate odigosconfiguration odigos-config odigos.io/reset-breaker=$(date +%s) --overwrite`,
      devices,
    };
  if (live.fight !== undefined)
    return {
      state: "Held",
      reason: "FightPaused",
      message: `${live.fight.writer} keeps removing the devices: not put back before ${live.fight.retryAt}`,
      remedy: `${fightRemedy(fightWriterOf(live.fight))}, or opt it out`,
      devices,
    };
  return pending(input, devices, `${describeOptIn(verdict.optIn)}: devices to be written`);
};

const fingerprintOf = (
  runtimeDetails: InstrumentedApplication | undefined,
  devices: DesiredDevices,
) =>
  instrumentationFingerprint({
    runtimeDetailsUid: runtimeDetails?.metadata.uid ?? "",
    languages: runtimeDetails?.spec?.languages ?? [],
    devices,
  });
