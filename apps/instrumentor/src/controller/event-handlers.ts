/**
 * The controller's event handlers (controller-runtime's `handler.EventHandler`): which workloads
 * a change the caches took in can affect, put on the work queue, and the bookkeeping of the
 * reconciler's own writes:
 * - a workload change queues that workload, unless it is the reconciler's own write coming back
 *   and nothing else queued the workload since (see `expectOwnWrite`), or only its status changed
 *   and it has no Odigos state (the replica counts of someone else's rollout decide nothing);
 * - a namespace whose opt-in marker changed queues its workloads;
 * - runtime details queue their workload; an instrumented pod queues its workload;
 * - a CollectorsGroup or `odigos-config` change queues every workload with Odigos state
 *   (runtime details, devices or a reported name), and is remembered as a global change so
 *   the workloads it moves can be reported once, on the object that caused it.
 */
import {
  type ManagedFieldsEntry,
  type Namespace,
  OdigosApiVersion,
  OdigosConfigName,
  type Workload,
  type WorkloadKind,
  type WorkloadRef,
  workloadKey,
} from "@odigos/crd-types";
import { readMarker } from "@odigos/instrumentation-rules";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import {
  type CacheEvent,
  CacheEventHandler,
  type CacheEventHandlerApi,
  type ClusterStateApi,
  type ConfigurationState,
  carriesDevices,
} from "../cache/cluster-state.js";
import type { InformerEvent } from "../cache/informer.js";
import type { EventTarget } from "../observability/events.js";
import { Metrics, type MetricsApi } from "../observability/metrics.js";
import { WorkloadQueue, type WorkQueue } from "./work-queue.js";

/** `Deployment/shop/cart` -> its ref (queue keys are {@link workloadKey}s). */
export const parseWorkloadKey = (key: string): WorkloadRef => {
  const [kind = "", namespace = "", name = ""] = key.split("/");
  return { kind: kind as WorkloadKind, namespace, name };
};

/** A change of a cluster-wide input, and the global inputs as they were before it. */
export interface GlobalChange {
  /** The object whose change moved the workloads: a CollectorsGroup, or `odigos-config`. */
  readonly cause: EventTarget;
  /** e.g. `collectors became ready`, `odigos-config changed`. */
  readonly description: string;
  readonly before: {
    readonly collectorsReady: boolean;
    readonly configuration: ConfigurationState;
  };
}

export interface EventHandlersApi extends CacheEventHandlerApi {
  /** The last change of collectors readiness or `odigos-config`, if any since start. */
  readonly lastGlobalChange: () => GlobalChange | undefined;
  /**
   * Why a workload was queued, read once by its reconcile: the global change, when only that
   * queued it since its last reconcile; undefined when any of its own inputs did.
   */
  readonly takeCause: (ref: WorkloadRef) => GlobalChange | undefined;
  /** Puts back a cause taken by a reconcile that wrote nothing yet (it decides again later). */
  readonly restoreCause: (ref: WorkloadRef, cause: GlobalChange) => void;
  /**
   * The reconciler wrote `ref` and its object is now at `resourceVersion`, a state it has already
   * decided on: when the watch brings that very version back (or already brought it, during the
   * reconcile) and nothing else queued the workload in between, it is not queued again, and its
   * delayed add (the bound on waiting for the write to come back) is moved to `thenAt` (a time of
   * the Effect `Clock`: when a decision is due anyway, such as the rollout's deadline), or dropped.
   * To be called by the workload's reconcile, after `takeCause`; true when the write has already
   * come back. A mass change is then one reconcile per workload, not two (the second one decided
   * "no change" at 15 % of the instrumentor's CPU).
   */
  readonly expectOwnWrite: (
    ref: WorkloadRef,
    resourceVersion: string,
    thenAt: number | undefined,
  ) => boolean;
}

export class EventHandlers extends Context.Tag("@odigos/instrumentor/EventHandlers")<
  EventHandlers,
  EventHandlersApi
>() {}

class Handlers implements EventHandlersApi {
  /** Workloads whose next watch event should be our own write: its resourceVersion, and then what. */
  private readonly ownWrites = new Map<
    string,
    { readonly version: string; readonly thenAt: number | undefined }
  >();
  /**
   * Per workload queued since its reconcile began: the resourceVersion of the watch event of its
   * own that alone queued it, or "" when anything else did.
   */
  private readonly queuedBy = new Map<string, string>();
  /** Per queued workload: the global change that queued it, or "own" once any own input did. */
  private readonly causes = new Map<string, GlobalChange | "own">();
  private globalChange: GlobalChange | undefined;

