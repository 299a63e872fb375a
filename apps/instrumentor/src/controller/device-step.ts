/**
 * What to do with a workload's devices now, between the rules' answer and the write (SPEC
 * section 8): roll back an instrumentation whose pods crash-loop; hold an instrumenting write
 * for a rollback on the same inputs, an open circuit breaker, a fight with another writer, or a
 * workload already crash-looping; hold a removal while collectors are not ready for less than
 * the grace period; and otherwise write, once the rollout budget grants a slot.
 */
import {
  type InstrumentedApplication,
  type Workload,
  type WorkloadRef,
  workloadKey,
} from "@odigos/crd-types";
import { type DevicePlan, type DevicePlanTarget, planDevices } from "@odigos/device-patcher";
import {
  describeFightWriter,
  type FightWriter,
  fightCandidates,
  fightRemedy,
  instrumentationFingerprint,
  type RollbackRecord,
  type RolloutAction,
  readRollbackRecord,
  unrecordedWriterNote,
} from "@odigos/instrumentation-rules";
import type { KubeError } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import type { Logger } from "pino";
import { type ClusterStateApi, carriesDevices } from "../cache/cluster-state.js";
import type { EventRecorderApi } from "../observability/events.js";
import type { MetricsApi } from "../observability/metrics.js";
import type { FightVerdict } from "../rollouts/guards.js";
import type { Observation, RolloutsApi } from "../rollouts/rollouts.js";
import { type Verdict, workloadTarget } from "./verdict.js";

/** The device part of a reconcile. */
export type Step =
  /** Write this (devices and rollout records in one patch), once a slot is granted. */
  | {
      readonly _tag: "Write";
      readonly intent: DevicePlanTarget;
      /** The device changes towards `intent` from the cached workload (annotations not yet added). */
      readonly devices: DevicePlan;
      readonly action: RolloutAction;
      readonly annotations: Record<string, string | null>;
      readonly reason: string;
      readonly message: string;
    }
  /** Write nothing now; look again after `recheckMs` if given. */
  | { readonly _tag: "Hold"; readonly recheckMs?: number | undefined }
  /** The rules cannot choose devices (no usable odigos-config): leave them. */
  | { readonly _tag: "LeaveAsIs" };

export interface StepInput {
  readonly ref: WorkloadRef;
  readonly workload: Workload;
  readonly runtimeDetails: InstrumentedApplication | undefined;
  readonly verdict: Verdict;
  readonly observation: Observation;
  readonly now: number;
}

const fieldsOf = (ref: WorkloadRef) => ({
  workload: ref.name,
  namespace: ref.namespace,
  kind: ref.kind,
});
const hold = (recheckMs?: number): Step => ({ _tag: "Hold", recheckMs });
const uninstrumented: DevicePlanTarget = { _tag: "Uninstrument" };
/** The writer in a log line: in words, whether `managedFields` records it, and the candidates if not. */
const writerFields = (writer: FightWriter) => ({
  writer: describeFightWriter(writer),
  writerRecorded: writer._tag === "Recorded",
  ...(writer._tag === "Unrecorded" ? { candidates: writer.candidates } : {}),
});
const formatMs = (ms: number) =>
  ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;

export class DeviceStepPlanner {
  constructor(
    private readonly state: ClusterStateApi,
    private readonly rollouts: RolloutsApi,
    private readonly log: Logger,
    private readonly events: EventRecorderApi,
    private readonly metrics: MetricsApi,
  ) {}

  plan(input: StepInput): Effect.Effect<Step, KubeError> {
    const { verdict, observation } = input;
    if (observation._tag === "RollBack") return Effect.succeed(this.rollBack(input, observation));
    if (verdict.intent._tag === "LeaveAsIs") return Effect.succeed({ _tag: "LeaveAsIs" });
    if (verdict.intent._tag === "Uninstrument") return Effect.succeed(this.uninstrument(input));
    return this.instrument(input, verdict.intent);
  }

  private fingerprint(
    input: StepInput,
    devices: Readonly<Record<string, ReadonlyArray<string>>>,
  ): string {
    return instrumentationFingerprint({
      runtimeDetailsUid: input.runtimeDetails?.metadata.uid ?? "",
      languages: input.runtimeDetails?.spec?.languages ?? [],
      devices,
    });
  }

  private configVersion(): string {
    const configuration = this.state.configuration();
    return configuration._tag === "Available" ? configuration.config.metadata.resourceVersion : "";
  }

