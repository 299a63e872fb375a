/**
 * The watch-fed caches of everything a decision reads, and the mapping from a change of any
 * of them to the workloads it can affect, which are put on the work queue:
 * - a workload change queues that workload, unless it is the reconciler's own write coming back
 *   and nothing else queued the workload since (see `expectOwnWrite`);
 * - a namespace whose opt-in marker changed queues its workloads;
 * - runtime details queue their workload (a name that denotes none is reported);
 * - a CollectorsGroup or `odigos-config` change queues every workload with Odigos state
 *   (runtime details, devices or a reported name), and is remembered as a global change so
 *   the workloads it moves can be reported once, on the object that caused it.
 */
import {
  type CollectorsGroup,
  type DecodedInstrumentedApplication,
  type DecodeError,
  DeviceResourcePrefix,
  decodeCollectorsGroup,
  decodeInstrumentedApplication,
  decodeNamespace,
  decodeOdigosConfiguration,
  decodePod,
  type InstrumentedApplication,
  type Namespace,
  OdigosApiVersion,
  OdigosConfigName,
  type OdigosConfiguration,
  OdigosResources,
  type Pod,
  ReportedNameAnnotation,
  runtimeObjectName,
  type Workload,
  type WorkloadKind,
  WorkloadKinds,
  type WorkloadRef,
  workloadDecoder,
  workloadKey,
  workloadOfRuntimeObject,
  workloadResource,
} from "@odigos/crd-types";
import { collectorsReady, podCarriesDevices, readMarker } from "@odigos/instrumentation-rules";
import { KubeClient, type KubeClientApi, type Resource, Resources } from "@odigos/kube-client";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import type { Logger } from "pino";
import { Config } from "../config.js";
import { WorkloadQueue, type WorkQueue } from "../controller/work-queue.js";
import { EventRecorder, type EventTarget } from "../observability/events.js";
import { Log } from "../observability/log.js";
import { Metrics, type MetricsApi } from "../observability/metrics.js";
import { createInformer, type Informer, type InformerEvent } from "./informer.js";
import { withLastOtherSpecWriteOnly, withOdigosAnnotationsOnly } from "./slim.js";

const resourceVersionOf = (value: { readonly metadata: { readonly resourceVersion: string } }) =>
  value.metadata.resourceVersion;

/** `namespace/name` -> the ref of a workload of `kind`. */
const refOf = (kind: WorkloadKind, key: string): WorkloadRef => {
  const slash = key.indexOf("/");
  return { kind, namespace: key.slice(0, slash), name: key.slice(slash + 1) };
};

/** `Deployment/shop/cart` -> its ref (queue keys are {@link workloadKey}s). */
export const parseWorkloadKey = (key: string): WorkloadRef => {
  const [kind = "", namespace = "", name = ""] = key.split("/");
  return { kind: kind as WorkloadKind, namespace, name };
};

export const carriesDevices = (workload: Workload): boolean =>
  workload.spec.template.spec.containers.some((container) =>
    [container.resources?.limits, container.resources?.requests].some(
      (list) =>
        list !== undefined &&
        Object.keys(list).some((name) => name.startsWith(DeviceResourcePrefix)),
    ),
  );

/** `odigos-config` as the caches have it, or why there is no usable one. */
export type ConfigurationState =
  | { readonly _tag: "Available"; readonly config: OdigosConfiguration }
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Invalid"; readonly reason: string };

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

/** What a reconcile reads: the caches, never the API server. */
export interface ClusterView {
  readonly odigosNamespace: string;
  readonly workload: (ref: WorkloadRef) => Workload | undefined;
  /** Why a workload that exists could not be decoded, if so. */
  readonly workloadInvalid: (ref: WorkloadRef) => DecodeError | undefined;
  readonly namespace: (name: string) => Namespace | undefined;
  readonly runtimeDetailsOf: (ref: WorkloadRef) => InstrumentedApplication | undefined;
  readonly configuration: () => ConfigurationState;
  readonly allCollectorsGroups: () => Iterable<CollectorsGroup>;
  /** The last change of collectors readiness or `odigos-config`, if any since start. */
  readonly lastGlobalChange: () => GlobalChange | undefined;
  /**
   * Why a workload was queued, read once by its reconcile: the global change, when only that
   * queued it since its last reconcile; undefined when any of its own inputs did.
   */
  readonly takeCause: (ref: WorkloadRef) => GlobalChange | undefined;
  /** Puts back a cause taken by a reconcile that wrote nothing yet (it decides again later). */
  readonly restoreCause: (ref: WorkloadRef, cause: GlobalChange) => void;
  /** Pods of the workload that carry instrumentation devices (its instrumented revision). */
  readonly instrumentedPods: (ref: WorkloadRef) => ReadonlyArray<Pod>;
  /** Since when collectors have not been ready, if they are not (observed on our clock). */
  readonly collectorsNotReadySince: () => number | undefined;
}

