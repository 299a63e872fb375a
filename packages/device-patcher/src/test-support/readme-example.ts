import { decodeDeployment, type WorkloadRef } from "@odigos/crd-types";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import {
  applyDevicePlan,
  type JsonPatchOperation,
  planDevices,
  WorkloadPatcher,
  WorkloadPatcherLive,
} from "../index.js";

// A cluster holding one Deployment: here the in-memory fake API server; in production the
// live KubeClient layer of @odigos/kube-client.
const cluster = new FakeApiServer();
cluster.put(Resources.Deployment, {
  metadata: { name: "cart", namespace: "shop" },
  spec: {
    template: {
      metadata: { labels: { app: "cart" } },
      spec: {
        containers: [
          { name: "app", image: "cart:1", resources: { limits: { cpu: "1", memory: "1Gi" } } },
          { name: "istio-proxy", image: "proxy:1" },
        ],
      },
    },
  },
});
// The workload as a watch cache holds it, decoded at the edge.
const read = () =>
  Either.getOrThrow(decodeDeployment(cluster.get(Resources.Deployment, "cart", "shop")));
const cart = read();
const ref: WorkloadRef = { kind: "Deployment", namespace: "shop", name: "cart" };
const goDevice = "instrumentation.odigos.io/go-ebpf-community";
// What the rules decided (their `DeviceIntent`, or written by hand).
const instrument = { _tag: "Instrument", devices: { app: [goDevice] } } as const;

// The pure plan: a resourceVersion precondition, then only what must change.
const plan = planDevices(cart, instrument);
if (plan._tag === "Patch") {
  console.log(JSON.stringify(plan.operations[0])); // {"op":"replace","path":"/metadata/resourceVersion","value":"1"}
  console.log(JSON.stringify(plan.operations[1])); // {"op":"add","path":"/spec/template/spec/containers/0/resources/limits/instrumentation.odigos.io~1go-ebpf-community","value":"1"}
  console.log(plan.operations.length, JSON.stringify(plan.summary.added)); // 3 [{"container":"app","device":"instrumentation.odigos.io/go-ebpf-community"}]
  console.log(JSON.stringify(plan.operations[2])); // {"op":"add","path":"/spec/template/metadata/labels/instrumentor.odigos.io~1instrumented","value":"true"}
}

// Applying it: WorkloadPatcherLive sends one JSON Patch through whatever KubeClient is provided.
const patcher = Layer.provide(WorkloadPatcherLive, cluster.layer);
const outcome = await Effect.runPromise(
  applyDevicePlan(ref, cart, instrument).pipe(Effect.provide(patcher)),
);
console.log(outcome._tag, read().metadata.resourceVersion); // Patched 2
console.log(planDevices(read(), instrument)); // { _tag: 'NoChange' }

// A plan from the stale copy (resourceVersion 1) is refused: re-read, re-plan, retry.
const both = {
  _tag: "Instrument",
  devices: { app: [goDevice], "istio-proxy": [goDevice] },
} as const;
const stale = await Effect.runPromise(
  applyDevicePlan(ref, cart, both).pipe(Effect.flip, Effect.provide(patcher)),
);
console.log(stale._tag); // Conflict
const retried = await Effect.runPromise(
  applyDevicePlan(ref, read(), both).pipe(Effect.provide(patcher)),
);
console.log(retried._tag, JSON.stringify(read().spec.template.spec.containers[1])); // Patched {"name":"istio-proxy","resources":{"limits":{"instrumentation.odigos.io/go-ebpf-community":"1"}}}

// Another tool may provide its own WorkloadPatcher instead, e.g. to record what would be sent.
const sent: Array<ReadonlyArray<JsonPatchOperation>> = [];
const recorder = Layer.succeed(WorkloadPatcher, {
  patch: (_ref, operations) =>
    Effect.sync(() => {
      sent.push(operations);
      return { resourceVersion: undefined }; // a recorder does not know what the server would make of it
    }),
});
await Effect.runPromise(applyDevicePlan(ref, cart, instrument).pipe(Effect.provide(recorder)));
console.log(sent.length); // 1