  private rollBack(
    input: StepInput,
    observation: Extract<Observation, { _tag: "RollBack" }>,
  ): Step {
    const { workload, now } = input;
    const devices = input.verdict.intent._tag === "Instrument" ? input.verdict.intent.devices : {};
    const record: RollbackRecord = {
      reason: observation.reason,
      container: observation.container,
      at: new Date(now).toISOString(),
      fingerprint: this.fingerprint(input, devices),
      configVersion: this.configVersion(),
      message: observation.detail,
    };
    const message = `instrumentation rolled back: ${observation.detail}; not instrumented again until its runtime details, default SDK or opt-in change, or the ${"odigos.io/rollback"} annotation is removed`;
    return {
      _tag: "Write",
      intent: uninstrumented,
      devices: planDevices(workload, uninstrumented),
      action: "rollback",
      annotations: this.rollouts.annotations("rollback", workload, now, record),
      reason: observation.reason,
      message,
    };
  }

  private uninstrument(input: StepInput): Step {
    const { ref, workload, verdict, now } = input;
    const grace = this.rollouts.settings.collectorsUnreadyGraceMs;
    const since = this.state.collectorsNotReadySince();
    if (
      verdict.decision.reason === "CollectorsNotReady" &&
      grace > 0 &&
      since !== undefined &&
      now - since < grace &&
      carriesDevices(workload)
    ) {
      this.log.debug(
        { ...fieldsOf(ref), reason: "CollectorsUnreadyGrace", graceLeftMs: grace - (now - since) },
        "collectors not ready: devices kept during the grace period",
      );
      return hold(grace - (now - since));
    }
    return {
      _tag: "Write",
      intent: uninstrumented,
      devices: planDevices(workload, uninstrumented),
      action: "uninstrument",
      annotations: this.rollouts.annotations("uninstrument", workload, now),
      reason: verdict.decision.reason,
      message: verdict.decision.message,
    };
  }

  /** Plain code; an effect only when the API server must be asked whether its pods crash-loop. */
  private instrument(
    input: StepInput,
    intent: Extract<Verdict["intent"], { _tag: "Instrument" }>,
  ): Effect.Effect<Step, KubeError> {
    const { ref, workload, verdict, now } = input;
    const fingerprint = this.fingerprint(input, intent.devices);
    // The circuit breaker is judged on every decision to instrument, the rolled-back workload's
    // own included: it opens (and says so) with the rollback that reaches the threshold, not when
    // the next workload asks.
    const breaker = this.rollouts.breaker.state(this.configVersion(), now);
    if (breaker.changed) this.reportBreaker(breaker.open, breaker.count);
    const rolledBack = readRollbackRecord(workload.metadata.annotations);
    if (rolledBack !== undefined && rolledBack.fingerprint === fingerprint)
      return Effect.succeed(hold());
    const devices = planDevices(workload, intent);
    const write = (): Step => ({
      _tag: "Write",
      intent,
      devices,
      action: "instrument",
      annotations: this.rollouts.annotations("instrument", workload, now),
      reason: verdict.decision.reason,
      message: verdict.decision.message,
    });
    const addsDevices = devices._tag === "Patch" && devices.summary.added.length > 0;
    if (!addsDevices) return Effect.succeed(write());
    // The circuit breaker, or a fight with another writer, holds a write that adds devices.
    if (breaker.open) return Effect.succeed(hold(60_000));
    const fight = this.rollouts.fights.judge(workloadKey(ref), workload, fingerprint, now);
    if (fight._tag === "Stop") return this.paused(ref, workload, fight, now);
    if (fight._tag === "PutBack") this.putBack(ref, fight);
    if (carriesDevices(workload)) return Effect.succeed(write());
    return Effect.map(this.rollouts.crashLoopingBefore(ref, workload), (problem) =>
      problem?._tag === "CrashLoop" ? this.unhealthy(ref, workload, problem.detail) : write(),
    );
  }

  private putBack(ref: WorkloadRef, fight: Extract<FightVerdict, { _tag: "PutBack" }>): void {
    const { fightLimit, fightWindowMs } = this.rollouts.settings;
    const writer = describeFightWriter(fight.writer);
    this.log.info(
      {
        ...fieldsOf(ref),
        reason: "DevicesRemovedByAnotherWriter",
        ...writerFields(fight.writer),
        putBacks: fight.putBacks,
      },
      `${writer} removed the instrumentation devices: putting them back (${fight.putBacks} of at most ${fightLimit} in ${formatMs(fightWindowMs)})`,
    );
  }