export interface ClusterStateApi extends ClusterView {
  /** Completes once every cache has listed once. */
  readonly synced: Effect.Effect<void>;
  readonly hasSynced: () => boolean;
  /** Objects per cache, for metrics. */
  readonly sizes: () => ReadonlyArray<readonly [string, number]>;
  readonly allWorkloads: () => Iterable<WorkloadRef>;
  /** The cache whose lists and watches have been failing longest, and since when. */
  readonly failing: () => { readonly informer: string; readonly since: number } | undefined;
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

export class ClusterState extends Context.Tag("@odigos/instrumentor/ClusterState")<
  ClusterState,
  ClusterStateApi
>() {}

const apiVersionOfKind = (kind: string) =>
  (WorkloadKinds as ReadonlyArray<string>).includes(kind) ? "apps/v1" : OdigosApiVersion;

/** What the caches report to the queue and to the person on call. */
const makeReporter = Effect.gen(function* () {
  const log = yield* Log;
  const metrics = yield* Metrics;
  const events = yield* EventRecorder;
  return {
    invalid: (kind: string, error: DecodeError) => {
      metrics.decodeErrors.inc({ kind });
      log.warn(
        {
          kind,
          namespace: error.namespace,
          name: error.name,
          reason: "Malformed",
          issues: error.issues,
        },
        error.message,
      );
      if (error.namespace === undefined || error.name === undefined) return;
      const target = {
        apiVersion: apiVersionOfKind(kind),
        kind,
        namespace: error.namespace,
        name: error.name,
      };
      events.warning(target, "Malformed", "Decode", error.message);
    },
    badRuntimeDetails: (details: DecodedInstrumentedApplication, reason: string, note: string) => {
      const namespace = details.metadata.namespace ?? "";
      const { name, uid } = details.metadata;
      log.warn({ kind: "InstrumentedApplication", namespace, name, reason }, note);
      const target = {
        apiVersion: OdigosApiVersion,
        kind: "InstrumentedApplication",
        namespace,
        name,
        uid,
      };
      events.warning(target, reason, "Decode", note);
    },
  };
});

/**
 * The workload a pod belongs to: its controller is the StatefulSet or DaemonSet itself, or a
 * ReplicaSet named `<deployment>-<pod-template-hash>`.
 */
export const workloadOfPod = (pod: Pod): WorkloadRef | undefined => {
  const owner = pod.metadata.ownerReferences?.find((reference) => reference.controller === true);
  const namespace = pod.metadata.namespace ?? "";
  if (owner === undefined) return undefined;
  if (owner.kind === "StatefulSet" || owner.kind === "DaemonSet")
    return { kind: owner.kind, namespace, name: owner.name };
  if (owner.kind !== "ReplicaSet") return undefined;
  const hash = pod.metadata.labels?.["pod-template-hash"];
  if (hash === undefined || !owner.name.endsWith(`-${hash}`)) return undefined;
  return { kind: "Deployment", namespace, name: owner.name.slice(0, -hash.length - 1) };
};

type Reporter = Effect.Effect.Success<typeof makeReporter>;
type Versioned = {
  readonly metadata: {
    readonly resourceVersion: string;
    readonly annotations?: Readonly<Record<string, string>> | undefined;
  };
};

/** The caches, their view, and what their changes queue. */
class Caches implements ClusterStateApi {
  readonly odigosNamespace: string;
  private readonly configKey: string;
  /** Workload keys by namespace, for namespace fan-out. */
  private readonly byNamespace = new Map<string, Set<string>>();
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
  private readiness: boolean | undefined;
  private configurationBefore: ConfigurationState = { _tag: "Missing" };
  private readonly workloads: Readonly<Record<WorkloadKind, Informer<Workload>>>;
  private readonly namespaces: Informer<Namespace>;
  private readonly runtimeDetails: Informer<DecodedInstrumentedApplication>;
  private readonly collectorsGroups: Informer<CollectorsGroup>;
  private readonly configurations: Informer<OdigosConfiguration>;
  /** Only pods that carry devices are kept; they are indexed by their workload. */
  private readonly pods: Informer<Pod>;
  private readonly podsByWorkload = new Map<string, Set<string>>();
  private notReadySince: number | undefined;
  readonly all: ReadonlyArray<Informer<unknown>>;
  /** The caches a decision cannot do without (pods are only needed to judge rollouts). */
  private readonly core: ReadonlyArray<Informer<unknown>>;
  readonly synced: Effect.Effect<void>;

