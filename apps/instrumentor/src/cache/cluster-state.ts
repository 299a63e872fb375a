/**
 * The watch-fed caches of everything a decision reads, as controller-runtime's cache is: one
 * informer per kind, the indexes a reconcile needs (workloads by namespace, instrumented pods by
 * workload), the state derived from them (collectors readiness and since when it is lost,
 * `odigos-config`), and reports of objects that fail to decode. Each change, once the caches
 * have taken it in, goes to the {@link CacheEventHandler} the layer is given: the caches know
 * nothing of queues; the controller's event handlers map changes to work.
 */
import {
  ArgoRolloutsCrd,
  type CollectorsGroup,
  type CustomResource,
  type DecodedInstrumentedApplication,
  type DecodeError,
  DeviceResourcePrefix,
  decodeCollectorsGroup,
  decodeCustomResource,
  decodeInstrumentedApplication,
  decodeNamespace,
  decodeOdigosConfiguration,
  decodePod,
  type InstrumentedApplication,
  InstrumentedPodLabel,
  type Namespace,
  OdigosApiVersion,
  OdigosConfigName,
  type OdigosConfiguration,
  OdigosResources,
  type Pod,
  runtimeObjectName,
  unsupportedKindOf,
  type Workload,
  type WorkloadKind,
  WorkloadKinds,
  type WorkloadRef,
  workloadApiVersion,
  workloadDecoder,
  workloadKey,
  workloadOfPod,
  workloadOfRuntimeObject,
  workloadResource,
  workloadStatusDecoder,
} from "@odigos/crd-types";
import {
  collectorsReady,
  podCarriesDevices,
  unsupportedKindStatus,
} from "@odigos/instrumentation-rules";
import { KubeClient, type KubeClientApi, type Resource, Resources } from "@odigos/kube-client";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import * as Queue from "effect/Queue";
import * as Scope from "effect/Scope";
import type { Logger } from "pino";
import { Config } from "../config.js";
import { EventRecorder } from "../observability/events.js";
import { Liveness, Readiness } from "../observability/health.js";
import { Log } from "../observability/log.js";
import { Metrics, type MetricsApi } from "../observability/metrics.js";
import { createInformer, type Informer, type InformerEvent } from "./informer.js";
import { legacyRolloutsUntil } from "./legacy-pods.js";
import {
  refreshStatusOnly,
  withInstrumentedLabelOnly,
  withLastOtherSpecWriteOnly,
  withOdigosAnnotationsOnly,
} from "./slim.js";

const resourceVersionOf = (value: { readonly metadata: { readonly resourceVersion: string } }) =>
  value.metadata.resourceVersion;

