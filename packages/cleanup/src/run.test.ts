/** runCleanup against the in-memory writers and hand-made layers. */

import { describe, expect, it } from "@effect/vitest";
import { Conflict, Forbidden, NotFound } from "@odigos/crd-types";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { makeInMemoryCleanupWriters } from "./in-memory.js";
import { type CleanupAction, planWorkloadCleanup } from "./plan.js";
import { runCleanup } from "./run.js";
import {
  cartRef,
  deployment,
  optedOut,
  reported,
  runtimeDetails,
} from "./test-support/builders.js";
import { RuntimeDetailsWriter, WorkloadAnnotationWriter } from "./writers.js";

const deleteCart: CleanupAction = {
  _tag: "DeleteRuntimeDetails",
  namespace: "shop",
  name: "deployment-cart",
  uid: "uid-deployment-cart",
};
const removeReportedName: CleanupAction = {
  _tag: "RemoveReportedName",
  ref: cartRef,
  resourceVersion: "7",
};

describe("runCleanup", () => {
  it.effect("deletes the runtime details and removes only the reported-name annotation", () => {
    const store = makeInMemoryCleanupWriters({
      runtimeDetails: [runtimeDetails(), runtimeDetails("deployment-web")],
      workloads: [deployment("cart", reported)],
    });
    return Effect.gen(function* () {
      const actions = planWorkloadCleanup({
        ref: cartRef,
        workload: deployment("cart", reported),
        optIn: optedOut,
        runtimeDetails: runtimeDetails(),
      });
      const report = yield* runCleanup(actions);
      expect(report).toEqual({ done: [deleteCart, removeReportedName], skipped: [], failed: [] });
      expect([...store.runtimeDetails().keys()]).toEqual(["shop/deployment-web"]);
      expect(store.workload(cartRef)?.metadata.annotations).toEqual({ team: "shop" });
      expect(store.writeCount()).toBe(2);
    }).pipe(Effect.provide(store.layer));
  });

  it.effect("treats NotFound as success: already gone", () => {
    const store = makeInMemoryCleanupWriters({});
    return Effect.gen(function* () {
      const report = yield* runCleanup([deleteCart, removeReportedName]);
      expect(report.done).toEqual([]);
      expect(report.failed).toEqual([]);
      expect(report.skipped).toEqual([
        { action: deleteCart, reason: "AlreadyGone", note: "already gone" },
        { action: removeReportedName, reason: "AlreadyGone", note: "already gone" },
      ]);
    }).pipe(Effect.provide(store.layer));
  });

  it.effect("does not delete runtime details that were replaced meanwhile (UID changed)", () => {
    const store = makeInMemoryCleanupWriters({
      runtimeDetails: [runtimeDetails("deployment-cart", "uid-recreated")],
    });
    return Effect.gen(function* () {
      const report = yield* runCleanup([deleteCart]);
      expect(report.skipped).toEqual([
        {
          action: deleteCart,
          reason: "ReplacedMeanwhile",
          note: "replaced meanwhile: not deleted",
        },
      ]);
      expect(report.failed).toEqual([]);
      expect(store.runtimeDetails().size).toBe(1);
    }).pipe(Effect.provide(store.layer));
  });

  it.effect("reports a stale workload copy as a failed annotation removal, to retry", () => {
    const store = makeInMemoryCleanupWriters({ workloads: [deployment("cart", reported, "8")] });
    return Effect.gen(function* () {
      const report = yield* runCleanup([removeReportedName]);
      expect(report.failed.map(({ error }) => error._tag)).toEqual(["Conflict"]);
      expect(store.workload(cartRef)?.metadata.annotations).toEqual(reported);
    }).pipe(Effect.provide(store.layer));
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
    const deleteWeb: CleanupAction = { ...deleteCart, name: "deployment-web", uid: "uid-web" };
    return Effect.gen(function* () {
      const report = yield* runCleanup([deleteCart, removeReportedName, deleteWeb]);
      expect(report.failed).toEqual([{ action: deleteCart, error: forbidden }]);
      expect(report.done).toEqual([removeReportedName, deleteWeb]);
      expect(deleted).toEqual(["deployment-web"]);
    }).pipe(Effect.provide(layer));
  });

  it.effect("runs nothing for an empty plan", () =>
    Effect.gen(function* () {
      expect(yield* runCleanup([])).toEqual({ done: [], skipped: [], failed: [] });
    }).pipe(Effect.provide(makeInMemoryCleanupWriters({}).layer)),
  );
});

describe("makeInMemoryCleanupWriters", () => {
  it.effect("answers like the API server: NotFound, Conflict, Invalid", () => {
    const store = makeInMemoryCleanupWriters({
      runtimeDetails: [runtimeDetails()],
      workloads: [deployment("cart", { team: "shop" })],
    });
    return Effect.gen(function* () {
      const details = yield* RuntimeDetailsWriter;
      const annotations = yield* WorkloadAnnotationWriter;
      expect(yield* Effect.flip(details.deleteRuntimeDetails("shop", "nope", "x"))).toBeInstanceOf(
        NotFound,
      );
      expect(
        yield* Effect.flip(details.deleteRuntimeDetails("shop", "deployment-cart", "other")),
      ).toBeInstanceOf(Conflict);
      const missing = yield* Effect.flip(
        annotations.removeAnnotation(cartRef, "odigos.io/reported-name", "7"),
      );
      expect(missing._tag).toBe("Invalid");
      expect(store.writeCount()).toBe(0);
    }).pipe(Effect.provide(store.layer));
  });
});
