// A model-based test: random sequences of cluster mutations applied to the real API server while
// the instrumentor runs. After each sequence every workload's devices and every runtime-details
// object must be exactly what @odigos/instrumentation-rules says for the final state; and along
// the way (every version of every input, recorded by watches, in etcd's order; the instrumentor's
// requests from the audit log) each of its writes must be one the rules allow in a state it may
// have been looking at (see `safety` below).
// Replay a failure with ODIGOS_MODEL_SEED=<seed> (printed at the start); ODIGOS_MODEL_RUNS raises the run count.
import { ApiException } from "@kubernetes/client-node";
import { countable, filterAudit, writeVerbs } from "@odigos/control-plane";
import {
  decodeCollectorsGroup,
  decodeInstrumentedApplication,
  decodeNamespace,
  decodeOdigosConfiguration,
  OdigosResources,
  workloadDecoder,
  workloadResource,
} from "@odigos/crd-types";
import type { InstrumentorProcess } from "@odigos/harness";
import {
  collectorsReady,
  deviceIntent,
  ignoredNamespaces,
  isOptedIn,
  type OptIn,
  shouldInstrument,
} from "@odigos/instrumentation-rules";
import { type KubeObject, Resources } from "@odigos/kube-client";
import * as Either from "effect/Either";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Client,
  kubeClient,
  type Recorder,
  record,
  type Version,
} from "../support/history.js";
import { devicesOf, type Language, type WorkloadKind } from "../support/odigos.js";
import { type FaultBed, startFaultBed } from "../support/own-control-plane.js";
import { waitFor } from "../support/wait-for.js";

const namespaces = ["model-a", "model-b"] as const;
const workloads = [
  { kind: "Deployment", name: "web" },
  { kind: "Deployment", name: "api" },
  { kind: "StatefulSet", name: "db" },
  { kind: "DaemonSet", name: "agent" },
] as const satisfies ReadonlyArray<{ kind: WorkloadKind; name: string }>;
const containers = ["app", "side"] as const;
const languages: Language[] = ["java", "python", "go", "dotnet", "javascript"];
const marker = "odigos.io/instrument";

type Target = { namespace: (typeof namespaces)[number]; workload: (typeof workloads)[number] };
type Marker = "true" | "false" | "odd" | null;

type Mutation =
  | { op: "namespaceMarker"; namespace: Target["namespace"]; value: Marker }
  | { op: "namespaceLabel"; namespace: Target["namespace"]; value: "enabled" | "disabled" | null }
  | { op: "workloadMarker"; target: Target; value: Marker }
  | { op: "createWorkload"; target: Target; marker: Marker; twoContainers: boolean }
  | { op: "deleteWorkload"; target: Target }
  | {
      op: "putRuntimeDetails";
      target: Target;
      entries: Array<{ containerName: string; language: Language }>;
    }
  | { op: "deleteRuntimeDetails"; target: Target }
  /** The node agent reports every workload of a namespace again (it runs on every node). */
  | { op: "reportAll"; namespace: Target["namespace"] }
  | { op: "collectorsReady"; ready: boolean }
  | { op: "defaultSdk"; language: Language; tier: "community" | "enterprise" }
  | { op: "ignoreNamespace"; namespace: Target["namespace"] | null };

const target = fc.record({
  namespace: fc.constantFrom(...namespaces),
  workload: fc.constantFrom(...workloads),
});
const markerValue: fc.Arbitrary<Marker> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("true" as const) },
  fc.constantFrom<Marker>("false", "odd", null),
);
// Weighted towards what moves devices (runtime details, markers, readiness, SDKs), so that the
// safety checks have writes to judge.
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("namespaceMarker" as const),
      namespace: fc.constantFrom(...namespaces),
      value: markerValue,
    }),
  },
  fc.record({
    op: fc.constant("namespaceLabel" as const),
    namespace: fc.constantFrom(...namespaces),
    value: fc.constantFrom("enabled" as const, "disabled" as const, null),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("workloadMarker" as const),
      target,
      value: markerValue,
    }),
  },
  fc.record({
    op: fc.constant("createWorkload" as const),
    target,
    marker: markerValue,
    twoContainers: fc.boolean(),
  }),
  fc.record({ op: fc.constant("deleteWorkload" as const), target }),
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("putRuntimeDetails" as const),
      target,
      entries: fc.array(
        fc.record({
          containerName: fc.constantFrom(...containers, "ghost"),
          language: fc.constantFrom(...languages),
        }),
        { maxLength: 3 },
      ),
    }),
  },
  fc.record({ op: fc.constant("deleteRuntimeDetails" as const), target }),
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("reportAll" as const),
      namespace: fc.constantFrom(...namespaces),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("collectorsReady" as const), ready: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("defaultSdk" as const),
      language: fc.constantFrom(...languages),
      tier: fc.constantFrom("community" as const, "enterprise" as const),
    }),
  },
  fc.record({
    op: fc.constant("ignoreNamespace" as const),
    namespace: fc.constantFrom(...namespaces, null),
  }),
);