/** `namespace/name` -> the ref of a workload of `kind`. */
const refOf = (kind: WorkloadKind, key: string): WorkloadRef => {
  const slash = key.indexOf("/");
  return { kind, namespace: key.slice(0, slash), name: key.slice(slash + 1) };
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

/** What a reconcile reads: the caches, never the API server. */
export interface ClusterView {
  readonly odigosNamespace: string;
  /**
   * Whether workloads of this kind are watched: always, but Argo `Rollout`s only while their CRD
   * is installed. A workload of a kind not watched is neither instrumented nor missing.
   */
  readonly watches: (kind: WorkloadKind) => boolean;
  readonly workload: (ref: WorkloadRef) => Workload | undefined;
  /** Why a workload that exists could not be decoded, if so. */
  readonly workloadInvalid: (ref: WorkloadRef) => DecodeError | undefined;
  readonly namespace: (name: string) => Namespace | undefined;
  readonly runtimeDetailsOf: (ref: WorkloadRef) => InstrumentedApplication | undefined;
  readonly configuration: () => ConfigurationState;
  readonly allCollectorsGroups: () => Iterable<CollectorsGroup>;
  /** Whether the data-collection collectors are ready, as of the last CollectorsGroup change. */
  readonly collectorsReady: () => boolean;
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
  /** Workloads of one namespace (an index kept by the caches). */
  readonly workloadsIn: (namespace: string) => Iterable<WorkloadRef>;
  /** The cache whose lists and watches have been failing longest, and since when. */
  readonly failing: () => { readonly informer: string; readonly since: number } | undefined;
}

export class ClusterState extends Context.Tag("@odigos/instrumentor/ClusterState")<
  ClusterState,
  ClusterStateApi
>() {}

/** A change the caches took in (their indexes and derived state already updated). */
export type CacheEvent =
  | {
      readonly _tag: "Workload";
      readonly ref: WorkloadRef;
      readonly event: InformerEvent<Workload>;
    }
  | { readonly _tag: "Namespace"; readonly event: InformerEvent<Namespace> }
  | {
      readonly _tag: "RuntimeDetails";
      readonly event: InformerEvent<DecodedInstrumentedApplication>;
      /** The workload its name denotes; undefined when it denotes none (that is reported). */
      readonly owner: WorkloadRef | undefined;
    }
  | {
      readonly _tag: "CollectorsGroup";
      readonly event: InformerEvent<CollectorsGroup>;
      /** Readiness before this change (`view.collectorsReady()` is after it). */
      readonly readyBefore: boolean;
    }
  | {
      readonly _tag: "Configuration";
      readonly event: InformerEvent<OdigosConfiguration>;
      /** `odigos-config` before this change (`view.configuration()` is after it). */
      readonly before: ConfigurationState;
    }
  | { readonly _tag: "Pod"; readonly owner: WorkloadRef; readonly event: InformerEvent<Pod> };

/** What the caches tell of each change (controller-runtime's event handler); given to their layer. */
export interface CacheEventHandlerApi {
  readonly handle: (event: CacheEvent, view: ClusterStateApi) => void;
}

export class CacheEventHandler extends Context.Tag("@odigos/instrumentor/CacheEventHandler")<
  CacheEventHandler,
  CacheEventHandlerApi
>() {}

/** The kinds handled, for messages: "Deployment, StatefulSet, DaemonSet, CronJob or Rollout". */
const handledKinds = `${WorkloadKinds.slice(0, -1).join(", ")} or ${WorkloadKinds.at(-1)}`;

/** A cache failing to list or watch for this long makes `/healthz` fail. */
export const watchFailureBoundMs = 300_000;

const apiVersionOfKind = (kind: string) =>
  (WorkloadKinds as ReadonlyArray<string>).includes(kind)
    ? workloadApiVersion(kind as WorkloadKind)
    : OdigosApiVersion;

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

type Reporter = Effect.Effect.Success<typeof makeReporter>;
type Versioned = {
  readonly metadata: {
    readonly resourceVersion: string;
    readonly annotations?: Readonly<Record<string, string>> | undefined;
  };
};

/** The caches and their view; each change goes to the handler once the caches took it in. */
class Caches implements ClusterStateApi {
  readonly odigosNamespace: string;
  private readonly configKey: string;
  /** Workload keys (`Kind/namespace/name`) by namespace: the namespace index. */
  private readonly byNamespace = new Map<string, Set<string>>();
  private readiness: boolean | undefined;
  private configurationBefore: ConfigurationState = { _tag: "Missing" };
  private readonly workloads: Partial<Record<WorkloadKind, Informer<Workload>>>;
  /** The Argo Rollouts CRD, by name: while it is installed and established, Rollouts are watched. */
  private readonly argoCrd: Informer<CustomResource>;
  /** The Rollout informer's scope, while it runs. */
  private rolloutScope: Scope.CloseableScope | undefined;
  /** Whether the CRD is established, as its informer last said (a fiber starts and stops Rollouts). */
  readonly argoChanges = Effect.runSync(Queue.sliding<boolean>(1));
  private readonly namespaces: Informer<Namespace>;
  private readonly runtimeDetails: Informer<DecodedInstrumentedApplication>;
  private readonly collectorsGroups: Informer<CollectorsGroup>;
  private readonly configurations: Informer<OdigosConfiguration>;
  /**
   * Pods of instrumented revisions: listed and watched by the label the device patch puts on the
   * pod template, so pods of workloads the instrumentor never wrote cost nothing. Only pods that
   * carry devices are kept; they are indexed by their workload.
   */
  private readonly pods: Informer<Pod>;
  /**
   * Every pod, for a while after a start that finds workloads an earlier version instrumented
   * (devices, no label) within the rollback window: their pods carry no label, and must still be
   * rolled back when they crash-loop. Stopped at the end of the last such window.
   */
  private legacyPods: Informer<Pod> | undefined;
  private readonly podsByWorkload = new Map<string, Set<string>>();
  private notReadySince: number | undefined;
  readonly all: ReadonlyArray<Informer<unknown>>;
  /** The caches a decision cannot do without (pods are only needed to judge rollouts). */
  private readonly core: ReadonlyArray<Informer<unknown>>;
  readonly synced: Effect.Effect<void>;

  constructor(
    private readonly client: KubeClientApi,
    private readonly log: Logger,
    private readonly handler: CacheEventHandlerApi,
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
      CronJob: this.workloadInformer("CronJob"),
    };
    this.argoCrd = createInformer(this.client, this.log, {
      name: "CustomResourceDefinition",
      resource: Resources.CustomResourceDefinition,
      fieldSelector: `metadata.name=${ArgoRolloutsCrd}`,
      decode: decodeCustomResource,
      resourceVersionOf,
      onFailure: () => this.metrics.watchFailures.inc({ informer: "CustomResourceDefinition" }),
      onReceived: (count) =>
        this.metrics.watchEvents.inc({ informer: "CustomResourceDefinition" }, count),
      onEvent: () => Queue.unsafeOffer(this.argoChanges, this.argoEstablished()),
    });
    this.namespaces = this.informer(
      "Namespace",
      Resources.Namespace,
      undefined,
      decodeNamespace,
      (event) => this.handler.handle({ _tag: "Namespace", event }, this),
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
    this.pods = this.podInformer("Pod", InstrumentedPodLabel);
    this.core = [
      ...Object.values(this.workloads),
      this.argoCrd,
      this.namespaces,
      this.runtimeDetails,
      this.collectorsGroups,
      this.configurations,
    ] as ReadonlyArray<Informer<unknown>>;
    this.all = [...this.core, this.pods as Informer<unknown>];
    this.synced = Effect.asVoid(
      Effect.all([...this.core.map((one) => one.synced), Deferred.await(this.argoSettled)], {
        concurrency: "unbounded",
      }),
    );
  }

  private informer<A extends Versioned>(
    name: string,
    resource: Resource,
    namespace: string | undefined,
    decode: (raw: unknown) => Either.Either<A, DecodeError>,
    onEvent: (event: InformerEvent<A>) => void,
    refresh?: (previous: A, raw: unknown) => A | undefined,
  ): Informer<A> {
    return createInformer(this.client, this.log, {
      name,
      resource,
      namespace,
      decode: (raw) => Either.map(decode(raw), withOdigosAnnotationsOnly),
      refresh,
      resourceVersionOf,
      onFailure: () => this.metrics.watchFailures.inc({ informer: name }),
      onReceived: (count) => this.metrics.watchEvents.inc({ informer: name }, count),
      onEvent: (event) => {
        if (event.type === "invalid") this.report.invalid(name, event.error);
        onEvent(event);
      },
    });
  }

  private podInformer(name: string, labelSelector: string | undefined): Informer<Pod> {
    return createInformer(this.client, this.log, {
      name,
      resource: Resources.Pod,
      labelSelector,
      decode: (raw) => Either.map(decodePod(raw), withOdigosAnnotationsOnly),
      resourceVersionOf,
      keep: podCarriesDevices,
      onFailure: () => this.metrics.watchFailures.inc({ informer: name }),
      onReceived: (count) => this.metrics.watchEvents.inc({ informer: name }, count),
      onEvent: (event) => this.onPod(event),
    });
  }

  /**
   * Watches every pod (as before the label) until `until`, in its own scope, then only labelled
   * pods again: the index keeps only what the labelled informer holds.
   */
  watchLegacyPods(until: number): Effect.Effect<void> {
    const legacy = this.podInformer("LegacyPod", undefined);
    return Effect.gen(this, function* () {
      const scope = yield* Scope.make();
      this.legacyPods = legacy;
      yield* Scope.extend(legacy.start, scope);
      yield* Effect.sleep(Math.max(0, until - this.now()));
      yield* Scope.close(scope, Exit.void);
      this.legacyPods = undefined;
      this.podsByWorkload.clear();
      for (const pod of this.pods.values()) {
        const owner = workloadOfPod(pod);
        if (owner !== undefined)
          indexBy(this.podsByWorkload, workloadKey(owner), podKey(pod), true);
      }
      this.log.info(
        { informer: "LegacyPod" },
        "the rollback windows of the workloads an earlier version instrumented have passed: only pods with the instrumented label are watched now",
      );
    });
  }

  /** The first answer about the Argo Rollouts CRD is in (its Rollouts listed, if installed). */
  private readonly argoSettled = Effect.runSync(Deferred.make<void>());

  private argoEstablished(): boolean {
    const crd = this.argoCrd.get(ArgoRolloutsCrd);
    return (
      crd?.status?.conditions?.some(
        (condition) => condition.type === "Established" && condition.status === "True",
      ) === true
    );
  }

  /**
   * Starts the Rollout informer when the Argo Rollouts CRD is established, and stops it when the
   * CRD goes (the API server deleted every Rollout first): no watch, and no error, without it.
   */
  manageArgoRollouts(): Effect.Effect<never> {
    return Effect.gen(this, function* () {
      yield* this.argoCrd.synced;
      yield* this.applyArgo(this.argoEstablished());
      yield* Deferred.succeed(this.argoSettled, undefined);
      for (;;) yield* this.applyArgo(yield* Queue.take(this.argoChanges));
    }).pipe(
      Effect.ensuring(
        Effect.suspend(() =>
          this.rolloutScope === undefined ? Effect.void : Scope.close(this.rolloutScope, Exit.void),
        ),
      ),
    );
  }

  private applyArgo(established: boolean): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      if (established && this.rolloutScope === undefined) {
        const informer = this.workloadInformer("Rollout");
        const scope = yield* Scope.make();
        this.rolloutScope = scope;
        this.workloads.Rollout = informer;
        yield* Scope.extend(informer.start, scope);
        this.log.info(
          { informer: "Rollout", reason: "ArgoRolloutsInstalled" },
          `the ${ArgoRolloutsCrd} CRD is installed: Argo Rollouts are watched`,
        );
        yield* informer.synced;
      } else if (!established && this.rolloutScope !== undefined) {
        const informer = this.workloads.Rollout;
        yield* Scope.close(this.rolloutScope, Exit.void);
        this.rolloutScope = undefined;
        delete this.workloads.Rollout;
        for (const key of informer === undefined ? [] : keysOf(informer)) {
          const ref = refOf("Rollout", key);
          indexBy(this.byNamespace, ref.namespace, workloadKey(ref), false);
        }
        this.log.info(
          { informer: "Rollout", reason: "ArgoRolloutsRemoved" },
          `the ${ArgoRolloutsCrd} CRD is gone: Argo Rollouts are no longer watched`,
        );
      }
    });
  }

  /** Workloads an earlier version instrumented within the window (devices, no label): until when. */
  legacyUntil(now: number, windowMs: number): { count: number; until: number } | undefined {
    return legacyRolloutsUntil(
      WorkloadKinds.flatMap((kind) => [...(this.workloads[kind]?.values() ?? [])]),
      now,
      windowMs,
    );
  }

  private workloadInformer(kind: WorkloadKind): Informer<Workload> {
    const decodeWorkload = workloadDecoder(kind);
    const decodeStatus = workloadStatusDecoder(kind);
    return this.informer(
      kind,
      workloadResource(kind),
      undefined,
      (raw) =>
        Either.map(decodeWorkload(raw), (workload) =>
          withInstrumentedLabelOnly(withLastOtherSpecWriteOnly(workload)),
        ),
      (event) => {
        const ref = refOf(kind, event.key);
        indexBy(this.byNamespace, ref.namespace, workloadKey(ref), event.type !== "delete");
        this.handler.handle({ _tag: "Workload", ref, event }, this);
      },
      // Every rollout in the cluster sends its workload's status some 30 times: kept up to date
      // without decoding the rest again.
      (previous, raw) => refreshStatusOnly(previous, raw, decodeStatus),
    );
  }

  private onPod(event: InformerEvent<Pod>): void {
    const pod = event.type === "upsert" ? event.current : event.previous;
    const owner = pod === undefined ? undefined : workloadOfPod(pod);
    if (owner === undefined) return;
    indexBy(this.podsByWorkload, workloadKey(owner), event.key, event.type !== "delete");
    this.handler.handle({ _tag: "Pod", owner, event }, this);
  }

  private onRuntimeDetails(event: InformerEvent<DecodedInstrumentedApplication>): void {
    const [namespace = "", name = ""] = event.key.split("/");
    const owner = workloadOfRuntimeObject(namespace, name);
    this.handler.handle(
      { _tag: "RuntimeDetails", event, owner: Either.getOrUndefined(owner) },
      this,
    );
    if (event.type !== "upsert") return;
    const { current, previous } = event;
    // Said once per object (its name never changes), not at each update of its languages.
    if (Either.isLeft(owner) && previous === undefined) this.reportUnhandled(current, owner.left);
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

  /** Runtime details of a kind the instrumentor does not handle, or of no kind at all. */
  private reportUnhandled(details: DecodedInstrumentedApplication, error: Error): void {
    const unsupported = unsupportedKindOf(details.metadata.name);
    if (unsupported === undefined) {
      const note = `${error.message}: it names no ${handledKinds} and is ignored`;
      this.report.badRuntimeDetails(details, "InvalidName", note);
      return;
    }
    const { kind, name } = unsupported;
    const namespace = details.metadata.namespace ?? "";
    const through =
      kind === "Job" ? " (a CronJob's Jobs are instrumented through the CronJob)" : "";
    const note = `${kind} ${namespace}/${name} has runtime details but is not instrumented: ${unsupportedKindStatus(kind).message}${through}`;
    this.report.badRuntimeDetails(details, "KindNotSupported", note);
  }

  private onCollectorsGroup(event: InformerEvent<CollectorsGroup>): void {
    const readyBefore = this.readiness ?? false;
    this.readiness = collectorsReady(this.collectorsGroups.values());
    if (this.readiness) this.notReadySince = undefined;
    else this.notReadySince ??= this.now();
    this.handler.handle({ _tag: "CollectorsGroup", event, readyBefore }, this);
  }

  private onConfiguration(event: InformerEvent<OdigosConfiguration>): void {
    if (event.key !== this.configKey) return;
    const before = this.configurationBefore;
    this.configurationBefore = this.configuration();
    this.handler.handle({ _tag: "Configuration", event, before }, this);
  }

  // ClusterView -------------------------------------------------------------------------------

  watches = (kind: WorkloadKind) => this.workloads[kind] !== undefined;
  workload = (ref: WorkloadRef) => this.workloads[ref.kind]?.get(`${ref.namespace}/${ref.name}`);
  workloadInvalid = (ref: WorkloadRef) =>
    this.workloads[ref.kind]?.invalidReason(`${ref.namespace}/${ref.name}`);
  namespace = (name: string) => this.namespaces.get(name);
  runtimeDetailsOf = (ref: WorkloadRef) =>
    this.runtimeDetails.get(`${ref.namespace}/${runtimeObjectName(ref.kind, ref.name)}`);
  allCollectorsGroups = () => this.collectorsGroups.values();
  collectorsReady = () => this.readiness ?? false;
  configuration = (): ConfigurationState => {
    const current = this.configurations.get(this.configKey);
    if (current !== undefined) return { _tag: "Available", config: current };
    const why = this.configurations.invalidReason(this.configKey);
    return why === undefined ? { _tag: "Missing" } : { _tag: "Invalid", reason: why.message };
  };
  instrumentedPods = (ref: WorkloadRef): ReadonlyArray<Pod> => {
    const keys = this.podsByWorkload.get(workloadKey(ref));
    if (keys === undefined) return [];
    return [...keys].flatMap((key) => this.pods.get(key) ?? this.legacyPods?.get(key) ?? []);
  };
  collectorsNotReadySince = () => this.notReadySince;

  // ClusterStateApi ---------------------------------------------------------------------------

  hasSynced = () =>
    this.core.every((one) => one.hasSynced()) && this.workloads.Rollout?.hasSynced() !== false;
  /** Every informer running now (Rollouts and every pod only while they are watched). */
  private running = (): ReadonlyArray<Informer<unknown>> => [
    ...this.all,
    ...(this.workloads.Rollout === undefined ? [] : [this.workloads.Rollout as Informer<unknown>]),
    ...(this.legacyPods === undefined ? [] : [this.legacyPods as Informer<unknown>]),
  ];
  sizes = () => this.running().map((one) => [one.name, one.size()] as const);
  allWorkloads = function* (this: Caches): Generator<WorkloadRef> {
    for (const kind of WorkloadKinds) {
      const informer = this.workloads[kind];
      if (informer !== undefined) for (const key of keysOf(informer)) yield refOf(kind, key);
    }
  };
  workloadsIn = function* (this: Caches, namespace: string): Generator<WorkloadRef> {
    for (const key of this.byNamespace.get(namespace) ?? []) {
      const [kind = "", , name = ""] = key.split("/");
      yield { kind: kind as WorkloadKind, namespace, name };
    }
  };
  failing = () => {
    let worst: { informer: string; since: number } | undefined;
    for (const one of this.running()) {
      const since = one.failingSince();
      if (since !== undefined && (worst === undefined || since < worst.since))
        worst = { informer: one.name, since };
    }
    return worst;
  };
}

