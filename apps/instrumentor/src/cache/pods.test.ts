/**
 * SPEC 8's last promise, "pods are read only as far as this needs": the pod cache holds the pods
 * of instrumented revisions only (by the label the device patch puts on the template), and a
 * workload an earlier version instrumented (devices, no label) is still rolled back when its pods
 * crash-loop within the rollback window, every pod being watched until that window ends.
 */
import { describe, expect, it } from "@effect/vitest";
import {
  InstrumentedPodLabel,
  InstrumentorFieldManager,
  OdigosResources,
  RollbackAnnotation,
  RolloutAnnotation,
} from "@odigos/crd-types";
import { type KubeObject, Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as TestClock from "effect/TestClock";
import { Controller } from "../controller/controller.js";
import {
  appLayer,
  devicesOf,
  eventually,
  goDevice,
  namespace,
  runtimeDetails,
  seedOdigos,
  testConfig,
  workload,
} from "../test-support/harness.js";
import { ClusterState } from "./cluster-state.js";

const cart = { kind: "Deployment", namespace: "shop", name: "cart" } as const;

/** A pod of cart's ReplicaSet carrying the device, with or without the instrumented label. */
const pod = (
  name: string,
  labelled: boolean,
  status: Record<string, unknown> = {},
): KubeObject => ({
  metadata: {
    name,
    namespace: "shop",
    labels: {
      app: "cart",
      "pod-template-hash": "abc",
      ...(labelled ? { [InstrumentedPodLabel]: "true" } : {}),
    },
    ownerReferences: [{ kind: "ReplicaSet", name: "cart-abc", controller: true }],
  },
  spec: { containers: [{ name: "app", resources: { limits: { [goDevice]: "1" } } }] },
  status: { phase: "Running", containerStatuses: [{ name: "app", ...status }] },
});

const crashLooping = {
  ready: false,
  restartCount: 5,
  state: { waiting: { reason: "CrashLoopBackOff" } },
};

describe("the pod cache", () => {
  it.scoped("holds only pods with the instrumented label, whatever else carries a device", () => {
    const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
    seedOdigos(fake);
    fake.put(Resources.Namespace, namespace("shop"));
    fake.put(Resources.Deployment, workload("cart"));
    fake.put(Resources.Pod, pod("cart-abc-1", true));
    fake.put(Resources.Pod, pod("cart-abc-2", false));
    const { layer } = appLayer(fake, testConfig());
    return Effect.gen(function* () {
      const state = yield* ClusterState;
      yield* state.synced;
      yield* eventually(() => state.instrumentedPods(cart).length > 0, "the labelled pod");
      fake.put(Resources.Pod, pod("cart-abc-3", false));
      fake.put(Resources.Pod, pod("cart-abc-4", true));
      yield* eventually(() => state.instrumentedPods(cart).length > 1, "the second labelled pod");
      expect(state.instrumentedPods(cart).map((one) => one.metadata.name)).toEqual([
        "cart-abc-1",
        "cart-abc-4",
      ]);
    }).pipe(Effect.provide(layer));
  });

  it.scoped(
    "a workload an earlier version instrumented (no label) is rolled back when its pods crash-loop in the window; then only labelled pods are watched",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedOdigos(fake);
      fake.put(Resources.Namespace, namespace("shop", { "odigos.io/instrument": "true" }));
      fake.put(
        OdigosResources.InstrumentedApplication,
        runtimeDetails("Deployment", "cart", [{ containerName: "app", language: "go" }]),
      );
      // As the earlier version left it: devices and its rollout record, no label.
      fake.put(Resources.Deployment, {
        ...workload("cart", {
          annotations: {
            [RolloutAnnotation]: JSON.stringify({
              action: "instrument",
              at: new Date(0).toISOString(),
              generation: 1,
            }),
          },
          containers: [{ name: "app", resources: { limits: { [goDevice]: "1" } } }],
        }),
        status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 },
      });
      fake.put(Resources.Pod, pod("cart-abc-1", false, crashLooping));
      const windowMs = 60 * 60_000;
      const { layer, lines } = appLayer(fake, testConfig({ rollbackWindowMs: windowMs }));
      return Effect.gen(function* () {
        const state = yield* ClusterState;
        yield* state.synced;
        yield* (yield* Controller).start;
        yield* eventually(
          () =>
            fake.get(Resources.Deployment, "cart", "shop")?.metadata.annotations?.[
              RollbackAnnotation
            ] !== undefined,
          "cart rolled back",
        );
        expect(devicesOf(fake, "Deployment", "cart").app ?? []).toEqual([]);
        expect(lines.some((line) => line.reason === "InstrumentedByEarlierVersion")).toBe(true);
        yield* TestClock.adjust(windowMs);
        yield* eventually(
          () => lines.some((line) => String(line.msg).startsWith("the rollback windows")),
          "the legacy pod watch ended",
        );
        expect(state.instrumentedPods(cart)).toEqual([]);
      }).pipe(Effect.provide(layer));
    },
  );
});
