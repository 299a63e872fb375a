/**
 * Reconciles one workload: reads only the caches, asks the rules, and applies the device plan
 * and the cleanup plan. Level-based and idempotent: a converged workload sees no write.
 */
import {
  type CleanupAction,
  CleanupWritersLive,
  describeCleanupAction,
  planDeletedWorkloadCleanup,
  planWorkloadCleanup,
  type RuntimeDetailsWriter,
  runCleanup,
  type WorkloadAnnotationWriter,
} from "@odigos/cleanup";
import {
  type InstrumentedApplication,
  rollsOut,
  type Workload,
  type WorkloadRef,
  workloadKey,
  workloadResource,
} from "@odigos/crd-types";
import {
  type DevicePlanSummary,
  WorkloadPatcher,
  WorkloadPatcherLive,
  withAnnotations,
  writeDevicePlanWith,
} from "@odigos/device-patcher";
import {
  collectorsReady,
  type DeviceProblem,
  describeDeviceProblem,
  readRollbackRecord,
} from "@odigos/instrumentation-rules";
import {
  KubeClient,
  type KubeClientApi,
  type KubeError,
  type WriteError,
} from "@odigos/kube-client";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type { Logger } from "pino";
import { ClusterState, type ClusterStateApi } from "../cache/cluster-state.js";
import { EventRecorder, type EventRecorderApi } from "../observability/events.js";
import { Log } from "../observability/log.js";
import { Metrics, type MetricsApi } from "../observability/metrics.js";
import { DryRun, type DryRunApi } from "../rollouts/dry-run.js";
import { Rollouts, type RolloutsApi } from "../rollouts/rollouts.js";
import { CauseEvents, type CauseEventsApi } from "./cause-events.js";
import { DeviceStepPlanner, type Step } from "./device-step.js";
import { EventHandlers, type EventHandlersApi, type GlobalChange } from "./event-handlers.js";
import {
  describeSummary,
  judge,
  movedBy,
  runtimeDetailsTarget,
  type Verdict,
  workloadTarget,
} from "./verdict.js";
import { WorkloadQueue, type WorkQueue } from "./work-queue.js";

/** A reconcile that died of a bug (a defect): retried with backoff, logged at error. */
export class ReconcileDefect extends Data.TaggedError("ReconcileDefect")<{
  readonly detail: string;
}> {
  override get message(): string {
    return `reconcile crashed: ${this.detail}`;
  }
}

/** What a reconcile asks of the queue afterwards. */
export type ReconcileResult =
  | { readonly _tag: "Done" }
  /** Decide again after this long (unless a change queues the workload sooner). */
  | { readonly _tag: "RequeueAfter"; readonly delayMs: number }
  /** A write failed: retry with per-workload backoff. */
  | { readonly _tag: "Retry"; readonly error: WriteError | KubeError | ReconcileDefect };

export interface ReconcilerApi {
  readonly reconcile: (ref: WorkloadRef) => Effect.Effect<ReconcileResult>;
}

export class WorkloadReconciler extends Context.Tag("@odigos/instrumentor/WorkloadReconciler")<
  WorkloadReconciler,
  ReconcilerApi
>() {}

/**
 * How long runtime details must be seen without their workload before the API server is asked
 * whether it exists: the watches of two kinds are not ordered.
 */
export const orphanGraceMs = 5_000;
/** How long a workload waits for its own write to come back through the watch before deciding again. */
export const awaitOwnWriteMs = 30_000;

const done: ReconcileResult = { _tag: "Done" };
const requeueAfter = (delayMs: number): ReconcileResult => ({ _tag: "RequeueAfter", delayMs });

/** What cleanup writes through; provided only around a cleanup that writes (a mass change has none). */
type CleanupWriters = RuntimeDetailsWriter | WorkloadAnnotationWriter;
type Details = InstrumentedApplication | undefined;

const fieldsOf = (ref: WorkloadRef) => ({
  workload: ref.name,
  namespace: ref.namespace,
  kind: ref.kind,
});

