import {
  decodeDeployment,
  decodeInstrumentedApplication,
  type WorkloadRef,
} from "@odigos/crd-types";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import {
  describeCleanupAction,
  makeInMemoryCleanupWriters,
  planDeletedWorkloadCleanup,
  planWorkloadCleanup,
  RuntimeDetailsWriter,
  runCleanup,
  WorkloadAnnotationWriter,
} from "../index.js";

// What the watch caches hold, decoded at the edge.
const cart = Either.getOrThrow(
  decodeDeployment({
    metadata: {
      name: "cart",
      namespace: "shop",
      uid: "u1",
      resourceVersion: "41",
      annotations: { "odigos.io/instrument": "false", "odigos.io/reported-name": "Cart" },
    },
    spec: { template: { spec: { containers: [{ name: "app" }] } } },
  }),
);
const runtimeDetails = Either.getOrThrow(
  decodeInstrumentedApplication({
    metadata: { name: "deployment-cart", namespace: "shop", uid: "r1", resourceVersion: "7" },
    spec: { languages: [{ containerName: "app", language: "go" }] },
  }),
);
const ref: WorkloadRef = { kind: "Deployment", namespace: "shop", name: "cart" };

// The opt-in answer comes from @odigos/instrumentation-rules (isOptedIn); here: opted out.
const optIn = { optedIn: false, reason: "WorkloadDisabled" } as const;
const actions = planWorkloadCleanup({ ref, workload: cart, optIn, runtimeDetails });
console.log(actions.map((action) => action._tag)); // [ 'DeleteRuntimeDetails', 'RemoveReportedName' ]
const optedIn = { optedIn: true, reason: "WorkloadEnabled" } as const;
console.log(planWorkloadCleanup({ ref, workload: cart, optIn: optedIn, runtimeDetails })); // []

// Run against in-memory writers that answer like the API server.
const store = makeInMemoryCleanupWriters({ runtimeDetails: [runtimeDetails], workloads: [cart] });
const report = await Effect.runPromise(runCleanup(actions).pipe(Effect.provide(store.layer)));
console.log(report.done.length, report.skipped.length, report.failed.length); // 2 0 0
console.log(store.runtimeDetails().size, store.workload(ref)?.metadata.annotations); // 0 { 'odigos.io/instrument': 'false' }

// The same plan again: the runtime details are already gone (success), but the
// workload copy is stale (Conflict, to retry): re-planned from a fresh read, nothing is left.
const again = await Effect.runPromise(runCleanup(actions).pipe(Effect.provide(store.layer)));
const notes = again.skipped.map((skip) => skip.note);
const errors = again.failed.map((fail) => fail.error._tag);
console.log(notes, errors); // [ 'already gone' ] [ 'Conflict' ]
const fresh = { ref, workload: store.workload(ref) ?? cart, optIn, runtimeDetails: undefined };
console.log(planWorkloadCleanup(fresh)); // []

// The workload was deleted: its runtime details go, whatever the opt-in said.
const afterDeletion = planDeletedWorkloadCleanup(ref, runtimeDetails);
console.log(afterDeletion.map(describeCleanupAction)); // [ 'delete InstrumentedApplication shop/deployment-cart (uid r1)' ]

// Another tool provides its own writers, e.g. over its own Kubernetes client.
const calls: Array<string> = [];
const myWriters = Layer.mergeAll(
  Layer.succeed(RuntimeDetailsWriter, {
    deleteRuntimeDetails: (namespace, name, uid) =>
      Effect.sync(() => {
        calls.push(`DELETE ${namespace}/${name} if uid=${uid}`);
      }),
  }),
  Layer.succeed(WorkloadAnnotationWriter, {
    removeAnnotation: (target, key, resourceVersion) =>
      Effect.sync(() => {
        calls.push(`PATCH ${target.name}: remove ${key} if resourceVersion=${resourceVersion}`);
      }),
  }),
);
await Effect.runPromise(runCleanup(actions).pipe(Effect.provide(myWriters)));
console.log(calls.length); // 2