  constructor(
    private readonly queue: WorkQueue<string>,
    private readonly metrics: MetricsApi,
  ) {}

  handle = (change: CacheEvent, view: ClusterStateApi): void => {
    switch (change._tag) {
      case "Workload":
        this.onWorkload(change.ref, change.event, view);
        break;
      case "Namespace":
        this.onNamespace(change.event, view);
        break;
      case "RuntimeDetails":
        if (change.owner !== undefined) this.enqueue(change.owner);
        break;
      case "Pod":
        // An instrumented pod changed: its workload's rollout may have progressed, or crash-looped.
        this.enqueue(change.owner);
        break;
      case "CollectorsGroup":
        this.onCollectorsGroup(change, view);
        break;
      case "Configuration":
        this.onConfiguration(change, view);
        break;
    }
  };

  /** Only the marker of a namespace feeds decisions; status churn must not requeue thousands. */
  private onNamespace(event: InformerEvent<Namespace>, view: ClusterStateApi): void {
    const before =
      event.previous === undefined ? "" : JSON.stringify(readMarker(event.previous.metadata));
    const after = event.type === "upsert" ? JSON.stringify(readMarker(event.current.metadata)) : "";
    if (before !== after) for (const ref of view.workloadsIn(event.key)) this.enqueue(ref);
  }

  private onWorkload(
    ref: WorkloadRef,
    event: InformerEvent<Workload>,
    view: ClusterStateApi,
  ): void {
    if (event.type !== "upsert") {
      this.enqueue(ref);
      return;
    }
    if (this.isOwnWrite(workloadKey(ref), event.current)) return;
    if (
      event.previous !== undefined &&
      onlyStatusChanged(event.previous, event.current) &&
      !hasOdigosState(view, ref, event.current)
    )
      return;
    this.enqueue(ref, "own", event.current.metadata.resourceVersion);
  }

  private onCollectorsGroup(
    { event, readyBefore }: Extract<CacheEvent, { _tag: "CollectorsGroup" }>,
    view: ClusterStateApi,
  ): void {
    const ready = view.collectorsReady();
    if (ready === readyBefore && event.type !== "invalid") return;
    const [namespace = "", name = ""] = event.key.split("/");
    const uid = event.type === "upsert" ? event.current.metadata.uid : undefined;
    this.globalChanged(view, {
      cause: { apiVersion: OdigosApiVersion, kind: "CollectorsGroup", namespace, name, uid },
      description: ready ? "collectors became ready" : "collectors became not ready",
      before: { collectorsReady: readyBefore, configuration: view.configuration() },
    });
  }

  private onConfiguration(
    { event, before }: Extract<CacheEvent, { _tag: "Configuration" }>,
    view: ClusterStateApi,
  ): void {
    if (JSON.stringify(specOf(before)) === JSON.stringify(specOf(view.configuration()))) {
      // Same spec, another version (e.g. the annotation that resets the circuit breaker): look
      // again at every workload with Odigos state, without making this the cause of what follows.
      if (view.hasSynced() && event.type === "upsert")
        for (const ref of withOdigosState(view)) this.enqueue(ref, "none");
      return;
    }
    this.globalChanged(view, {
      cause: {
        apiVersion: OdigosApiVersion,
        kind: "OdigosConfiguration",
        namespace: view.odigosNamespace,
        name: OdigosConfigName,
      },
      description: "odigos-config changed",
      before: { collectorsReady: view.collectorsReady(), configuration: before },
    });
  }

  private globalChanged(view: ClusterStateApi, change: GlobalChange): void {
    // Before the first sync the caches are still filling: that is no change of the cluster.
    if (!view.hasSynced()) return;
    this.globalChange = change;
    for (const ref of withOdigosState(view)) this.enqueue(ref, change);
  }

  /**
   * Whether this is the version `expectOwnWrite` announced (the expectation is used up either
   * way); if so, the workload's next look is moved to when it is due.
   */
  private isOwnWrite(key: string, current: Workload): boolean {
    const expected = this.ownWrites.get(key);
    if (expected === undefined) return false;
    this.ownWrites.delete(key);
    if (expected.version !== current.metadata.resourceVersion) return false;
    this.queue.rescheduleAt(key, expected.thenAt);
    return true;
  }

