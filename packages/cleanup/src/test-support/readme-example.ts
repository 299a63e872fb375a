import {
  decodeDeployment,
  decodeInstrumentedApplication,
  OdigosResources,
  type WorkloadRef,
} from "@odigos/crd-types";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import {
  CleanupWritersLive,
  describeCleanupAction,
  planDeletedWorkloadCleanup,
  planWorkloadCleanup,
  RuntimeDetailsWriter,
  runCleanup,
  WorkloadAnnotationWriter,
} from "../index.js";

// A cluster: here the in-memory fake API server; in production the live KubeClient layer.
const cluster = new FakeApiServer();
const annotations = { "odigos.io/instrument": "false", "odigos.io/reported-name": "Cart" };
cluster.put(Resources.Deployment, {
  metadata: { name: "cart", namespace: "shop", annotations },
  spec: { template: { spec: { containers: [{ name: "app" }] } } },
});
cluster.put(OdigosResources.InstrumentedApplication, {
  metadata: { name: "deployment-cart", namespace: "shop", uid: "r1" },
  spec: { languages: [{ containerName: "app", language: "go" }] },
});
// What the watch caches hold, decoded at the edge.
const readCart = () =>
  Either.getOrThrow(decodeDeployment(cluster.get(Resources.Deployment, "cart", "shop")));
const cart = readCart();
const runtimeDetails = Either.getOrThrow(
  decodeInstrumentedApplication(
    cluster.get(OdigosResources.InstrumentedApplication, "deployment-cart", "shop"),
  ),
);
const ref: WorkloadRef = { kind: "Deployment", namespace: "shop", name: "cart" };

// The opt-in answer comes from @odigos/instrumentation-rules (isOptedIn); here: opted out.
const optIn = { optedIn: false, reason: "WorkloadDisabled" } as const;
const actions = planWorkloadCleanup({ ref, workload: cart, optIn, runtimeDetails });
console.log(actions.map((action) => action._tag)); // [ 'DeleteRuntimeDetails', 'RemoveReportedName' ]
const optedIn = { optedIn: true, reason: "WorkloadEnabled" } as const;
console.log(planWorkloadCleanup({ ref, workload: cart, optIn: optedIn, runtimeDetails })); // []

// Carried out by the live writers over the cluster's KubeClient.
const writers = Layer.provide(CleanupWritersLive, cluster.layer);
const report = await Effect.runPromise(runCleanup(actions).pipe(Effect.provide(writers)));
console.log(report.done.length, report.skipped.length, report.failed.length); // 2 0 0
const left = cluster.list(OdigosResources.InstrumentedApplication).length;
console.log(left, readCart().metadata.annotations); // 0 { 'odigos.io/instrument': 'false' }

// The same plan again: the runtime details are already gone (success); the annotation is too,
// so the API server refuses the patch (Invalid, to retry): re-planned from a fresh read, nothing is left.
const again = await Effect.runPromise(runCleanup(actions).pipe(Effect.provide(writers)));
const notes = again.skipped.map((skip) => skip.note);
const errors = again.failed.map((fail) => fail.error._tag);
console.log(notes, errors); // [ 'already gone' ] [ 'Invalid' ]
const fresh = { ref, workload: readCart(), optIn, runtimeDetails: undefined };
console.log(planWorkloadCleanup(fresh)); // []

// The workload was deleted: its runtime details go, whatever the opt-in said.
const afterDeletion = planDeletedWorkloadCleanup(ref, runtimeDetails).map(describeCleanupAction);
console.log(afterDeletion[0]?.startsWith("delete InstrumentedApplication shop/deployment-cart")); // true

// Another tool may provide its own writers instead, e.g. to record what would be sent.
const calls: Array<string> = [];
const recorders = Layer.mergeAll(
  Layer.succeed(RuntimeDetailsWriter, {
    deleteRuntimeDetails: (namespace, name) =>
      Effect.sync(() => {
        calls.push(`DELETE ${namespace}/${name}`);
      }),
  }),
  Layer.succeed(WorkloadAnnotationWriter, {
    removeAnnotation: (target, key) =>
      Effect.sync(() => {
        calls.push(`PATCH ${target.name}: remove ${key}`);
      }),
  }),
);
await Effect.runPromise(runCleanup(actions).pipe(Effect.provide(recorders)));
console.log(calls.join("; ")); // DELETE shop/deployment-cart; PATCH cart: remove odigos.io/reported-name
