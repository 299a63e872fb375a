/**
 * The watch-fed caches of everything a decision reads, and the mapping from a
 * change of any of them to the workloads it can affect.
 */
import {
  type CollectorsGroup,
  type DecodeError,
  DeviceResourcePrefix,
  decodeCollectorsGroup,
  decodeInstrumentedApplication,
  decodeNamespace,
  decodeOdigosConfiguration,
  type InstrumentedApplication,
  type Namespace,
  OdigosConfigName,
  type OdigosConfiguration,
  ReportedNameAnnotation,
  runtimeObjectName,
  type Workload,
  type WorkloadKind,
  WorkloadKinds,
  type WorkloadRef,
  workloadDecoder,
} from "@odigos/crd-types";
import { readMarker } from "@odigos/instrumentation-rules";
import type { KubeHttp } from "../kube/http.js";
import {
  collectorsGroupsPath,
  namespaceCollectionPath,
  odigosConfigurationsPath,
  runtimeDetailsCollectionPath,
  workloadCollectionPath,
} from "../kube/resources.js";
import { Informer, type InformerEvent, type InformerLog } from "./informer.js";

const resourceVersionOf = (value: { readonly metadata: { readonly resourceVersion: string } }) =>
  value.metadata.resourceVersion;

/** What the cluster state tells its owner as objects change. */
export interface ClusterStateListener {
  /** A workload whose desired state may have changed. */
  readonly workloadChanged: (ref: WorkloadRef) => void;
  /** An object arrived that could not be decoded. */
  readonly invalidObject: (
    kind: string,
    event: Extract<InformerEvent<unknown>, { type: "invalid" }>,
  ) => void;
  /** Runtime details changed (for name validation and orphan reporting). */
  readonly runtimeDetailsChanged: (
    key: string,
    current: InstrumentedApplication | undefined,
  ) => void;
}

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
  readonly workload: (ref: WorkloadRef) => Workload | undefined;
  /** Why a workload that exists could not be decoded, if so. */
  readonly workloadInvalid: (ref: WorkloadRef) => DecodeError | undefined;
  readonly namespace: (name: string) => Namespace | undefined;
  readonly runtimeDetailsOf: (ref: WorkloadRef) => InstrumentedApplication | undefined;
  readonly configuration: () => ConfigurationState;
  readonly allCollectorsGroups: () => Iterable<CollectorsGroup>;
}

export class ClusterState implements ClusterView {
  readonly workloads: Readonly<Record<WorkloadKind, Informer<Workload>>>;
  readonly namespaces: Informer<Namespace>;
  readonly runtimeDetails: Informer<InstrumentedApplication>;
  readonly collectorsGroups: Informer<CollectorsGroup>;
  readonly configurations: Informer<OdigosConfiguration>;

  constructor(
    kube: KubeHttp,
    readonly odigosNamespace: string,
    listener: ClusterStateListener,
    log: InformerLog,
  ) {
    const invalid =
      (kind: string) =>
      <A>(event: InformerEvent<A>): boolean => {
        if (event.type !== "invalid") return false;
        listener.invalidObject(kind, event);
        return true;
      };
    const workloadInformer = (kind: WorkloadKind) =>
      new Informer<Workload>(kube, {
        name: kind,
        path: workloadCollectionPath(kind),
        decode: workloadDecoder(kind),
        resourceVersionOf,
        log,
        onEvent: (event) => {
          invalid(kind)(event);
          listener.workloadChanged(refOf(kind, event.key));
        },
      });
    this.workloads = {
      Deployment: workloadInformer("Deployment"),
      StatefulSet: workloadInformer("StatefulSet"),
      DaemonSet: workloadInformer("DaemonSet"),
    };
    this.namespaces = new Informer<Namespace>(kube, {
      name: "Namespace",
      path: namespaceCollectionPath,
      decode: decodeNamespace,
      resourceVersionOf,
      log,
      onEvent: (event) => {
        if (invalid("Namespace")(event)) return;
        // Only the marker of a namespace feeds decisions; status churn must not requeue thousands.
        const before =
          event.previous === undefined ? "" : JSON.stringify(readMarker(event.previous.metadata));
        const after =
          event.type === "upsert" ? JSON.stringify(readMarker(event.current.metadata)) : "";
        if (before === after) return;
        for (const ref of this.workloadsIn(event.key)) listener.workloadChanged(ref);
      },
    });
    this.runtimeDetails = new Informer<InstrumentedApplication>(kube, {
      name: "InstrumentedApplication",
      path: runtimeDetailsCollectionPath,
      decode: decodeInstrumentedApplication,
      resourceVersionOf,
      log,
      onEvent: (event) => {
        invalid("InstrumentedApplication")(event);
        listener.runtimeDetailsChanged(
          event.key,
          event.type === "upsert" ? event.current : undefined,
        );
      },
    });
    const everyAffectedWorkload =
      <A>(kind: string) =>
      (event: InformerEvent<A>) => {
        invalid(kind)(event);
        for (const ref of this.workloadsWithOdigosState()) listener.workloadChanged(ref);
      };
    this.collectorsGroups = new Informer<CollectorsGroup>(kube, {
      name: "CollectorsGroup",
      path: collectorsGroupsPath(odigosNamespace),
      decode: decodeCollectorsGroup,
      resourceVersionOf,
      log,
      onEvent: everyAffectedWorkload("CollectorsGroup"),
    });
    this.configurations = new Informer<OdigosConfiguration>(kube, {
      name: "OdigosConfiguration",
      path: odigosConfigurationsPath(odigosNamespace),
      decode: decodeOdigosConfiguration,
      resourceVersionOf,
      log,
      onEvent: (event) => {
        if (event.key !== `${odigosNamespace}/${OdigosConfigName}`) return;
        everyAffectedWorkload("OdigosConfiguration")(event);
      },
    });
  }