const cleanupResult = (failed: ReadonlyArray<{ readonly error: WriteError }>): ReconcileResult => {
  const first = failed[0];
  return first === undefined ? done : { _tag: "Retry", error: first.error };
};

/** The sooner of two "decide again" results (a failure wins over both). */
const sooner = (result: ReconcileResult, recheckMs: number | undefined): ReconcileResult => {
  if (recheckMs === undefined || result._tag === "Retry") return result;
  if (result._tag === "RequeueAfter" && result.delayMs <= recheckMs) return result;
  return requeueAfter(recheckMs);
};

/** How often a workload waiting for a rollout slot looks again, besides being woken. */
const waitingRecheckMs = 30_000;

/** What one workload's reconcile works with. */
interface Subject {
  readonly ref: WorkloadRef;
  readonly key: string;
  readonly workload: Workload;
  readonly runtimeDetails: Details;
  readonly verdict: Verdict;
  /** The global change that alone queued this workload, if so. */
  readonly cause: GlobalChange | undefined;
}

/** The outcome of the device part of a reconcile. */
interface DeviceOutcome {
  readonly wrote: boolean;
  /**
   * The workload's resourceVersion after our write, when deciding again on that version can
   * only confirm it (not a rollback, nor a write that changed a rollback record, which the
   * circuit breaker reads from the watch).
   */
  readonly settledAt?: string | undefined;
  /**
   * Look again after this long (a rollout in flight, a grace period, a wait for a slot; after a
   * write, the deadline of the rollout it started, once the write has come back).
   */
  readonly recheckMs?: number | undefined;
}

/** The reconciler and what it remembers between reconciles of a workload. */
class Reconciler {
  /** Resource version each workload had when we last wrote it, and when, until the cache moves past it. */
  private readonly writtenFrom = new Map<
    string,
    { readonly version: string; readonly at: number }
  >();
  /** When runtime details were first seen without their workload. */
  private readonly orphanSince = new Map<string, number>();
  /** Per workload, the UID of runtime details we deleted, until the watch takes them out of the cache. */
  private readonly deletedRuntimeDetails = new Map<string, string>();
  /** Workloads told they wait for a rollout slot (said once per wait). */
  private readonly announcedWaiting = new Set<string>();
  private readonly planner: DeviceStepPlanner;

  constructor(
    private readonly state: ClusterStateApi,
    private readonly handlers: EventHandlersApi,
    private readonly queue: WorkQueue<string>,
    private readonly log: Logger,
    private readonly events: EventRecorderApi,
    private readonly causes: CauseEventsApi,
    private readonly client: KubeClientApi,
    private readonly rollouts: RolloutsApi,
    private readonly dryRun: DryRunApi,
    metrics: MetricsApi,
    private readonly patcher: typeof WorkloadPatcher.Service,
    private readonly cleanupWriters: Context.Context<CleanupWriters>,
  ) {
    this.planner = new DeviceStepPlanner(state, rollouts, log, events, metrics);
  }

  reconcile(ref: WorkloadRef): Effect.Effect<ReconcileResult> {
    return Effect.gen(this, function* () {
      const key = workloadKey(ref);
      const cause = this.handlers.takeCause(ref);
      const workload = this.state.workload(ref);
      const runtimeDetails = this.currentRuntimeDetails(key, this.state.runtimeDetailsOf(ref));
      if (workload === undefined) {
        this.rollouts.withdraw(ref);
        return yield* this.reconcileMissing(ref, runtimeDetails);
      }
      this.orphanSince.delete(key);
      const now = yield* Clock.currentTimeMillis;
      const waiting = this.awaitingOwnWrite(key, ref, workload, now);
      if (waiting !== undefined) return waiting;
      const verdict = judge(this.state, ref, workload, runtimeDetails, {
        collectorsReady: collectorsReady(this.state.allCollectorsGroups()),
        configuration: this.state.configuration(),
      });
      const subject: Subject = { ref, key, workload, runtimeDetails, verdict, cause };
      const devices = yield* Effect.either(this.applyDevices(subject, now));
      if (devices._tag === "Left") return { _tag: "Retry", error: devices.left } as ReconcileResult;
      const { result, deferred } = yield* this.cleanUp(subject, devices.right.wrote, now);
      const { settledAt, recheckMs } = devices.right;
      // Our write coming back through the watch needs no decision, unless cleanup waits for it:
      // the next look is then when one is due anyway (the rollout's deadline).
      if (settledAt !== undefined && !deferred && result._tag === "Done") {
        const thenAt = recheckMs === undefined ? undefined : now + recheckMs;
        if (this.handlers.expectOwnWrite(ref, settledAt, thenAt)) this.writtenFrom.delete(key);
      }
      // After a write, look again once the bound has passed, in case the watch never brings it back.
      const recheck = this.writtenFrom.has(key) ? awaitOwnWriteMs : recheckMs;
      return sooner(result, recheck);
    });
  }

