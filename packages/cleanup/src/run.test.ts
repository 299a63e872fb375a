/** runCleanup through CleanupWritersLive on the fake API server, and through hand-made layers. */

import { describe, expect, it } from "@effect/vitest";
import { Forbidden } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { type CleanupAction, planWorkloadCleanup } from "./plan.js";
import { runCleanup } from "./run.js";
import {
  cartRef,
  deployment,
  fakeCluster,
  optedOut,
  reported,
  runtimeDetails,
} from "./test-support/builders.js";
import { RuntimeDetailsWriter, WorkloadAnnotationWriter } from "./writers.js";

const deleteOf = (uid: string): CleanupAction => ({
  _tag: "DeleteRuntimeDetails",
  namespace: "shop",
  name: "deployment-cart",
  uid,
});
const removeReportedNameAt = (resourceVersion: string): CleanupAction => ({
  _tag: "RemoveReportedName",
  ref: cartRef,
  resourceVersion,
});

describe("runCleanup", () => {
  it.effect("deletes the runtime details and removes only the reported-name annotation", () => {
    const cluster = fakeCluster({
      runtimeDetails: [runtimeDetails(), runtimeDetails("deployment-web")],
      workloads: [deployment("cart", reported)],
    });
    const [details] = cluster.runtimeDetails;
    const [cart] = cluster.workloads;
    return Effect.gen(function* () {
      if (details === undefined || cart === undefined) throw new Error("not seeded");
      const actions = planWorkloadCleanup({
        ref: cartRef,
        workload: cart,
        optIn: optedOut,
        runtimeDetails: details,
      });
      const report = yield* runCleanup(actions);
      expect(report).toEqual({
        done: [deleteOf(details.metadata.uid), removeReportedNameAt(cart.metadata.resourceVersion)],
        skipped: [],
        failed: [],
      });
      expect(cluster.runtimeDetailsLeft()).toEqual(["shop/deployment-web"]);
      expect(cluster.workload()?.metadata.annotations).toEqual({ team: "shop" });
      expect(cluster.fake.writes().map((write) => `${write.verb} ${write.resource}`)).toEqual([
        "delete instrumentedapplications",
        "patch deployments",
      ]);
    }).pipe(Effect.provide(cluster.layer));
  });

  it.effect("treats NotFound as success: already gone", () => {
    const cluster = fakeCluster();
    return Effect.gen(function* () {
      const report = yield* runCleanup([deleteOf("uid-x"), removeReportedNameAt("7")]);
      expect(report.done).toEqual([]);
      expect(report.failed).toEqual([]);
      expect(report.skipped).toEqual([
        { action: deleteOf("uid-x"), reason: "AlreadyGone", note: "already gone" },
        { action: removeReportedNameAt("7"), reason: "AlreadyGone", note: "already gone" },
      ]);
    }).pipe(Effect.provide(cluster.layer));
  });

  it.effect("does not delete runtime details that were replaced meanwhile (UID changed)", () => {
    const cluster = fakeCluster({ runtimeDetails: [runtimeDetails()] });
    return Effect.gen(function* () {
      const report = yield* runCleanup([deleteOf("uid-of-an-older-object")]);
      expect(report.skipped).toEqual([
        {
          action: deleteOf("uid-of-an-older-object"),
          reason: "ReplacedMeanwhile",
          note: "replaced meanwhile: not deleted",
        },
      ]);
      expect(report.failed).toEqual([]);
      expect(cluster.runtimeDetailsLeft()).toEqual(["shop/deployment-cart"]);
    }).pipe(Effect.provide(cluster.layer));
  });

  it.effect("reports a stale workload copy as a failed annotation removal, to retry", () => {
    const cluster = fakeCluster({ workloads: [deployment("cart", reported)] });
    const stale = String(Number(cluster.workloads[0]?.metadata.resourceVersion) - 1);
    return Effect.gen(function* () {
      const report = yield* runCleanup([removeReportedNameAt(stale)]);
      expect(report.failed.map(({ error }) => error._tag)).toEqual(["Conflict"]);
      expect(cluster.workload()?.metadata.annotations).toEqual(reported);
    }).pipe(Effect.provide(cluster.layer));
  });

  it.effect("maps the API server's other answers to failures to retry: 429, 500, Invalid", () => {
    const cluster = fakeCluster({
      runtimeDetails: [runtimeDetails()],
      workloads: [deployment("cart", { team: "shop" })],
    });
    const uid = cluster.runtimeDetails[0]?.metadata.uid ?? "";
    const version = cluster.workloads[0]?.metadata.resourceVersion ?? "";
    return Effect.gen(function* () {
      cluster.fake.failNext({ verb: "delete" }, 429);
      cluster.fake.failNext({ verb: "patch" }, 500);
      const busy = yield* runCleanup([deleteOf(uid), removeReportedNameAt(version)]);
      expect(busy.failed.map(({ error }) => error._tag)).toEqual(["Unavailable", "Unavailable"]);
      // No reported-name annotation to remove: the API server refuses the patch (422).
      const invalid = yield* runCleanup([removeReportedNameAt(version)]);
      expect(invalid.failed.map(({ error }) => error._tag)).toEqual(["Invalid"]);
      expect(cluster.runtimeDetailsLeft()).toEqual(["shop/deployment-cart"]);
    }).pipe(Effect.provide(cluster.layer));
  });

  it.effect("a Forbidden failure on one action does not stop the others", () => {
    const deleted: Array<string> = [];
    const forbidden = new Forbidden({
      object: { kind: "InstrumentedApplication", namespace: "shop", name: "deployment-cart" },
      verb: "delete",
      detail: "RBAC",
    });
    const layer = Layer.mergeAll(
      Layer.succeed(RuntimeDetailsWriter, {
        deleteRuntimeDetails: (_namespace, name) =>
          name === "deployment-cart"
            ? Effect.fail(forbidden)
            : Effect.sync(() => {
                deleted.push(name);
              }),
      }),
      Layer.succeed(WorkloadAnnotationWriter, { removeAnnotation: () => Effect.void }),
    );
    const deleteCart = {
      _tag: "DeleteRuntimeDetails",
      namespace: "shop",
      name: "deployment-cart",
      uid: "uid-deployment-cart",
    } as const;
    const deleteWeb: CleanupAction = { ...deleteCart, name: "deployment-web", uid: "uid-web" };
    return Effect.gen(function* () {
      const report = yield* runCleanup([deleteCart, removeReportedNameAt("7"), deleteWeb]);
      expect(report.failed).toEqual([{ action: deleteCart, error: forbidden }]);
      expect(report.done).toEqual([removeReportedNameAt("7"), deleteWeb]);
      expect(deleted).toEqual(["deployment-web"]);
    }).pipe(Effect.provide(layer));
  });

  it.effect("runs nothing for an empty plan", () => {
    const cluster = fakeCluster();
    return Effect.gen(function* () {
      expect(yield* runCleanup([])).toEqual({ done: [], skipped: [], failed: [] });
      expect(cluster.fake.requests).toEqual([]);
    }).pipe(Effect.provide(cluster.layer));
  });
});
