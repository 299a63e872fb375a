/**
 * What the plugin reads of the cluster, once per command: lists (read-only, with the user's own
 * RBAC) of the workloads of each kind (Deployments, StatefulSets, DaemonSets, CronJobs, and Argo
 * Rollouts when their CRD is installed), their pods, namespaces, runtime details,
 * CollectorsGroups and `odigos-config`, decoded with `@odigos/crd-types` as the operator decodes
 * them. An object that fails to decode is kept as the reason, not dropped.
 */
import {
  type CollectorsGroup,
  type DecodeError,
  decodeCollectorsGroup,
  decodeInstrumentedApplication,
  decodeNamespace,
  decodeOdigosConfiguration,
  decodePod,
  type InstrumentedApplication,
  type Namespace,
  OdigosConfigName,
  type OdigosConfiguration,
  OdigosResources,
  type Workload,
  type WorkloadKind,
  WorkloadKinds,
  workloadDecoder,
  workloadKey,
  workloadOfPod,
  workloadResource,
} from "@odigos/crd-types";
import { collectorsReady, podCarriesDevices } from "@odigos/instrumentation-rules";
import {
  hasStatus,
  type KubeClient,
  type KubeError,
  type KubeObject,
  listAll,
  Resources,
} from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";

export interface ClusterSnapshot {
  readonly odigosNamespace: string;
  readonly workloads: ReadonlyArray<Workload>;
  /** False when the API server does not serve Argo Rollouts (no CRD `rollouts.argoproj.io`). */
  readonly rolloutsServed: boolean;
  /** Workloads and other objects that failed to decode: why. */
  readonly invalid: ReadonlyArray<DecodeError>;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  /** By `namespace/name`. */
  readonly runtimeDetails: ReadonlyMap<string, InstrumentedApplication>;
  readonly collectorsGroups: ReadonlyArray<CollectorsGroup>;
  readonly collectorsReady: boolean;
  readonly config: OdigosConfiguration | undefined;
  /** Why `odigos-config` is unusable, when it failed to decode. */
  readonly configInvalid: string | undefined;
  /** The pods of each workload (by `Kind/namespace/name`) that have not ended, by device. */
  readonly pods: ReadonlyMap<string, WorkloadPods>;
}

/** A workload's pods that have not ended (phase neither Succeeded nor Failed), by name. */
export interface WorkloadPods {
  readonly withDevice: ReadonlyArray<string>;
  readonly withoutDevice: ReadonlyArray<string>;
}

/** Pods that have not ended, grouped by workload and by whether a container carries a device. */
const podsByWorkload = (pods: ReadonlyArray<unknown>) => {
  const decoded = decodeAll(pods, decodePod);
  const byWorkload = new Map<string, { withDevice: Array<string>; withoutDevice: Array<string> }>();
  for (const pod of decoded.valid) {
    const phase = pod.status?.phase;
    const owner = workloadOfPod(pod);
    if (owner === undefined || phase === "Succeeded" || phase === "Failed") continue;
    const key = workloadKey(owner);
    const entry = byWorkload.get(key) ?? { withDevice: [], withoutDevice: [] };
    (podCarriesDevices(pod) ? entry.withDevice : entry.withoutDevice).push(pod.metadata.name);
    byWorkload.set(key, entry);
  }
  return { byWorkload, invalid: decoded.invalid };
};

export interface SnapshotScope {
  /** One namespace, or every namespace when undefined. */
  readonly namespace: string | undefined;
  readonly odigosNamespace: string;
}

const decodeAll = <A>(
  items: ReadonlyArray<unknown>,
  decode: (raw: unknown) => Either.Either<A, DecodeError>,
) => {
  const valid: Array<A> = [];
  const invalid: Array<DecodeError> = [];
  for (const item of items) {
    const decoded = decode(item);
    if (Either.isRight(decoded)) valid.push(decoded.right);
    else invalid.push(decoded.left);
  }
  return { valid, invalid };
};

const keyOf = (object: {
  readonly metadata: { readonly namespace?: string | undefined; readonly name: string };
}) => `${object.metadata.namespace ?? ""}/${object.metadata.name}`;

/**
 * The workloads of one kind. A 404 for Rollouts is the API server not serving them (Argo
 * Rollouts' CRD is not installed): no Rollouts, `served` false. Any other failure (a 403 too)
 * fails the command, as for the other kinds.
 */
const listWorkloads = (kind: WorkloadKind, inScope: { readonly namespace?: string }) =>
  listAll(workloadResource(kind), inScope).pipe(
    Effect.map((list) => ({ items: list.items, served: true })),
    Effect.catchIf(
      (error) => kind === "Rollout" && hasStatus(error, 404),
      () => Effect.succeed({ items: [] as ReadonlyArray<KubeObject>, served: false }),
    ),
    Effect.map(({ items, served }) => ({
      kind,
      served,
      ...decodeAll(items, workloadDecoder(kind)),
    })),
  );

/** Lists what a status needs, in parallel; one namespace or all. */
export const readSnapshot = (
  scope: SnapshotScope,
): Effect.Effect<ClusterSnapshot, KubeError, KubeClient> =>
  Effect.gen(function* () {
    const inScope = scope.namespace === undefined ? {} : { namespace: scope.namespace };
    const byName =
      scope.namespace === undefined ? {} : { fieldSelector: `metadata.name=${scope.namespace}` };
    const [workloadLists, namespaces, details, groups, configs, pods] = yield* Effect.all(
      [
        Effect.forEach(WorkloadKinds, (kind) => listWorkloads(kind, inScope), {
          concurrency: "unbounded",
        }),
        listAll(Resources.Namespace, byName),
        listAll(OdigosResources.InstrumentedApplication, inScope),
        listAll(OdigosResources.CollectorsGroup, { namespace: scope.odigosNamespace }),
        listAll(OdigosResources.OdigosConfiguration, { namespace: scope.odigosNamespace }),
        listAll(Resources.Pod, inScope),
      ],
      { concurrency: "unbounded" },
    );
    const decodedNamespaces = decodeAll(namespaces.items, decodeNamespace);
    const decodedDetails = decodeAll(details.items, decodeInstrumentedApplication);
    const decodedGroups = decodeAll(groups.items, decodeCollectorsGroup);
    const decodedPods = podsByWorkload(pods.items);
    const config = configs.items.find((item) => item.metadata.name === OdigosConfigName);
    const decodedConfig = config === undefined ? undefined : decodeOdigosConfiguration(config);
    return {
      odigosNamespace: scope.odigosNamespace,
      workloads: workloadLists.flatMap((list) => list.valid),
      rolloutsServed: workloadLists.every((list) => list.served),
      invalid: [
        ...workloadLists.flatMap((list) => list.invalid),
        ...decodedDetails.invalid,
        ...decodedGroups.invalid,
        ...decodedPods.invalid,
      ],
      namespaces: new Map(decodedNamespaces.valid.map((ns) => [ns.metadata.name, ns])),
      runtimeDetails: new Map(decodedDetails.valid.map((rd) => [keyOf(rd), rd])),
      collectorsGroups: decodedGroups.valid,
      collectorsReady: collectorsReady(decodedGroups.valid),
      config:
        decodedConfig !== undefined && Either.isRight(decodedConfig)
          ? decodedConfig.right
          : undefined,
      configInvalid:
        decodedConfig !== undefined && Either.isLeft(decodedConfig)
          ? decodedConfig.left.message
          : undefined,
      pods: decodedPods.byWorkload,
    };
  });