  constructor(
    private readonly client: KubeClientApi,
    private readonly log: Logger,
    private readonly queue: WorkQueue<string>,
    private readonly metrics: MetricsApi,
    private readonly report: Reporter,
    odigosNamespace: string,
    private readonly now: () => number,
  ) {
    this.odigosNamespace = odigosNamespace;
    this.configKey = `${odigosNamespace}/${OdigosConfigName}`;
    this.workloads = {
      Deployment: this.workloadInformer("Deployment"),
      StatefulSet: this.workloadInformer("StatefulSet"),
      DaemonSet: this.workloadInformer("DaemonSet"),
    };
    this.namespaces = this.informer(
      "Namespace",
      Resources.Namespace,
      undefined,
      decodeNamespace,
      (event) => this.onNamespace(event),
    );
    this.runtimeDetails = this.informer(
      "InstrumentedApplication",
      OdigosResources.InstrumentedApplication,
      undefined,
      decodeInstrumentedApplication,
      (event) => this.onRuntimeDetails(event),
    );
    this.collectorsGroups = this.informer(
      "CollectorsGroup",
      OdigosResources.CollectorsGroup,
      odigosNamespace,
      decodeCollectorsGroup,
      (event) => this.onCollectorsGroup(event),
    );
    this.configurations = this.informer(
      "OdigosConfiguration",
      OdigosResources.OdigosConfiguration,
      odigosNamespace,
      decodeOdigosConfiguration,
      (event) => this.onConfiguration(event),
    );
    this.pods = createInformer(this.client, this.log, {
      name: "Pod",
      resource: Resources.Pod,
      decode: (raw) => Either.map(decodePod(raw), withOdigosAnnotationsOnly),
      resourceVersionOf,
      keep: podCarriesDevices,
      onFailure: () => this.metrics.watchFailures.inc({ informer: "Pod" }),
      onEvent: (event) => this.onPod(event),
    });
    this.core = [
      ...Object.values(this.workloads),
      this.namespaces,
      this.runtimeDetails,
      this.collectorsGroups,
      this.configurations,
    ] as ReadonlyArray<Informer<unknown>>;
    this.all = [...this.core, this.pods as Informer<unknown>];
    this.synced = Effect.asVoid(
      Effect.all(
        this.core.map((one) => one.synced),
        { concurrency: "unbounded" },
      ),
    );
  }

  private informer<A extends Versioned>(
    name: string,
    resource: Resource,
    namespace: string | undefined,
    decode: (raw: unknown) => Either.Either<A, DecodeError>,
    onEvent: (event: InformerEvent<A>) => void,
  ): Informer<A> {
    return createInformer(this.client, this.log, {
      name,
      resource,
      namespace,
      decode: (raw) => Either.map(decode(raw), withOdigosAnnotationsOnly),
      resourceVersionOf,
      onFailure: () => this.metrics.watchFailures.inc({ informer: name }),
      onEvent: (event) => {
        if (event.type === "invalid") this.report.invalid(name, event.error);
        onEvent(event);
      },
    });
  }