/** The pod template's containers: `app`, and `side` too when `two`. */
const podContainers = (two: boolean) =>
  (two ? containers : containers.slice(0, 1)).map((name) => ({
    name,
    image: `example.invalid/${name}:1`,
  }));

/** What the node agent reports for the workload at `index` of `workloads` (`side` when it has one). */
const reported = (index: number) => [
  { containerName: "app", language: languages[index % languages.length] ?? ("go" as const) },
  ...(index % 2 === 0 ? [{ containerName: "side", language: "java" as const }] : []),
];

const runs = Number(process.env.ODIGOS_MODEL_RUNS ?? 12);
const seed = Number(process.env.ODIGOS_MODEL_SEED ?? Date.now() % 2_147_483_647);

/** The inputs of the rules, by the name the instrumentor's informers log them under. */
const inputKinds = [
  "Namespace",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "InstrumentedApplication",
  "CollectorsGroup",
  "OdigosConfiguration",
] as const;
type InputKind = (typeof inputKinds)[number];
const resourceOf = {
  Namespace: Resources.Namespace,
  Deployment: workloadResource("Deployment"),
  StatefulSet: workloadResource("StatefulSet"),
  DaemonSet: workloadResource("DaemonSet"),
  InstrumentedApplication: OdigosResources.InstrumentedApplication,
  CollectorsGroup: OdigosResources.CollectorsGroup,
  OdigosConfiguration: OdigosResources.OdigosConfiguration,
} as const satisfies Record<InputKind, unknown>;
const workloadKinds: ReadonlySet<string> = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

const decode = <A>(result: Either.Either<A, { message: string }>): A => {
  if (Either.isLeft(result)) throw new Error(result.left.message);
  return result.right;
};

/** Devices per container as one comparable string: `{}` for none. */
const deviceKey = (devices: Readonly<Record<string, ReadonlyArray<string>>>): string =>
  JSON.stringify(
    Object.fromEntries(
      Object.keys(devices)
        .filter((container) => (devices[container] ?? []).length > 0)
        .sort()
        .map((container) => [container, [...(devices[container] ?? [])].sort()]),
    ),
  );

const devicesOfObject = (object: KubeObject) => deviceKey(devicesOf(object as never));

/** What the rules say for one workload, in one state of its inputs. */
interface View {
  readonly kind: WorkloadKind;
  readonly namespace: KubeObject | undefined;
  readonly workload: KubeObject;
  readonly runtimeDetails: KubeObject | undefined;
  readonly collectorsReady: boolean;
  readonly config: KubeObject | undefined;
}

interface Verdict {
  readonly optIn: OptIn;
  readonly reason: string;
  /** The devices the workload must carry ({@link deviceKey}); undefined: leave them as they are. */
  readonly desired: string | undefined;
}