  /** Put-backs stopped: said once, with the fullest account of the writer there is. */
  private paused(
    ref: WorkloadRef,
    workload: Workload,
    fight: Extract<FightVerdict, { _tag: "Stop" }>,
    now: number,
  ): Effect.Effect<Step> {
    // Looked at again when the pause ends (not a window after each look during it).
    const held = hold(Math.max(1, fight.retryAt - now));
    if (!fight.newly) return Effect.succeed(held);
    return Effect.map(this.fullAccount(ref, fight.writer), (writer) => {
      this.rollouts.fights.attributed(workloadKey(ref), writer);
      this.reportFight(ref, workload, writer, fight.putBacks);
      return held;
    });
  }

  /**
   * An unrecorded writer's candidates from every field manager the API server has for the
   * workload (the cache keeps only the newest other one); the cache's if that cannot be read.
   */
  private fullAccount(ref: WorkloadRef, writer: FightWriter): Effect.Effect<FightWriter> {
    if (writer._tag === "Recorded") return Effect.succeed(writer);
    return Effect.match(this.rollouts.managedFieldsOf(ref), {
      onFailure: (error) => {
        this.log.debug(
          { ...fieldsOf(ref), error: error.message },
          "field managers not read: the fight's candidates are the cache's",
        );
        return writer;
      },
      onSuccess: (entries): FightWriter => ({
        _tag: "Unrecorded",
        candidates: fightCandidates(entries),
      }),
    });
  }

  private unhealthy(ref: WorkloadRef, workload: Workload, detail: string): Step {
    const note = `not instrumented: its pods already crash-loop (${detail}); it is instrumented once they are healthy`;
    this.log.warn({ ...fieldsOf(ref), reason: "UnhealthyBeforeInstrumentation" }, note);
    this.events.warning(
      workloadTarget(ref, workload),
      "UnhealthyBeforeInstrumentation",
      "Instrument",
      note,
    );
    return hold(this.rollouts.settings.rolloutTimeoutMs);
  }

  private reportFight(
    ref: WorkloadRef,
    workload: Workload,
    writer: FightWriter,
    putBacks: number,
  ): void {
    const window = formatMs(this.rollouts.settings.fightWindowMs);
    const who = writer._tag === "Recorded" ? writer.manager : "another writer";
    const unrecorded =
      writer._tag === "Recorded" ? "" : `; ${unrecordedWriterNote(writer.candidates)}`;
    const note = `${who} keeps removing the instrumentation devices (put back ${putBacks} times in ${window}): stopped putting them back until it has been quiet for ${window} or the workload's inputs change${unrecorded}. Remedy: ${fightRemedy(writer)} (e.g. Argo CD ignoreDifferences, Flux a kustomize patch), or opt the workload out`;
    this.log.warn(
      { ...fieldsOf(ref), reason: "FightDetected", ...writerFields(writer), putBacks },
      note,
    );
    this.events.warning(workloadTarget(ref, workload), "FightDetected", "Instrument", note);
    this.metrics.fightsTotal.inc();
  }

  private reportBreaker(open: boolean, count: number): void {
    const { breakerThreshold, breakerWindowMs } = this.rollouts.settings;
    const target = {
      apiVersion: "odigos.io/v1alpha1",
      kind: "OdigosConfiguration",
      namespace: this.state.odigosNamespace,
      name: "odigos-config",
    };
    this.metrics.breakerOpen.set(open ? 1 : 0);
    // The odigos-config version the rollbacks are counted under names the opening: a second one
    // (after a reset) is news, not a repeat the Event recorder would suppress for 10 minutes.
    const configVersion = this.configVersion();
    if (open) {
      const note = `circuit breaker open: ${count} instrumentations rolled back within ${formatMs(breakerWindowMs)} (threshold ${breakerThreshold}) under odigos-config version ${configVersion}: no new instrumentation starts anywhere until odigos-config changes (e.g. kubectl -n ${this.state.odigosNamespace} annotate odigosconfiguration odigos-config odigos.io/reset-breaker=$(date +%s) --overwrite); removals and rollbacks go on`;
      this.log.error({ reason: "CircuitBreakerOpen", rollbacks: count, configVersion }, note);
      this.events.warning(target, "CircuitBreakerOpen", "Instrument", note);
    } else {
      const note = `circuit breaker closed (odigos-config version ${configVersion}): instrumentation starts again`;
      this.log.info({ reason: "CircuitBreakerClosed", configVersion }, note);
      this.events.normal(target, "CircuitBreakerClosed", "Instrument", note);
    }
  }
}