  private workloadInformer(kind: WorkloadKind): Informer<Workload> {
    const decodeWorkload = workloadDecoder(kind);
    return this.informer(
      kind,
      workloadResource(kind),
      undefined,
      (raw) => Either.map(decodeWorkload(raw), withLastOtherSpecWriteOnly),
      (event) => {
        const ref = refOf(kind, event.key);
        const key = workloadKey(ref);
        if (event.type === "delete") this.byNamespace.get(ref.namespace)?.delete(key);
        else {
          let keys = this.byNamespace.get(ref.namespace);
          if (keys === undefined) {
            keys = new Set();
            this.byNamespace.set(ref.namespace, keys);
          }
          keys.add(key);
        }
        if (event.type !== "upsert") return this.enqueue(ref);
        if (this.isOwnWrite(key, event.current)) return;
        this.enqueue(ref, "own", event.current.metadata.resourceVersion);
      },
    );
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

  /** An instrumented pod changed: its workload's rollout may have progressed, or crash-looped. */
  private onPod(event: InformerEvent<Pod>): void {
    const pod = event.type === "upsert" ? event.current : event.previous;
    const owner = pod === undefined ? undefined : workloadOfPod(pod);
    if (owner === undefined) return;
    const key = workloadKey(owner);
    let pods = this.podsByWorkload.get(key);
    if (event.type === "delete") {
      pods?.delete(event.key);
      if (pods?.size === 0) this.podsByWorkload.delete(key);
    } else {
      if (pods === undefined) {
        pods = new Set();
        this.podsByWorkload.set(key, pods);
      }
      pods.add(event.key);
    }
    this.enqueue(owner);
  }

  /** Only the marker of a namespace feeds decisions; status churn must not requeue thousands. */
  private onNamespace(event: InformerEvent<Namespace>): void {
    const before =
      event.previous === undefined ? "" : JSON.stringify(readMarker(event.previous.metadata));
    const after = event.type === "upsert" ? JSON.stringify(readMarker(event.current.metadata)) : "";
    if (before === after) return;
    for (const key of this.byNamespace.get(event.key) ?? []) this.enqueue(parseWorkloadKey(key));
  }

  private onRuntimeDetails(event: InformerEvent<DecodedInstrumentedApplication>): void {
    const [namespace = "", name = ""] = event.key.split("/");
    const owner = workloadOfRuntimeObject(namespace, name);
    if (Either.isRight(owner)) this.enqueue(owner.right);
    if (event.type !== "upsert") return;
    const { current, previous } = event;
    if (Either.isLeft(owner)) {
      const note = `${owner.left.message}: it names no Deployment, StatefulSet or DaemonSet and is ignored`;
      this.report.badRuntimeDetails(current, "InvalidName", note);
    }
    const skipped = current.skippedLanguages;
    if (
      skipped.length === 0 ||
      JSON.stringify(skipped) === JSON.stringify(previous?.skippedLanguages)
    )
      return;
    const problems = skipped.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
    const entries = skipped.length === 1 ? "entry" : "entries";
    const note = `InstrumentedApplication ${event.key}: skipped ${skipped.length} language ${entries}, the others count: ${problems}`;
    this.report.badRuntimeDetails(current, "InvalidLanguageEntry", note);
  }

  private onCollectorsGroup(event: InformerEvent<CollectorsGroup>): void {
    const before = this.readiness ?? false;
    this.readiness = collectorsReady(this.collectorsGroups.values());
    if (this.readiness) this.notReadySince = undefined;
    else this.notReadySince ??= this.now();
    if (this.readiness === before && event.type !== "invalid") return;
    const [namespace = "", name = ""] = event.key.split("/");
    const uid = event.type === "upsert" ? event.current.metadata.uid : undefined;
    this.globalChanged({
      cause: { apiVersion: OdigosApiVersion, kind: "CollectorsGroup", namespace, name, uid },
      description: this.readiness ? "collectors became ready" : "collectors became not ready",
      before: { collectorsReady: before, configuration: this.configuration() },
    });
  }

  private onConfiguration(event: InformerEvent<OdigosConfiguration>): void {
    if (event.key !== this.configKey) return;
    const before = this.configurationBefore;
    this.configurationBefore = this.configuration();
    if (JSON.stringify(specOf(before)) === JSON.stringify(specOf(this.configurationBefore))) {
      // Same spec, another version (e.g. the annotation that resets the circuit breaker): look
      // again at every workload with Odigos state, without making this the cause of what follows.
      if (this.hasSynced() && event.type === "upsert")
        for (const ref of this.withOdigosState()) this.enqueue(ref, "none");
      return;
    }
    this.globalChanged({
      cause: {
        apiVersion: OdigosApiVersion,
        kind: "OdigosConfiguration",
        namespace: this.odigosNamespace,
        name: OdigosConfigName,
      },
      description: "odigos-config changed",
      before: { collectorsReady: this.readiness ?? false, configuration: before },
    });
  }

  private globalChanged(change: GlobalChange): void {
    // Before the first sync the caches are still filling: that is no change of the cluster.
    if (!this.hasSynced()) return;
    this.globalChange = change;
    for (const ref of this.withOdigosState()) this.enqueue(ref, change);
  }

  /** Workloads a collectors or configuration change can affect: with runtime details, devices or a reported name. */
  private *withOdigosState(): Generator<WorkloadRef> {
    for (const ref of this.allWorkloads()) {
      const workload = this.workload(ref);
      if (workload === undefined) continue;
      const hasState =
        this.runtimeDetailsOf(ref) !== undefined ||
        carriesDevices(workload) ||
        workload.metadata.annotations?.[ReportedNameAnnotation] !== undefined;
      if (hasState) yield ref;
    }
  }

  // ClusterView -------------------------------------------------------------------------------

  workload = (ref: WorkloadRef) => this.workloads[ref.kind].get(`${ref.namespace}/${ref.name}`);
  workloadInvalid = (ref: WorkloadRef) =>
    this.workloads[ref.kind].invalidReason(`${ref.namespace}/${ref.name}`);
  namespace = (name: string) => this.namespaces.get(name);
  runtimeDetailsOf = (ref: WorkloadRef) =>
    this.runtimeDetails.get(`${ref.namespace}/${runtimeObjectName(ref.kind, ref.name)}`);
  allCollectorsGroups = () => this.collectorsGroups.values();
  lastGlobalChange = () => this.globalChange;
  configuration = (): ConfigurationState => {
    const current = this.configurations.get(this.configKey);
    if (current !== undefined) return { _tag: "Available", config: current };
    const why = this.configurations.invalidReason(this.configKey);
    return why === undefined ? { _tag: "Missing" } : { _tag: "Invalid", reason: why.message };
  };
  instrumentedPods = (ref: WorkloadRef): ReadonlyArray<Pod> => {
    const keys = this.podsByWorkload.get(workloadKey(ref));
    if (keys === undefined) return [];
    return [...keys].flatMap((key) => this.pods.get(key) ?? []);
  };
  collectorsNotReadySince = () => this.notReadySince;
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

  // ClusterStateApi ---------------------------------------------------------------------------

  hasSynced = () => this.core.every((one) => one.hasSynced());
  sizes = () => this.all.map((one) => [one.name, one.size()] as const);
  allWorkloads = function* (this: Caches): Generator<WorkloadRef> {
    for (const kind of WorkloadKinds)
      for (const key of keysOf(this.workloads[kind])) yield refOf(kind, key);
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
  failing = () => {
    let worst: { informer: string; since: number } | undefined;
    for (const one of this.all) {
      const since = one.failingSince();
      if (since !== undefined && (worst === undefined || since < worst.since))
        worst = { informer: one.name, since };
    }
    return worst;
  };
}

/** Builds the caches and starts them in the layer's scope; they stop when it closes. */
const make = Effect.gen(function* () {
  const metrics = yield* Metrics;
  const caches = new Caches(
    yield* KubeClient,
    yield* Log,
    yield* WorkloadQueue,
    metrics,
    yield* makeReporter,
    (yield* Config).odigosNamespace,
    yield* clockNow,
  );
  // Started only once all exist: every event handler may read every cache.
  yield* Effect.forEach(caches.all, (one) => one.start, { discard: true });
  metrics.onScrape(() => {
    for (const [name, size] of caches.sizes()) metrics.cacheObjects.set({ informer: name }, size);
  });
  return caches as ClusterStateApi;
});

/** Now, on the program's `Clock` (tests run it on `TestClock`), for synchronous callers. */
const clockNow = Effect.map(Effect.clock, (clock) => () => clock.unsafeCurrentTimeMillis());

const keysOf = function* (informer: Informer<Workload>): Generator<string> {
  for (const workload of informer.values())
    yield `${workload.metadata.namespace ?? ""}/${workload.metadata.name}`;
};

const specOf = (state: ConfigurationState) =>
  state._tag === "Available" ? state.config.spec : state._tag;

/** The caches, started in the layer's scope. */
export const ClusterStateLive: Layer.Layer<
  ClusterState,
  never,
  KubeClient | Log | Metrics | EventRecorder | WorkloadQueue | Config
> = Layer.scoped(ClusterState, make);