const judge = (view: View, odigosNamespace: string): Verdict => {
  const config =
    view.config === undefined ? undefined : decode(decodeOdigosConfiguration(view.config));
  const workload = decode(workloadDecoder(view.kind)(view.workload));
  const namespace =
    view.namespace === undefined ? undefined : decode(decodeNamespace(view.namespace));
  const runtimeDetails =
    view.runtimeDetails === undefined
      ? undefined
      : decode(decodeInstrumentedApplication(view.runtimeDetails));
  const optIn = isOptedIn(
    { namespace: view.workload.metadata.namespace ?? "", metadata: workload.metadata },
    namespace?.metadata,
    { odigosNamespace, ignoredNamespaces: ignoredNamespaces(config, odigosNamespace) },
  );
  const decision = shouldInstrument({
    optIn,
    runtimeDetails,
    collectorsReady: view.collectorsReady,
  });
  const intent = deviceIntent(
    decision,
    workload.spec.template.spec.containers,
    runtimeDetails,
    config,
  );
  return {
    optIn,
    reason: decision.reason,
    desired:
      intent._tag === "LeaveAsIs"
        ? undefined
        : deviceKey(intent._tag === "Instrument" ? intent.devices : {}),
  };
};

const nameOf = (key: string) => key.slice(key.indexOf("/") + 1);