  /** Runtime details we already deleted are gone, whatever a lagging cache says: no second delete. */
  private currentRuntimeDetails(key: string, cached: Details): Details {
    const deletedUid = this.deletedRuntimeDetails.get(key);
    if (deletedUid === undefined) return cached;
    if (cached?.metadata.uid === deletedUid) return undefined;
    this.deletedRuntimeDetails.delete(key);
    return cached;
  }

  /** SPEC 5: a deleted workload's runtime details go too, once the API server confirms it is gone. */
  private reconcileMissing(ref: WorkloadRef, runtimeDetails: Details) {
    return Effect.gen(this, function* () {
      const key = workloadKey(ref);
      this.writtenFrom.delete(key);
      // A kind not watched now (Argo Rollouts without their CRD) is not known to be missing.
      if (
        !this.state.watches(ref.kind) ||
        this.state.workloadInvalid(ref) !== undefined ||
        runtimeDetails === undefined
      ) {
        this.orphanSince.delete(key);
        return done;
      }
      const now = yield* Clock.currentTimeMillis;
      const since = this.orphanSince.get(key);
      if (since === undefined) {
        this.orphanSince.set(key, now);
        this.reportOrphan(ref, runtimeDetails);
        return requeueAfter(orphanGraceMs);
      }
      if (now - since < orphanGraceMs) return requeueAfter(orphanGraceMs - (now - since));
      // The cache may lag (after an API-server restart the workload watch can): ask the server.
      const selector = { namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` };
      const found = yield* Effect.either(this.client.list(workloadResource(ref.kind), selector));
      if (found._tag === "Left") return { _tag: "Retry", error: found.left } as ReconcileResult;
      if (found.right.items.length > 0) {
        this.log.info(
          { ...fieldsOf(ref), reason: "CacheLagging" },
          "the workload exists although the cache does not have it yet: runtime details kept",
        );
        this.orphanSince.set(key, now);
        return requeueAfter(orphanGraceMs);
      }
      this.orphanSince.delete(key);
      const actions = planDeletedWorkloadCleanup(ref, runtimeDetails);
      if (this.dryRun.enabled) return this.planCleanup(ref, actions, "WorkloadDeleted");
      const report = yield* Effect.provide(runCleanup(actions), this.cleanupWriters);
      for (const action of report.done) {
        if (action._tag === "DeleteRuntimeDetails") this.deletedRuntimeDetails.set(key, action.uid);
        this.log.info(
          { ...fieldsOf(ref), reason: "WorkloadDeleted", action: action._tag },
          "deleted runtime details of a workload that no longer exists",
        );
      }
      return cleanupResult(report.failed);
    });
  }

  private reportOrphan(ref: WorkloadRef, runtimeDetails: InstrumentedApplication) {
    const note = `${ref.kind} ${ref.namespace}/${ref.name}, named by runtime details ${runtimeDetails.metadata.name}, does not exist: the runtime details are deleted once the API server confirms it`;
    this.log.warn(
      {
        ...fieldsOf(ref),
        reason: "WorkloadNotFound",
        runtimeDetails: runtimeDetails.metadata.name,
      },
      note,
    );
    this.events.warning(runtimeDetailsTarget(runtimeDetails), "WorkloadNotFound", "Cleanup", note);
  }

  /** After our write, wait (bounded) for the watch to deliver it before deciding again. */
  private awaitingOwnWrite(
    key: string,
    ref: WorkloadRef,
    workload: Workload,
    now: number,
  ): ReconcileResult | undefined {
    const written = this.writtenFrom.get(key);
    if (written === undefined) return undefined;
    if (written.version !== workload.metadata.resourceVersion) {
      this.writtenFrom.delete(key);
      return undefined;
    }
    const waited = now - written.at;
    if (waited < awaitOwnWriteMs) return requeueAfter(awaitOwnWriteMs - waited);
    this.writtenFrom.delete(key);
    this.log.warn(
      { ...fieldsOf(ref), reason: "OwnWriteNotSeen", waitedMs: waited },
      "our last write has not come back through the watch: deciding again from the cache",
    );
    return undefined;
  }

  /**
   * The device part: observe the rollout in flight, plan the step, ask a slot, write. Plain code
   * around the two effects it may need (asking about crash-looping pods, the patch): it runs
   * once per reconcile.
   */
  private applyDevices(
    subject: Subject,
    now: number,
  ): Effect.Effect<DeviceOutcome, WriteError | KubeError> {
    const { ref, workload, runtimeDetails, verdict } = subject;
    const { observation, woken } = this.rollouts.observe(ref, workload, now);
    // A slot freed: the workloads waiting for it are decided again.
    for (const key of woken) this.queue.add(key);
    const inFlight = observation._tag === "InFlight" ? observation.recheckMs : undefined;
    return Effect.flatMap(
      this.planner.plan({ ref, workload, runtimeDetails, verdict, observation, now }),
      (step): Effect.Effect<DeviceOutcome, WriteError> => {
        if (step._tag === "LeaveAsIs") {
          this.reportConfigUnavailable(ref, workload);
          return Effect.succeed({ wrote: false, recheckMs: inFlight });
        }
        if (step._tag === "Hold") {
          this.rollouts.withdraw(ref);
          // Decided again later (the end of a grace period): still caused by the same change.
          if (subject.cause !== undefined && step.recheckMs !== undefined)
            this.handlers.restoreCause(ref, subject.cause);
          if (this.dryRun.enabled) this.dryRun.plan(ref, []);
          return Effect.succeed({ wrote: false, recheckMs: minimum(inFlight, step.recheckMs) });
        }
        if (verdict.intent._tag === "Instrument" && step.action === "instrument")
          this.reportDeviceProblems(ref, workload, verdict.intent.problems);
        return this.write(subject, step, now, inFlight);
      },
    );
  }

  private write(
    subject: Subject,
    step: Extract<Step, { _tag: "Write" }>,
    now: number,
    inFlight: number | undefined,
  ): Effect.Effect<DeviceOutcome, WriteError> {
    const { ref, key, workload } = subject;
    const plan = withAnnotations(step.devices, workload, step.annotations);
    if (plan._tag === "NoChange") {
      this.rollouts.withdraw(ref);
      if (this.dryRun.enabled) this.dryRun.plan(ref, []);
      return Effect.succeed({ wrote: false, recheckMs: inFlight });
    }
    if (this.dryRun.enabled) {
      this.dryRun.plan(ref, [
        {
          verb: "patch",
          action: step.action,
          reason: step.reason,
          detail: JSON.stringify(describeSummary(plan.summary)),
        },
      ]);
      return Effect.succeed({ wrote: false });
    }
    const slot = this.rollouts.admit(ref, step.action, now);
    if (slot._tag === "Waiting") {
      this.waitForSlot(subject, slot);
      return Effect.succeed({ wrote: false, recheckMs: waitingRecheckMs });
    }
    this.announcedWaiting.delete(key);
    // Through the patcher held, not the context: providing a service costs a context copy per write.
    return Effect.map(writeDevicePlanWith(this.patcher, ref, plan), (outcome): DeviceOutcome => {
      if (outcome._tag === "Unchanged") return { wrote: false, recheckMs: inFlight };
      this.writtenFrom.set(key, { version: workload.metadata.resourceVersion, at: now });
      this.rollouts.written(ref, step.action, workload, now);
      this.announce(subject, step, outcome.summary);
      const touchesRollback =
        step.action === "rollback" ||
        readRollbackRecord(workload.metadata.annotations) !== undefined;
      return {
        wrote: true,
        settledAt: touchesRollback ? undefined : outcome.resourceVersion,
        // In flight already, the rollout keeps its slot and its deadline; else it starts now
        // (a CronJob's change has none: it is complete when written).
        recheckMs: rollsOut(ref.kind)
          ? (inFlight ?? this.rollouts.settings.rolloutTimeoutMs)
          : undefined,
      };
    });
  }

  /** No rollout slot yet: written later, when one frees, still as part of the same change. */
  private waitForSlot(
    subject: Subject,
    slot: { readonly position: number; readonly inFlight: number; readonly limit: number },
  ): void {
    const { ref, key, workload } = subject;
    if (subject.cause !== undefined) {
      this.handlers.restoreCause(ref, subject.cause);
      if (movedBy(subject.cause, this.state, ref, workload, subject.runtimeDetails))
        this.causes.waiting(subject.cause, ref);
    }
    if (this.announcedWaiting.has(key)) return;
    this.announcedWaiting.add(key);
    this.log.info(
      {
        ...fieldsOf(ref),
        reason: "WaitingForRolloutSlot",
        position: slot.position,
        inFlight: slot.inFlight,
        limit: slot.limit,
      },
      `waiting for a rollout slot: ${slot.inFlight} rolling, ${slot.limit} allowed now, position ${slot.position} in line`,
    );
  }

  private reportConfigUnavailable(ref: WorkloadRef, workload: Workload) {
    const configuration = this.state.configuration();
    const why =
      configuration._tag === "Invalid"
        ? configuration.reason
        : `OdigosConfiguration ${this.state.odigosNamespace}/odigos-config does not exist`;
    this.log.warn(
      { ...fieldsOf(ref), reason: "ConfigUnavailable", detail: why },
      "no usable odigos-config: devices left as they are",
    );
    this.events.warning(
      workloadTarget(ref, workload),
      "ConfigUnavailable",
      "Instrument",
      `no device can be chosen: ${why}`,
    );
  }

  private reportDeviceProblems(
    ref: WorkloadRef,
    workload: Workload,
    problems: ReadonlyArray<DeviceProblem>,
  ) {
    for (const problem of problems) {
      const note = describeDeviceProblem(problem);
      this.log.warn(
        {
          ...fieldsOf(ref),
          reason: problem._tag,
          container: problem.containerName,
          language: problem.language,
        },
        note,
      );
      this.events.warning(workloadTarget(ref, workload), problem._tag, "Instrument", note);
    }
  }

  /** One log line per write; an Event on the workload, or counted for its global cause's Event. */
  private announce(
    subject: Subject,
    step: Extract<Step, { _tag: "Write" }>,
    summary: DevicePlanSummary,
  ) {
    const { ref, workload, runtimeDetails } = subject;
    const fields = { ...fieldsOf(ref), reason: step.reason, ...describeSummary(summary) };
    if (step.action === "rollback") {
      this.log.warn(fields, step.message);
      this.events.warning(workloadTarget(ref, workload), "RolledBack", "Rollback", step.message);
      return;
    }
    const instrumented =
      step.intent._tag === "Instrument" && Object.keys(step.intent.devices).length > 0;
    const action = instrumented ? "Instrumented" : "Uninstrumented";
    const change = subject.cause;
    const global = movedBy(change, this.state, ref, workload, runtimeDetails);
    this.log.info(
      { ...fields, ...(global ? { cause: change.description } : {}) },
      `${instrumented ? "instrumented" : "un-instrumented"}: ${step.message}`,
    );
    // A change of collectors or odigos-config moves many workloads: one Event on its object says it.
    if (global) this.causes.record(change, ref, action);
    else
      this.events.normal(
        workloadTarget(ref, workload),
        action,
        instrumented ? "Instrument" : "Uninstrument",
        step.message,
      );
  }

  private cleanUp(
    subject: Subject,
    wroteWorkload: boolean,
    now: number,
  ): Effect.Effect<{ readonly deferred: boolean; readonly result: ReconcileResult }> {
    const { ref, key, workload, runtimeDetails } = subject;
    const { optIn, decision } = subject.verdict;
    const planned = planWorkloadCleanup({ ref, workload, optIn, runtimeDetails });
    const actions = planned.filter(
      // A second patch from the same cached copy would conflict with the first: it runs next time round.
      (action) => !(wroteWorkload && action._tag === "RemoveReportedName"),
    );
    const deferred = actions.length < planned.length;
    if (this.dryRun.enabled)
      return Effect.succeed({
        deferred,
        result: actions.length === 0 ? done : this.planCleanup(ref, actions, optIn.reason),
      });
    if (actions.length === 0) return Effect.succeed({ deferred, result: done });
    return Effect.map(Effect.provide(runCleanup(actions), this.cleanupWriters), (report) => {
      for (const action of report.done) {
        this.log.info(
          { ...fieldsOf(ref), reason: optIn.reason, action: action._tag },
          `cleaned up: ${decision.message}`,
        );
        if (action._tag === "RemoveReportedName")
          this.writtenFrom.set(key, { version: workload.metadata.resourceVersion, at: now });
        if (action._tag === "DeleteRuntimeDetails" && runtimeDetails !== undefined) {
          this.deletedRuntimeDetails.set(key, action.uid);
          this.events.normal(
            runtimeDetailsTarget(runtimeDetails),
            "RuntimeDetailsDeleted",
            "Cleanup",
            decision.message,
          );
        }
      }
      return { deferred, result: cleanupResult(report.failed) };
    });
  }

  /** With `--dry-run`: what the cleanup would write, added to the workload's planned writes. */
  private planCleanup(
    ref: WorkloadRef,
    actions: ReadonlyArray<CleanupAction>,
    reason: string,
  ): ReconcileResult {
    const current =
      this.dryRun.report().workloads.find((entry) => workloadKey(entry) === workloadKey(ref))
        ?.writes ?? [];
    const devices = current.filter(
      (write) => write.verb === "patch" && write.action !== "remove reported name",
    );
    const cleanup = actions.map((action) => ({
      verb: action._tag === "DeleteRuntimeDetails" ? ("delete" as const) : ("patch" as const),
      action:
        action._tag === "DeleteRuntimeDetails" ? "delete runtime details" : "remove reported name",
      reason,
      detail: describeCleanupAction(action),
    }));
    this.dryRun.plan(ref, [...devices, ...cleanup]);
    return done;
  }
}

const minimum = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

const make = Effect.gen(function* () {
  const reconciler = new Reconciler(
    yield* ClusterState,
    yield* EventHandlers,
    yield* WorkloadQueue,
    yield* Log,
    yield* EventRecorder,
    yield* CauseEvents,
    yield* KubeClient,
    yield* Rollouts,
    yield* DryRun,
    yield* Metrics,
    yield* WorkloadPatcher,
    yield* Effect.context<CleanupWriters>(),
  );
  return { reconcile: (ref) => reconciler.reconcile(ref) } satisfies ReconcilerApi;
});

/** The reconciler, writing through the libraries' live layers over `KubeClient`. */
export const WorkloadReconcilerLive: Layer.Layer<
  WorkloadReconciler,
  never,
  | ClusterState
  | EventHandlers
  | WorkloadQueue
  | Log
  | EventRecorder
  | CauseEvents
  | KubeClient
  | Rollouts
  | DryRun
  | Metrics
> = Layer.effect(WorkloadReconciler, make).pipe(
  Layer.provide(Layer.merge(WorkloadPatcherLive, CleanupWritersLive)),
);