  private informers(): ReadonlyArray<Informer<unknown>> {
    return [
      ...Object.values(this.workloads),
      this.namespaces,
      this.runtimeDetails,
      this.collectorsGroups,
      this.configurations,
    ] as ReadonlyArray<Informer<unknown>>;
  }

  start(): void {
    for (const informer of this.informers()) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers().map((informer) => informer.stop()));
  }

  get synced(): Promise<void> {
    return Promise.all(this.informers().map((informer) => informer.synced)).then(() => undefined);
  }

  get hasSynced(): boolean {
    return this.informers().every((informer) => informer.hasSynced);
  }

  /** Objects per cache, for metrics. */
  sizes(): ReadonlyArray<readonly [string, number]> {
    return [
      ...WorkloadKinds.map((kind) => [kind, this.workloads[kind].size] as const),
      ["Namespace", this.namespaces.size],
      ["InstrumentedApplication", this.runtimeDetails.size],
      ["CollectorsGroup", this.collectorsGroups.size],
      ["OdigosConfiguration", this.configurations.size],
    ];
  }

  workload(ref: WorkloadRef): Workload | undefined {
    return this.workloads[ref.kind].get(`${ref.namespace}/${ref.name}`);
  }

  workloadInvalid(ref: WorkloadRef): DecodeError | undefined {
    return this.workloads[ref.kind].invalidReason(`${ref.namespace}/${ref.name}`);
  }

  namespace(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  runtimeDetailsOf(ref: WorkloadRef): InstrumentedApplication | undefined {
    return this.runtimeDetails.get(`${ref.namespace}/${runtimeObjectName(ref.kind, ref.name)}`);
  }

  allCollectorsGroups(): Iterable<CollectorsGroup> {
    return this.collectorsGroups.values();
  }

  /** `odigos-config`, or why there is no usable one. */
  configuration(): ConfigurationState {
    const key = `${this.odigosNamespace}/${OdigosConfigName}`;
    const config = this.configurations.get(key);
    if (config !== undefined) return { _tag: "Available", config };
    const invalid = this.configurations.invalidReason(key);
    return invalid === undefined
      ? { _tag: "Missing" }
      : { _tag: "Invalid", reason: invalid.message };
  }

  *allWorkloads(): Generator<WorkloadRef> {
    for (const kind of WorkloadKinds) {
      for (const workload of this.workloads[kind].values()) {
        yield { kind, namespace: workload.metadata.namespace ?? "", name: workload.metadata.name };
      }
    }
  }

  *workloadsIn(namespace: string): Generator<WorkloadRef> {
    for (const ref of this.allWorkloads()) if (ref.namespace === namespace) yield ref;
  }

  /** Workloads a collectors or configuration change can affect: with runtime details, devices or a reported name. */
  *workloadsWithOdigosState(): Generator<WorkloadRef> {
    for (const kind of WorkloadKinds) {
      for (const workload of this.workloads[kind].values()) {
        const ref = {
          kind,
          namespace: workload.metadata.namespace ?? "",
          name: workload.metadata.name,
        };
        if (
          this.runtimeDetailsOf(ref) !== undefined ||
          carriesDevices(workload) ||
          workload.metadata.annotations?.[ReportedNameAnnotation] !== undefined
        ) {
          yield ref;
        }
      }
    }
  }
}
