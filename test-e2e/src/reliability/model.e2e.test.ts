// A model-based test: random sequences of cluster mutations applied to the real API server while
// the instrumentor runs; after each sequence every workload's devices and every runtime-details
// object must be exactly what @odigos/instrumentation-rules says for the final state.
// Replay a failure with ODIGOS_MODEL_SEED=<seed> (printed at the start); ODIGOS_MODEL_RUNS raises the run count.
import { ApiException } from "@kubernetes/client-node";
import {
  decodeCollectorsGroup,
  decodeInstrumentedApplication,
  decodeNamespace,
  decodeOdigosConfiguration,
  type InstrumentedApplication,
  parseRuntimeObjectName,
  type Workload,
  workloadDecoder,
} from "@odigos/crd-types";
import type { InstrumentorProcess } from "@odigos/harness";
import {
  collectorsReady,
  deviceIntent,
  ignoredNamespaces,
  isOptedIn,
  shouldInstrument,
} from "@odigos/instrumentation-rules";
import * as Either from "effect/Either";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  | { op: "collectorsReady"; ready: boolean }
  | { op: "defaultSdk"; language: Language; tier: "community" | "enterprise" }
  | { op: "ignoreNamespace"; namespace: Target["namespace"] | null };

const target = fc.record({
  namespace: fc.constantFrom(...namespaces),
  workload: fc.constantFrom(...workloads),
});
const marker = fc.constantFrom<Marker>("true", "false", "odd", null);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant("namespaceMarker" as const),
    namespace: fc.constantFrom(...namespaces),
    value: marker,
  }),
  fc.record({
    op: fc.constant("namespaceLabel" as const),
    namespace: fc.constantFrom(...namespaces),
    value: fc.constantFrom("enabled" as const, "disabled" as const, null),
  }),
  fc.record({ op: fc.constant("workloadMarker" as const), target, value: marker }),
  fc.record({
    op: fc.constant("createWorkload" as const),
    target,
    marker,
    twoContainers: fc.boolean(),
  }),
  fc.record({ op: fc.constant("deleteWorkload" as const), target }),
  fc.record({
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
  fc.record({ op: fc.constant("deleteRuntimeDetails" as const), target }),
  fc.record({ op: fc.constant("collectorsReady" as const), ready: fc.boolean() }),
  fc.record({
    op: fc.constant("defaultSdk" as const),
    language: fc.constantFrom(...languages),
    tier: fc.constantFrom("community" as const, "enterprise" as const),
  }),
  fc.record({
    op: fc.constant("ignoreNamespace" as const),
    namespace: fc.constantFrom(...namespaces, null),
  }),
);

const runs = Number(process.env.ODIGOS_MODEL_RUNS ?? 8);
const seed = Number(process.env.ODIGOS_MODEL_SEED ?? Date.now() % 2_147_483_647);

describe("model-based convergence", () => {
  let bed: FaultBed;
  let instrumentor: InstrumentorProcess;
  const sdks: Record<string, { sdkType: string; sdkTier: string }> = Object.fromEntries(
    languages.map((language) => [
      language,
      { sdkType: language === "go" ? "ebpf" : "native", sdkTier: "community" },
    ]),
  );
  let ignored: string[] = [];
  let steps = 0;

  beforeAll(async () => {
    bed = await startFaultBed();
    for (const namespace of namespaces) await bed.cluster.createNamespace(namespace);
    await bed.cluster.putConfig(bed.odigosNamespace, { defaultSDKs: sdks });
    instrumentor = await bed.start();
  });
  afterAll(async () => {
    console.log(`[model] seed ${seed}: ${runs} sequences, ${steps} mutations applied`);
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
        return cluster.annotateNamespace(m.namespace, { "odigos.io/instrument": m.value });
      case "namespaceLabel":
        return cluster.labelNamespace(m.namespace, { "odigos-instrumentation": m.value });
      case "workloadMarker":
        return ignoreGone(() =>
          cluster.annotateWorkload(
            m.target.workload.kind,
            m.target.namespace,
            m.target.workload.name,
            { "odigos.io/instrument": m.value },
          ),
        );
      case "createWorkload":
        return ignoreGone(() =>
          cluster.createWorkload(
            m.target.workload.kind,
            m.target.namespace,
            m.target.workload.name,
            {
              ...(m.marker === null ? {} : { annotations: { "odigos.io/instrument": m.marker } }),
              containers: (m.twoContainers ? containers : containers.slice(0, 1)).map((name) => ({
                name,
                image: `example.invalid/${name}:1`,
              })),
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
        return ignoreGone(() =>
          cluster.deleteRuntimeDetails(
            m.target.workload.kind,
            m.target.namespace,
            m.target.workload.name,
          ),
        );
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

  /** Everything wrong with the cluster now, judged by the rules on the cluster's own current state. */
  const violations = async (): Promise<string[]> => {
    const { cluster } = bed;
    const decode = <A>(result: Either.Either<A, { message: string }>): A => {
      if (Either.isLeft(result)) throw new Error(result.left.message);
      return result.right;
    };
    const config = decode(
      decodeOdigosConfiguration(
        await cluster.custom.getNamespacedCustomObject({
          group: "odigos.io",
          version: "v1alpha1",
          namespace: bed.odigosNamespace,
          plural: "odigosconfigurations",
          name: "odigos-config",
        }),
      ),
    );
    const groups = (
      (await cluster.custom.listNamespacedCustomObject({
        group: "odigos.io",
        version: "v1alpha1",
        namespace: bed.odigosNamespace,
        plural: "collectorsgroups",
      })) as { items: unknown[] }
    ).items.map((raw) => decode(decodeCollectorsGroup(raw)));
    const ready = collectorsReady(groups);
    const scope = {
      odigosNamespace: bed.odigosNamespace,
      ignoredNamespaces: ignoredNamespaces(config, bed.odigosNamespace),
    };
    const problems: string[] = [];
    for (const namespace of namespaces) {
      const ns = decode(decodeNamespace(await cluster.core.readNamespace({ name: namespace })));
      const optInOf = (workload: Workload) =>
        isOptedIn({ namespace, metadata: workload.metadata }, ns.metadata, scope);
      const details = new Map<string, InstrumentedApplication>();
      const rawDetails = (
        (await cluster.custom.listNamespacedCustomObject({
          group: "odigos.io",
          version: "v1alpha1",
          namespace,
          plural: "instrumentedapplications",
        })) as { items: unknown[] }
      ).items;
      for (const raw of rawDetails) {
        const ia = decode(decodeInstrumentedApplication(raw));
        details.set(ia.metadata.name, ia);
      }
      const present = new Map<string, Workload>();
      for (const { kind, name } of workloads) {
        try {
          const raw = await cluster.readWorkload(kind, namespace, name);
          present.set(`${kind.toLowerCase()}-${name}`, decode(workloadDecoder(kind)(raw)));
        } catch (error) {
          if (!(error instanceof ApiException && error.code === 404)) throw error;
        }
      }
      for (const [detailsName] of details) {
        const workload = present.get(detailsName);
        const owner = parseRuntimeObjectName(detailsName);
        if (workload === undefined) {
          problems.push(
            `${namespace}/${detailsName}: runtime details of a workload that does not exist`,
          );
          continue;
        }
        const optIn = optInOf(workload);
        if (!optIn.optedIn)
          problems.push(
            `${namespace}/${detailsName}: runtime details of ${Either.isRight(owner) ? owner.right.name : "?"}, not opted in (${optIn.reason})`,
          );
      }
      for (const [detailsName, workload] of present) {
        const runtimeDetails = details.get(detailsName);
        const optIn = optInOf(workload);
        const decision = shouldInstrument({ optIn, runtimeDetails, collectorsReady: ready });
        const intent = deviceIntent(
          decision,
          workload.spec.template.spec.containers,
          runtimeDetails,
          config,
        );
        const expected = intent._tag === "Instrument" ? intent.devices : {};
        const actual = devicesOf(workload as never);
        if (intent._tag !== "LeaveAsIs" && JSON.stringify(actual) !== JSON.stringify(expected)) {
          problems.push(
            `${namespace}/${workload.kind} ${workload.metadata.name}: devices ${JSON.stringify(actual)}, rules say ${JSON.stringify(expected)} (${decision.reason})`,
          );
        }
      }
    }
    return problems;
  };

  it(`converges to the rules' answer after every random sequence (seed ${seed})`, async () => {
    console.log(`[model] seed ${seed}, ${runs} runs (replay: ODIGOS_MODEL_SEED=${seed})`);
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
      }),
      { seed, numRuns: runs, endOnFailure: true },
    );
    expect(
      instrumentor.logs.filter((line) => line.level === "error" || line.level === "fatal"),
    ).toEqual([]);
  }, 600_000);
});