/** A pod's cache key, as its informer keys it. */
const podKey = (pod: Pod): string => `${pod.metadata.namespace ?? ""}/${pod.metadata.name}`;

/** Adds `member` to (or removes it from) the set of `key` in `index`; empty sets go. */
const indexBy = (
  index: Map<string, Set<string>>,
  key: string,
  member: string,
  present: boolean,
): void => {
  let members = index.get(key);
  if (!present) {
    members?.delete(member);
    if (members?.size === 0) index.delete(key);
    return;
  }
  if (members === undefined) {
    members = new Set();
    index.set(key, members);
  }
  members.add(member);
};

/** Builds the caches, registers their health checks and starts them in the layer's scope. */
const make = Effect.gen(function* () {
  const metrics = yield* Metrics;
  const log = yield* Log;
  const { rollbackWindowMs } = yield* Config;
  const caches = new Caches(
    yield* KubeClient,
    log,
    yield* CacheEventHandler,
    metrics,
    yield* makeReporter,
    (yield* Config).odigosNamespace,
    yield* clockNow,
  );
  (yield* Readiness).register("caches", () => (caches.hasSynced() ? undefined : "not synced"));
  (yield* Liveness).register("caches", (now) => {
    const failing = caches.failing();
    if (failing === undefined || now - failing.since <= watchFailureBoundMs) return undefined;
    return `${failing.informer} list/watch failing for ${Math.round((now - failing.since) / 1000)} s`;
  });
  // Started only once all exist: every event handler may read every cache.
  yield* Effect.forEach(caches.all, (one) => one.start, { discard: true });
  yield* Effect.forkScoped(watchLegacyRollouts(caches, log, rollbackWindowMs));
  yield* Effect.forkScoped(caches.manageArgoRollouts());
  metrics.onScrape(() => {
    for (const [name, size] of caches.sizes()) metrics.cacheObjects.set({ informer: name }, size);
  });
  return caches as ClusterStateApi;
});