  /** Queues a workload; `version` when its own watch event at that version is the reason. */
  private enqueue(
    ref: WorkloadRef,
    cause: GlobalChange | "own" | "none" = "own",
    version?: string,
  ): void {
    const key = workloadKey(ref);
    // Something else may have changed meanwhile: the echo of our write must be decided on too.
    this.ownWrites.delete(key);
    this.queuedBy.set(key, this.queuedBy.has(key) ? "" : (version ?? ""));
    if (cause !== "none" && this.causes.get(key) !== "own") this.causes.set(key, cause);
    this.metrics.queueAdds.inc({ name: "workload" });
    this.queue.add(key);
  }

  lastGlobalChange = () => this.globalChange;

  restoreCause = (ref: WorkloadRef, cause: GlobalChange) => {
    const key = workloadKey(ref);
    if (!this.causes.has(key)) this.causes.set(key, cause);
  };

  takeCause = (ref: WorkloadRef) => {
    const key = workloadKey(ref);
    const cause = this.causes.get(key);
    this.causes.delete(key);
    this.queuedBy.delete(key);
    return cause === "own" ? undefined : cause;
  };

  expectOwnWrite = (ref: WorkloadRef, resourceVersion: string, thenAt: number | undefined) => {
    const key = workloadKey(ref);
    const queuedBy = this.queuedBy.get(key);
    if (queuedBy === undefined) {
      this.ownWrites.set(key, { version: resourceVersion, thenAt });
      return false;
    }
    // The write came back before its reconcile ended. If nothing else queued the workload
    // meanwhile, its run after this one would only confirm it: take it back.
    if (queuedBy !== resourceVersion) return false;
    this.queuedBy.delete(key);
    this.causes.delete(key);
    this.queue.retract(key);
    return true;
  };
}

/** Workloads a collectors or configuration change can affect: with runtime details, devices or a reported name. */
function* withOdigosState(view: ClusterStateApi): Generator<WorkloadRef> {
  for (const ref of view.allWorkloads()) {
    const workload = view.workload(ref);
    if (workload !== undefined && hasOdigosState(view, ref, workload)) yield ref;
  }
}

/**
 * Whether a workload has anything the instrumentor acts on or keeps: runtime details, devices, or
 * any Odigos annotation (the cache keeps no other): its opt-in marker, a reported name, a rollout
 * or rollback record. A change of the cluster (collectors, `odigos-config`) and a status-only
 * update concern only these: any other workload was not instrumented and still is not.
 */
const hasOdigosState = (view: ClusterStateApi, ref: WorkloadRef, workload: Workload): boolean =>
  view.runtimeDetailsOf(ref) !== undefined ||
  carriesDevices(workload) ||
  Object.keys(workload.metadata.annotations ?? {}).length > 0;

const sameStrings = (
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean => {
  if (a === b) return true;
  const keys = Object.keys(a ?? {});
  if (keys.length !== Object.keys(b ?? {}).length) return false;
  return keys.every((key) => a?.[key] === b?.[key]);
};

/**
 * The same spec (the API server bumps `generation` with every spec change) and the same metadata
 * the cache keeps (labels, Odigos annotations, the last other spec writer): only `status` (and the
 * resourceVersion) moved, as a controller reports a rollout's progress.
 */
const onlyStatusChanged = (previous: Workload, current: Workload): boolean => {
  const [before, after] = [previous.metadata, current.metadata];
  const writers = after.managedFields ?? [];
  return (
    before.generation !== undefined &&
    before.generation === after.generation &&
    before.uid === after.uid &&
    sameStrings(before.labels, after.labels) &&
    sameStrings(before.annotations, after.annotations) &&
    (before.managedFields ?? []).length === writers.length &&
    (before.managedFields ?? []).every((entry, i) => sameWriter(entry, writers[i]))
  );
};

const sameWriter = (a: ManagedFieldsEntry, b: ManagedFieldsEntry | undefined): boolean =>
  a.manager === b?.manager &&
  a.time === b?.time &&
  a.operation === b?.operation &&
  a.subresource === b?.subresource;

const specOf = (state: ConfigurationState) =>
  state._tag === "Available" ? state.config.spec : state._tag;

/**
 * The event handlers, as the caches' `CacheEventHandler` (below them in the layer graph: the
 * caches hand every change to it) and as the controller's `EventHandlers`.
 */
export const EventHandlersLive: Layer.Layer<
  EventHandlers | CacheEventHandler,
  never,
  WorkloadQueue | Metrics
> = Layer.effectContext(
  Effect.gen(function* () {
    const handlers = new Handlers(yield* WorkloadQueue, yield* Metrics);
    return Context.make(EventHandlers, handlers as EventHandlersApi).pipe(
      Context.add(CacheEventHandler, handlers),
    );
  }),
);