describe("model-based convergence", () => {
  let bed: FaultBed;
  let client: Client;
  let instrumentor: InstrumentorProcess;
  const recorders = new Map<InputKind, Recorder>();
  const sdks: Record<string, { sdkType: string; sdkTier: string }> = Object.fromEntries(
    languages.map((language) => [
      language,
      { sdkType: language === "go" ? "ebpf" : "native", sdkTier: "community" },
    ]),
  );
  let ignored: string[] = [];
  let steps = 0;
  /** UIDs of the runtime details this test deleted: every other deletion is the instrumentor's. */
  const deletedByTest = new Set<string>();
  const writesChecked = { workloadWrites: 0, runtimeDetailsDeletes: 0 };

  beforeAll(async () => {
    bed = await startFaultBed();
    client = await kubeClient(bed.controlPlane.kubeconfigPath);
    for (const kind of inputKinds) {
      const scoped = kind === "CollectorsGroup" || kind === "OdigosConfiguration";
      recorders.set(
        kind,
        await record(client, resourceOf[kind], scoped ? bed.odigosNamespace : undefined),
      );
    }
    // A start with something to lose: model-a opted in, every workload there with runtime details,
    // collectors ready; model-b without a marker.
    await bed.cluster.createNamespace(namespaces[0], { [marker]: "true" });
    await bed.cluster.createNamespace(namespaces[1]);
    await bed.cluster.putConfig(bed.odigosNamespace, { defaultSDKs: sdks });
    for (const namespace of namespaces)
      for (const [index, { kind, name }] of workloads.entries()) {
        await bed.cluster.createWorkload(kind, namespace, name, {
          containers: podContainers(index % 2 === 0),
        });
        await bed.cluster.putRuntimeDetails(kind, namespace, name, reported(index));
      }
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    // Debug level: its "observed" lines are the evidence of which versions it has seen.
    instrumentor = await bed.start(["--log-level=debug"]);
  });
  afterAll(async () => {
    console.log(
      `[model] seed ${seed}: ${runs} sequences, ${steps} mutations applied, ${writesChecked.workloadWrites} workload writes and ${writesChecked.runtimeDetailsDeletes} runtime-details deletes by the instrumentor checked`,
    );
    for (const recorder of recorders.values()) recorder.stop();
    client?.close();
    await bed?.stop();
  });

  const ignoreGone = async (action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (error) {
      // A mutation that does not apply to the current state (already there, already gone) is a no-op.
      if (!(error instanceof ApiException && [404, 409].includes(error.code))) throw error;
    }
  };

  const apply = async (m: Mutation) => {
    const { cluster } = bed;
    switch (m.op) {
      case "namespaceMarker":
        return cluster.annotateNamespace(m.namespace, { [marker]: m.value });
      case "namespaceLabel":
        return cluster.labelNamespace(m.namespace, { "odigos-instrumentation": m.value });
      case "workloadMarker":
        return ignoreGone(() =>
          cluster.annotateWorkload(
            m.target.workload.kind,
            m.target.namespace,
            m.target.workload.name,
            { [marker]: m.value },
          ),
        );
      case "createWorkload":
        return ignoreGone(() =>
          cluster.createWorkload(
            m.target.workload.kind,
            m.target.namespace,
            m.target.workload.name,
            {
              ...(m.marker === null ? {} : { annotations: { [marker]: m.marker } }),
              containers: podContainers(m.twoContainers),
            },
          ),
        );
      case "deleteWorkload":
        return ignoreGone(() =>
          cluster.deleteWorkload(
            m.target.workload.kind,
            m.target.namespace,
            m.target.workload.name,
          ),
        );
      case "putRuntimeDetails":
        return ignoreGone(() =>
          cluster.putRuntimeDetails(
            m.target.workload.kind,
            m.target.namespace,
            m.target.workload.name,
            m.entries,
          ),
        );
      case "deleteRuntimeDetails":
        return ignoreGone(async () => {
          const status = (await cluster.custom.deleteNamespacedCustomObject({
            group: "odigos.io",
            version: "v1alpha1",
            namespace: m.target.namespace,
            plural: "instrumentedapplications",
            name: `${m.target.workload.kind.toLowerCase()}-${m.target.workload.name}`,
          })) as { details?: { uid?: string } };
          const uid = status.details?.uid;
          if (uid === undefined) throw new Error(`a delete answered without a UID: ${status}`);
          deletedByTest.add(uid);
        });
      case "reportAll":
        for (const [index, { kind, name }] of workloads.entries())
          await cluster.putRuntimeDetails(kind, m.namespace, name, reported(index));
        return;
      case "collectorsReady":
        return cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", m.ready);
      case "defaultSdk":
        sdks[m.language] = { sdkType: m.language === "go" ? "ebpf" : "native", sdkTier: m.tier };
        return cluster.putConfig(bed.odigosNamespace, {
          defaultSDKs: sdks,
          ignoredNamespaces: ignored,
        });
      case "ignoreNamespace":
        ignored = m.namespace === null ? [] : [m.namespace];
        return cluster.putConfig(bed.odigosNamespace, {
          defaultSDKs: sdks,
          ignoredNamespaces: ignored,
        });
    }
  };

  // ---- the recorded history ------------------------------------------------------------------

  /** Every recorded version of every input, in etcd's order. */
  const history = (): Version[] =>
    [...recorders.values()]
      .flatMap((recorder) => recorder.versions)
      .sort((a, b) => a.revision - b.revision);

  /**
   * Waits until nothing is in flight: the recordings are complete, the instrumentor has seen the
   * latest version of every input kind (its "observed" lines) and its queue is idle, and the
   * recordings still are (a reaction would show). Returns the revision everything is at.
   */
  const quiesce = async (): Promise<number> => {
    for (const recorder of recorders.values()) await recorder.caughtUp();
    for (const [kind, recorder] of recorders) {
      const latest = Math.max(0, ...recorder.versions.map((version) => version.revision));
      if (latest === 0) continue;
      await instrumentor.waitForLog(
        (line) =>
          line.msg === "observed" &&
          line.informer === kind &&
          Number(line.resourceVersion) >= latest,
        30_000,
      );
    }
    await instrumentor.idle(30_000);
    for (const recorder of recorders.values()) await recorder.caughtUp();
    return Math.max(0, ...history().map((version) => version.revision));
  };

  /** A write the instrumentor made, found in the history. */
  type Act =
    | { readonly what: "workload write"; readonly version: Version; readonly before: KubeObject }
    | { readonly what: "runtime-details delete"; readonly version: Version };

  /** Each version of each object over time (undefined: absent), and the instrumentor's acts. */
  const timelines = (versions: ReadonlyArray<Version>) => {
    const byKey = new Map<string, Array<{ revision: number; object: KubeObject | undefined }>>();
    const acts: Act[] = [];
    const testChanges: Version[] = [];
    for (const version of versions) {
      const line = byKey.get(version.key) ?? [];
      byKey.set(version.key, line);
      const before = line.at(-1)?.object;
      line.push({
        revision: version.revision,
        object: version.type === "DELETED" ? undefined : version.object,
      });
      if (version.type === "LISTED") continue;
      if (
        workloadKinds.has(version.resource.kind) &&
        version.type === "MODIFIED" &&
        before !== undefined &&
        before.metadata.annotations?.[marker] === version.object.metadata.annotations?.[marker]
      ) {
        // The test changes a workload only by creating, deleting or marking it.
        acts.push({ what: "workload write", version, before });
      } else if (
        version.resource.kind === "InstrumentedApplication" &&
        version.type === "DELETED" &&
        !deletedByTest.has(version.object.metadata.uid ?? "")
      ) {
        acts.push({ what: "runtime-details delete", version });
      } else testChanges.push(version);
    }
    return { byKey, acts, testChanges };
  };

  /**
   * What the instrumentor may legitimately have been looking at when it wrote at `revision`: it
   * lags behind the cluster by any amount, and each informer by its own, but it never sees the
   * future, and at `start` (proven by `quiesce`) it had seen everything. So each input may be at
   * any version it had between `start` and the write: the one current at `start`, or a later one.
   */
  const versionsBetween = (
    line: ReadonlyArray<{ revision: number; object: KubeObject | undefined }> | undefined,
    start: number,
    revision: number,
  ): Array<KubeObject | undefined> => {
    const entries = line ?? [];
    const atStart = entries.filter((entry) => entry.revision <= start).at(-1)?.object;
    return [
      atStart,
      ...entries
        .filter((entry) => entry.revision > start && entry.revision < revision)
        .map((entry) => entry.object),
    ];
  };

  /**
   * The safety of one sequence, from its recorded history: each write of the instrumentor between
   * `start` and `end` must be one the rules allow in a state it may have been looking at.
   * - A workload write must change the devices, to exactly what the rules want in such a state
   *   (its copy of the workload itself is the version it wrote over: the patch is conditional on it).
   * - A delete of runtime details needs such a state in which the workload was not opted in, or
   *   did not exist: never the runtime details of a workload opted in all along.
   * - Per workload, at most one write per mutation of its inputs so far in the sequence.
   */
  const safety = (start: number, end: number): string[] => {
    const { byKey, acts, testChanges } = timelines(history());
    const odigos = bed.odigosNamespace;
    const configKey = `odigosconfigurations/${odigos}/odigos-config`;
    const groupKeys = [...byKey.keys()].filter((key) =>
      key.startsWith(`collectorsgroups/${odigos}/`),
    );
    const readinessBetween = (revision: number): boolean[] => {
      const changes = new Set([
        start,
        ...groupKeys.flatMap((key) =>
          (byKey.get(key) ?? [])
            .filter((entry) => entry.revision > start && entry.revision < revision)
            .map((entry) => entry.revision),
        ),
      ]);
      return [...changes].map((at) =>
        collectorsReady(
          groupKeys
            .map((key) => (byKey.get(key) ?? []).filter((entry) => entry.revision <= at).at(-1))
            .flatMap((entry) => (entry?.object === undefined ? [] : [entry.object]))
            .map((raw) => decode(decodeCollectorsGroup(raw))),
        ),
      );
    };
    const inputsOf = (kind: WorkloadKind, namespace: string, name: string) => ({
      namespaceKey: `namespaces/${namespace}`,
      workloadKey: `${workloadResource(kind).plural}/${namespace}/${name}`,
      runtimeDetailsKey: `instrumentedapplications/${namespace}/${kind.toLowerCase()}-${name}`,
    });
    const problems: string[] = [];
    const writesPerWorkload = new Map<string, number>();
    for (const act of acts) {
      const { version } = act;
      if (version.revision <= start || version.revision > end) continue;
      const at = version.revision;
      if (act.what === "workload write") {
        writesChecked.workloadWrites++;
        const kind = version.resource.kind as WorkloadKind;
        const namespace = version.object.metadata.namespace ?? "";
        const name = version.object.metadata.name;
        const keys = inputsOf(kind, namespace, name);
        const wrote = devicesOfObject(version.object);
        const had = devicesOfObject(act.before);
        const where = `${kind} ${namespace}/${name} at revision ${at}`;
        if (wrote === had) {
          problems.push(`${where}: a write that changed no device (devices ${had})`);
          continue;
        }
        const wanted = new Set<string>();
        for (const ns of versionsBetween(byKey.get(keys.namespaceKey), start, at))
          for (const runtimeDetails of versionsBetween(
            byKey.get(keys.runtimeDetailsKey),
            start,
            at,
          ))
            for (const ready of new Set(readinessBetween(at)))
              for (const config of versionsBetween(byKey.get(configKey), start, at)) {
                const verdict = judge(
                  {
                    kind,
                    namespace: ns,
                    workload: act.before,
                    runtimeDetails,
                    collectorsReady: ready,
                    config,
                  },
                  odigos,
                );
                if (verdict.desired !== undefined) wanted.add(verdict.desired);
              }
        if (!wanted.has(wrote))
          problems.push(
            `${where}: devices ${had} -> ${wrote}, which no state since revision ${start} asks for (the rules wanted ${[...wanted].join(" or ") || "them left as they were"})`,
          );
        // At most one write per mutation of its inputs since the sequence began.
        const count = (writesPerWorkload.get(keys.workloadKey) ?? 0) + 1;
        writesPerWorkload.set(keys.workloadKey, count);
        const causes = testChanges.filter(
          (change) =>
            change.revision > start &&
            change.revision < at &&
            (change.key === keys.workloadKey ||
              change.key === keys.namespaceKey ||
              change.key === keys.runtimeDetailsKey ||
              change.key === configKey ||
              groupKeys.includes(change.key)),
        ).length;
        if (count > causes)
          problems.push(
            `${where}: write #${count} to it in this sequence, after only ${causes} change(s) of its inputs`,
          );
      } else {
        writesChecked.runtimeDetailsDeletes++;
        const detailsName = version.object.metadata.name;
        const namespace = version.object.metadata.namespace ?? "";
        const owner = workloads.find(
          (workload) => `${workload.kind.toLowerCase()}-${workload.name}` === detailsName,
        );
        const where = `runtime details ${namespace}/${detailsName} deleted at revision ${at}`;
        if (owner === undefined) {
          problems.push(`${where}: they name no workload of the model`);
          continue;
        }
        const keys = inputsOf(owner.kind, namespace, owner.name);
        const reasons = new Set<string>();
        let justified = false;
        for (const ns of versionsBetween(byKey.get(keys.namespaceKey), start, at))
          for (const workload of versionsBetween(byKey.get(keys.workloadKey), start, at))
            for (const config of versionsBetween(byKey.get(configKey), start, at)) {
              if (workload === undefined) {
                justified = true;
                continue;
              }
              const { optIn } = judge(
                {
                  kind: owner.kind,
                  namespace: ns,
                  workload,
                  runtimeDetails: undefined,
                  collectorsReady: false,
                  config,
                },
                odigos,
              );
              if (!optIn.optedIn) justified = true;
              else reasons.add(optIn.reason);
            }
        if (!justified)
          problems.push(
            `${where}: ${owner.kind} ${owner.name} existed and was opted in (${[...reasons].join(", ")}) in every state since revision ${start}`,
          );
      }
    }
    return problems;
  };

  /**
   * The audit log agrees with the recorded history: each successful workload patch of the
   * instrumentor shows as a change there (a patch that changed nothing does not), its deletes of
   * runtime details are the deletions not made by the test, and it wrote nothing else but Events.
   */
  const auditAgrees = async (): Promise<string[]> => {
    const ours = filterAudit((await bed.controlPlane.readAuditEvents()).filter(countable), {
      verbs: writeVerbs,
      userAgent: (userAgent) => instrumentor.sent(userAgent),
    }).filter((event) => (event.responseStatus?.code ?? 0) < 300);
    const { acts } = timelines(history());
    const count = (keys: ReadonlyArray<string>) => {
      const counts = new Map<string, number>();
      for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
      return counts;
    };
    const audited = count(
      ours
        .filter((event) => event.objectRef?.resource !== "events")
        .map(
          (event) =>
            `${event.verb} ${event.objectRef?.resource}/${event.objectRef?.namespace}/${event.objectRef?.name}`,
        ),
    );
    const seen = count(
      acts.map((act) => `${act.what === "workload write" ? "patch" : "delete"} ${act.version.key}`),
    );
    const problems: string[] = [];
    for (const key of new Set([...audited.keys(), ...seen.keys()])) {
      if ((audited.get(key) ?? 0) !== (seen.get(key) ?? 0))
        problems.push(
          `${key}: ${audited.get(key) ?? 0} successful request(s) in the audit log, ${seen.get(key) ?? 0} change(s) in the recorded history`,
        );
    }
    return problems;
  };

  /** Everything wrong with the cluster now, judged by the rules on the cluster's own current state. */
  const violations = async (): Promise<string[]> => {
    const { cluster } = bed;
    const config = await cluster.custom.getNamespacedCustomObject({
      group: "odigos.io",
      version: "v1alpha1",
      namespace: bed.odigosNamespace,
      plural: "odigosconfigurations",
      name: "odigos-config",
    });
    const groups = (
      (await cluster.custom.listNamespacedCustomObject({
        group: "odigos.io",
        version: "v1alpha1",
        namespace: bed.odigosNamespace,
        plural: "collectorsgroups",
      })) as { items: unknown[] }
    ).items.map((raw) => decode(decodeCollectorsGroup(raw)));
    const ready = collectorsReady(groups);
    const problems: string[] = [];
    for (const namespace of namespaces) {
      const ns = (await cluster.core.readNamespace({ name: namespace })) as unknown as KubeObject;
      const details = new Map<string, KubeObject>();
      const rawDetails = (
        (await cluster.custom.listNamespacedCustomObject({
          group: "odigos.io",
          version: "v1alpha1",
          namespace,
          plural: "instrumentedapplications",
        })) as { items: KubeObject[] }
      ).items;
      for (const raw of rawDetails) details.set(raw.metadata.name, raw);
      const present = new Map<string, { kind: WorkloadKind; object: KubeObject }>();
      for (const { kind, name } of workloads) {
        try {
          const raw = (await cluster.readWorkload(kind, namespace, name)) as unknown as KubeObject;
          present.set(`${kind.toLowerCase()}-${name}`, { kind, object: raw });
        } catch (error) {
          if (!(error instanceof ApiException && error.code === 404)) throw error;
        }
      }
      const verdictOf = (kind: WorkloadKind, object: KubeObject, runtimeDetails?: KubeObject) =>
        judge(
          {
            kind,
            namespace: ns,
            workload: object,
            runtimeDetails,
            collectorsReady: ready,
            config: config as KubeObject,
          },
          bed.odigosNamespace,
        );
      for (const [detailsName] of details) {
        const workload = present.get(detailsName);
        if (workload === undefined) {
          problems.push(
            `${namespace}/${detailsName}: runtime details of a workload that does not exist`,
          );
          continue;
        }
        const { optIn } = verdictOf(workload.kind, workload.object);
        if (!optIn.optedIn)
          problems.push(
            `${namespace}/${detailsName}: runtime details of ${nameOf(detailsName)}, not opted in (${optIn.reason})`,
          );
      }
      for (const [detailsName, { kind, object }] of present) {
        const verdict = verdictOf(kind, object, details.get(detailsName));
        const actual = devicesOfObject(object);
        if (verdict.desired !== undefined && actual !== verdict.desired) {
          problems.push(
            `${namespace}/${kind} ${object.metadata.name}: devices ${actual}, rules say ${verdict.desired} (${verdict.reason})`,
          );
        }
      }
    }
    return problems;
  };

  it(`converges to the rules' answer after every random sequence, and writes only what they allow on the way (seed ${seed})`, async () => {
    console.log(`[model] seed ${seed}, ${runs} runs (replay: ODIGOS_MODEL_SEED=${seed})`);
    let start = await quiesce();
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 3, maxLength: 12 }), async (sequence) => {
        for (const step of sequence) {
          await apply(step);
          steps++;
        }
        let last: string[] = [];
        await waitFor(
          async () => {
            last = await violations();
            return last.length === 0;
          },
          { timeoutMs: 25_000, intervalMs: 250, description: "the cluster to match the rules" },
        ).catch((error: Error) => {
          throw new Error(
            `not converged after ${JSON.stringify(sequence)}:\n${last.join("\n")}\n${error.message}`,
          );
        });
        const end = await quiesce();
        const unsafe = [...safety(start, end), ...(await auditAgrees())];
        start = end;
        if (unsafe.length > 0)
          throw new Error(
            `unsafe writes during ${JSON.stringify(sequence)}:\n${unsafe.join("\n")}`,
          );
      }),
      { seed, numRuns: runs, endOnFailure: true },
    );
    expect(
      instrumentor.logs.filter((line) => line.level === "error" || line.level === "fatal"),
    ).toEqual([]);
    // The checks above had something to judge.
    expect(writesChecked.workloadWrites).toBeGreaterThan(0);
  }, 600_000);
});