/**
 * Once the caches have synced: when workloads an earlier version instrumented (devices, no
 * label) are within their rollback window, every pod is watched until the last window ends.
 */
const watchLegacyRollouts = (caches: Caches, log: Logger, windowMs: number) =>
  Effect.gen(function* () {
    yield* caches.synced;
    const now = yield* Clock.currentTimeMillis;
    const legacy = caches.legacyUntil(now, windowMs);
    if (legacy === undefined) return;
    log.info(
      {
        informer: "LegacyPod",
        reason: "InstrumentedByEarlierVersion",
        workloads: legacy.count,
        until: new Date(legacy.until).toISOString(),
      },
      `${legacy.count} workloads were instrumented by an earlier version (no instrumented label on their pods) within the rollback window: every pod is watched until ${new Date(legacy.until).toISOString()}, so that they are still rolled back if they crash-loop`,
    );
    yield* caches.watchLegacyPods(legacy.until);
  });

/** Now, on the program's `Clock` (tests run it on `TestClock`), for synchronous callers. */
const clockNow = Effect.map(Effect.clock, (clock) => () => clock.unsafeCurrentTimeMillis());

const keysOf = function* (informer: Informer<Workload>): Generator<string> {
  for (const workload of informer.values())
    yield `${workload.metadata.namespace ?? ""}/${workload.metadata.name}`;
};

/** The caches, started in the layer's scope; their changes go to the `CacheEventHandler`. */
export const ClusterStateLive: Layer.Layer<
  ClusterState,
  never,
  KubeClient | Log | Metrics | EventRecorder | CacheEventHandler | Liveness | Readiness | Config
> = Layer.scoped(ClusterState, make);
