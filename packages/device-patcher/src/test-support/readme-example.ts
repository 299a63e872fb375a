import { decodeDeployment, type WorkloadRef } from "@odigos/crd-types";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import {
  applyDevicePlan,
  type JsonPatchOperation,
  makeInMemoryWorkloadPatcher,
  planDevices,
  WorkloadPatcher,
} from "../index.js";

// A workload as the watch cache holds it, decoded at the edge.
const cart = Either.getOrThrow(
  decodeDeployment({
    metadata: { name: "cart", namespace: "shop", uid: "u1", resourceVersion: "41" },
    spec: {
      template: {
        spec: {
          containers: [
            { name: "app", resources: { limits: { cpu: "1", memory: "1Gi" } } },
            { name: "istio-proxy" },
          ],
        },
      },
    },
  }),
);
const ref: WorkloadRef = { kind: "Deployment", namespace: "shop", name: "cart" };
const goDevice = "instrumentation.odigos.io/go-ebpf-community";
// What the rules decided (their `DeviceIntent`, or written by hand).
const instrument = { _tag: "Instrument", devices: { app: [goDevice] } } as const;

// The pure plan: a resourceVersion precondition, then only what must change.
const plan = planDevices(cart, instrument);
if (plan._tag === "Patch") {
  console.log(JSON.stringify(plan.operations[0])); // {"op":"replace","path":"/metadata/resourceVersion","value":"41"}
  console.log(JSON.stringify(plan.operations[1])); // {"op":"add","path":"/spec/template/spec/containers/0/resources/limits/instrumentation.odigos.io~1go-ebpf-community","value":"1"}
  console.log(plan.operations.length, JSON.stringify(plan.summary.added)); // 2 [{"container":"app","device":"instrumentation.odigos.io/go-ebpf-community"}]
}

// Applying it through the in-memory WorkloadPatcher (a test double that acts like the API server).
const store = makeInMemoryWorkloadPatcher([cart]);
const outcome = await Effect.runPromise(
  applyDevicePlan(ref, cart, instrument).pipe(Effect.provide(store.layer)),
);
console.log(outcome._tag, store.get(ref)?.metadata.resourceVersion); // Patched 42
const patched = store.get(ref) ?? cart;
console.log(planDevices(patched, instrument)); // { _tag: 'NoChange' }

// A plan from the stale copy (resourceVersion 41) is refused: re-read, re-plan, retry.
const both = {
  _tag: "Instrument",
  devices: { app: [goDevice], "istio-proxy": [goDevice] },
} as const;
const stale = await Effect.runPromise(
  applyDevicePlan(ref, cart, both).pipe(Effect.flip, Effect.provide(store.layer)),
);
console.log(stale._tag); // Conflict
const retried = await Effect.runPromise(
  applyDevicePlan(ref, patched, both).pipe(Effect.provide(store.layer)),
);
console.log(retried._tag, JSON.stringify(store.get(ref)?.spec.template.spec.containers[1])); // Patched {"name":"istio-proxy","resources":{"limits":{"instrumentation.odigos.io/go-ebpf-community":"1"}}}

// Another tool provides its own WorkloadPatcher, e.g. over its own Kubernetes client.
const sent: Array<ReadonlyArray<JsonPatchOperation>> = [];
const myPatcher = Layer.succeed(WorkloadPatcher, {
  patch: (_ref, operations) =>
    Effect.sync(() => {
      sent.push(operations); // here: PATCH with content type application/json-patch+json
    }),
});
await Effect.runPromise(applyDevicePlan(ref, cart, instrument).pipe(Effect.provide(myPatcher)));
console.log(sent.length); // 1
