/**
 * Reconciles one workload: reads only the caches, asks the rules, and applies the device plan
 * and the cleanup plan. Level-based and idempotent: a converged workload sees no write.
 */
import {
  CleanupWritersLive,
  planDeletedWorkloadCleanup,
  planWorkloadCleanup,
  type RuntimeDetailsWriter,
  runCleanup,
  type WorkloadAnnotationWriter,
} from "@odigos/cleanup";
import {
  type InstrumentedApplication,
  OdigosApiVersion,
  type Workload,
  type WorkloadRef,
  workloadKey,
  workloadResource,
} from "@odigos/crd-types";
import {
  applyDevicePlan,
  type DevicePlanSummary,
  planDevices,
  type WorkloadPatcher,
  WorkloadPatcherLive,
} from "@odigos/device-patcher";
import {
  collectorsReady,
  type Decision,
  type DeviceIntent,
  type DeviceProblem,
  describeDeviceProblem,
  deviceIntent,
  ignoredNamespaces,
  isOptedIn,
  type OptIn,
  shouldInstrument,
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
import {
  ClusterState,
  type ClusterStateApi,
  type ClusterView,
  type ConfigurationState,
  type GlobalChange,
} from "../cache/cluster-state.js";
import { CauseEvents, type CauseEventsApi } from "../observability/cause-events.js";
import { EventRecorder, type EventRecorderApi, type EventTarget } from "../observability/events.js";
import { Log } from "../observability/log.js";

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

export const workloadTarget = (ref: WorkloadRef, workload: Workload | undefined): EventTarget => ({
  apiVersion: "apps/v1",
  kind: ref.kind,
  namespace: ref.namespace,
  name: ref.name,
  uid: workload?.metadata.uid,
});

const runtimeDetailsTarget = (details: InstrumentedApplication): EventTarget => ({
  apiVersion: OdigosApiVersion,
  kind: "InstrumentedApplication",
  namespace: details.metadata.namespace ?? "",
  name: details.metadata.name,
  uid: details.metadata.uid,
});

/** The rules' answer for one workload, from given global inputs. */
export interface Verdict {
  readonly optIn: OptIn;
  readonly decision: Decision;
  readonly intent: DeviceIntent;
}

export const judge = (
  view: ClusterView,
  ref: WorkloadRef,
  workload: Workload,
  runtimeDetails: InstrumentedApplication | undefined,
  global: { readonly collectorsReady: boolean; readonly configuration: ConfigurationState },
): Verdict => {
  const config =
    global.configuration._tag === "Available" ? global.configuration.config : undefined;
  const optIn = isOptedIn(
    { namespace: ref.namespace, metadata: workload.metadata },
    view.namespace(ref.namespace)?.metadata,
    {
      odigosNamespace: view.odigosNamespace,
      ignoredNamespaces: ignoredNamespaces(config, view.odigosNamespace),
    },
  );
  const decision = shouldInstrument({
    optIn,
    runtimeDetails,
    collectorsReady: global.collectorsReady,
  });
  const intent = deviceIntent(
    decision,
    workload.spec.template.spec.containers,
    runtimeDetails,
    config,
  );
  return { optIn, decision, intent };
};

/** True when, with the global inputs as they were before `change`, this workload needed no write. */
export const movedBy = (
  change: GlobalChange | undefined,
  view: ClusterView,
  ref: WorkloadRef,
  workload: Workload,
  runtimeDetails: InstrumentedApplication | undefined,
): change is GlobalChange => {
  if (change === undefined) return false;
  const before = judge(view, ref, workload, runtimeDetails, change.before);
  return (
    before.intent._tag === "LeaveAsIs" || planDevices(workload, before.intent)._tag === "NoChange"
  );
};

const describeSummary = (summary: DevicePlanSummary) => ({
  added: summary.added.map((entry) => `${entry.container}:${entry.device}`),
  removed: summary.removed.map((entry) => `${entry.container}:${entry.device}`),
});

type Writers = WorkloadPatcher | RuntimeDetailsWriter | WorkloadAnnotationWriter;
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

  constructor(
    private readonly state: ClusterStateApi,
    private readonly log: Logger,
    private readonly events: EventRecorderApi,
    private readonly causes: CauseEventsApi,
    private readonly client: KubeClientApi,
  ) {}

  reconcile(ref: WorkloadRef): Effect.Effect<ReconcileResult, never, Writers> {
    return Effect.gen(this, function* () {
      const key = workloadKey(ref);
      const cause = this.state.takeCause(ref);
      const workload = this.state.workload(ref);
      const runtimeDetails = this.currentRuntimeDetails(key, this.state.runtimeDetailsOf(ref));
      if (workload === undefined) return yield* this.reconcileMissing(ref, runtimeDetails);
      this.orphanSince.delete(key);
      const waiting = yield* this.awaitingOwnWrite(key, ref, workload);
      if (waiting !== undefined) return waiting;
      const verdict = judge(this.state, ref, workload, runtimeDetails, {
        collectorsReady: collectorsReady(this.state.allCollectorsGroups()),
        configuration: this.state.configuration(),
      });
      const subject: Subject = { ref, key, workload, runtimeDetails, verdict, cause };
      const wrote = yield* Effect.either(this.applyDevices(subject));
      if (wrote._tag === "Left") return { _tag: "Retry", error: wrote.left } as ReconcileResult;
      const result = yield* this.cleanUp(subject, wrote.right);
      // After a write, look again once the bound has passed, in case the watch never brings it back.
      return result._tag === "Done" && this.writtenFrom.has(key)
        ? requeueAfter(awaitOwnWriteMs)
        : result;
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
      if (this.state.workloadInvalid(ref) !== undefined || runtimeDetails === undefined) {
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
      const report = yield* runCleanup(planDeletedWorkloadCleanup(ref, runtimeDetails));
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
  private awaitingOwnWrite(key: string, ref: WorkloadRef, workload: Workload) {
    return Effect.gen(this, function* () {
      const written = this.writtenFrom.get(key);
      if (written === undefined) return undefined;
      if (written.version !== workload.metadata.resourceVersion) {
        this.writtenFrom.delete(key);
        return undefined;
      }
      const waited = (yield* Clock.currentTimeMillis) - written.at;
      if (waited < awaitOwnWriteMs) return requeueAfter(awaitOwnWriteMs - waited);
      this.writtenFrom.delete(key);
      this.log.warn(
        { ...fieldsOf(ref), reason: "OwnWriteNotSeen", waitedMs: waited },
        "our last write has not come back through the watch: deciding again from the cache",
      );
      return undefined;
    });
  }

  /** Applies the device plan; succeeds with whether the workload was written. */
  private applyDevices(subject: Subject) {
    return Effect.gen(this, function* () {
      const { ref, workload, verdict } = subject;
      const { intent } = verdict;
      if (intent._tag === "LeaveAsIs") {
        this.reportConfigUnavailable(ref, workload);
        return false;
      }
      if (intent._tag === "Instrument") this.reportDeviceProblems(ref, workload, intent.problems);
      const outcome = yield* applyDevicePlan(ref, workload, intent);
      if (outcome._tag === "Unchanged") return false;
      this.writtenFrom.set(subject.key, {
        version: workload.metadata.resourceVersion,
        at: yield* Clock.currentTimeMillis,
      });
      this.announce(subject, outcome.summary);
      return true;
    });
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
  private announce(subject: Subject, summary: DevicePlanSummary) {
    const { ref, workload, runtimeDetails, verdict } = subject;
    const { intent, decision } = verdict;
    const instrumented = intent._tag === "Instrument" && Object.keys(intent.devices).length > 0;
    const action = instrumented ? "Instrumented" : "Uninstrumented";
    const change = subject.cause;
    const global = movedBy(change, this.state, ref, workload, runtimeDetails);
    this.log.info(
      {
        ...fieldsOf(ref),
        reason: decision.reason,
        ...describeSummary(summary),
        ...(global ? { cause: change.description } : {}),
      },
      `${instrumented ? "instrumented" : "un-instrumented"}: ${decision.message}`,
    );
    // A change of collectors or odigos-config moves many workloads: one Event on its object says it.
    if (global) this.causes.record(change, ref, action);
    else
      this.events.normal(
        workloadTarget(ref, workload),
        action,
        instrumented ? "Instrument" : "Uninstrument",
        decision.message,
      );
  }

  private cleanUp(subject: Subject, wroteWorkload: boolean) {
    return Effect.gen(this, function* () {
      const { ref, key, workload, runtimeDetails } = subject;
      const { optIn, decision } = subject.verdict;
      const actions = planWorkloadCleanup({ ref, workload, optIn, runtimeDetails }).filter(
        // A second patch from the same cached copy would conflict with the first: it runs next time round.
        (action) => !(wroteWorkload && action._tag === "RemoveReportedName"),
      );
      if (actions.length === 0) return done;
      const report = yield* runCleanup(actions);
      for (const action of report.done) {
        this.log.info(
          { ...fieldsOf(ref), reason: optIn.reason, action: action._tag },
          `cleaned up: ${decision.message}`,
        );
        if (action._tag === "RemoveReportedName")
          this.writtenFrom.set(key, {
            version: workload.metadata.resourceVersion,
            at: yield* Clock.currentTimeMillis,
          });
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
      return cleanupResult(report.failed);
    });
  }
}

const make = Effect.gen(function* () {
  const reconciler = new Reconciler(
    yield* ClusterState,
    yield* Log,
    yield* EventRecorder,
    yield* CauseEvents,
    yield* KubeClient,
  );
  const writers = yield* Effect.context<Writers>();
  return {
    reconcile: (ref) => Effect.provide(reconciler.reconcile(ref), writers),
  } satisfies ReconcilerApi;
});

/** The reconciler, writing through the libraries' live layers over `KubeClient`. */
export const WorkloadReconcilerLive: Layer.Layer<
  WorkloadReconciler,
  never,
  ClusterState | Log | EventRecorder | CauseEvents | KubeClient
> = Layer.effect(WorkloadReconciler, make).pipe(
  Layer.provide(Layer.merge(WorkloadPatcherLive, CleanupWritersLive)),
);
