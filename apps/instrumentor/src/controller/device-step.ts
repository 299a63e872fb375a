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
  instrumentationFingerprint,
  type RollbackRecord,
  type RolloutAction,
  readRollbackRecord,
} from "@odigos/instrumentation-rules";
import type { KubeError } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import type { Logger } from "pino";
import { type ClusterStateApi, carriesDevices } from "../cache/cluster-state.js";
import type { EventRecorderApi } from "../observability/events.js";
import type { MetricsApi } from "../observability/metrics.js";
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
    const blocked = this.blocked(input, fingerprint);
    if (blocked !== undefined) return Effect.succeed(blocked);
    if (carriesDevices(workload)) return Effect.succeed(write());
    return Effect.map(this.rollouts.crashLoopingBefore(ref, workload), (problem) =>
      problem?._tag === "CrashLoop" ? this.unhealthy(ref, workload, problem.detail) : write(),
    );
  }

  /** The circuit breaker, or a fight with another writer, holds a write that adds devices. */
  private blocked(input: StepInput, fingerprint: string): Step | undefined {
    const { ref, workload, now } = input;
    const breaker = this.rollouts.breaker.state(this.configVersion(), now);
    if (breaker.changed) this.reportBreaker(breaker.open, breaker.count);
    if (breaker.open) return hold(60_000);
    const fight = this.rollouts.fights.judge(workloadKey(ref), workload, fingerprint, now);
    if (fight._tag === "Stop") {
      if (fight.newly) this.reportFight(ref, workload, fight.manager, fight.putBacks);
      return hold(this.rollouts.settings.fightWindowMs);
    }
    if (fight._tag === "PutBack")
      this.log.info(
        {
          ...fieldsOf(ref),
          reason: "DevicesRemovedByAnotherWriter",
          writer: fight.manager,
          putBacks: fight.putBacks,
        },
        `${fight.manager} removed the instrumentation devices: putting them back (${fight.putBacks} of at most ${this.rollouts.settings.fightLimit} in ${formatMs(this.rollouts.settings.fightWindowMs)})`,
      );
    return undefined;
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
    manager: string,
    putBacks: number,
  ): void {
    const window = formatMs(this.rollouts.settings.fightWindowMs);
    const note = `${manager} keeps removing the instrumentation devices (put back ${putBacks} times in ${window}): stopped putting them back until it has been quiet for ${window} or the workload's inputs change. Remedy: make ${manager} ignore resources.limits["instrumentation.odigos.io/*"] of this workload's containers (e.g. Argo CD ignoreDifferences, Flux a kustomize patch), or opt the workload out`;
    this.log.warn({ ...fieldsOf(ref), reason: "FightDetected", writer: manager, putBacks }, note);
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
    if (open) {
      const note = `circuit breaker open: ${count} instrumentations rolled back within ${formatMs(breakerWindowMs)} (threshold ${breakerThreshold}): no new instrumentation starts anywhere until odigos-config changes (e.g. kubectl -n ${this.state.odigosNamespace} annotate odigosconfiguration odigos-config odigos.io/reset-breaker=$(date +%s) --overwrite); removals and rollbacks go on`;
      this.log.error({ reason: "CircuitBreakerOpen", rollbacks: count }, note);
      this.events.warning(target, "CircuitBreakerOpen", "Instrument", note);
    } else {
      const note = "circuit breaker closed: instrumentation starts again";
      this.log.info({ reason: "CircuitBreakerClosed" }, note);
      this.events.normal(target, "CircuitBreakerClosed", "Instrument", note);
    }
  }
}
