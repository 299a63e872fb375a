/** applyDevicePlan and the in-memory WorkloadPatcher: writes, no-writes, typed failures. */

import { describe, expect, it } from "@effect/vitest";
import { Conflict, Forbidden } from "@odigos/crd-types";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { makeInMemoryWorkloadPatcher } from "./in-memory.js";
import { applyDevicePlan, WorkloadPatcher } from "./patcher.js";
import { planDevices } from "./plan.js";
import { cartRef, container, deployment, goDevice, javaDevice } from "./test-support/builders.js";

describe("applyDevicePlan", () => {
  it.effect("patches once, then writes nothing on the converged copy", () => {
    const store = makeInMemoryWorkloadPatcher([deployment([container("app")])]);
    return Effect.gen(function* () {
      const target = { _tag: "Instrument", devices: { app: [goDevice] } } as const;
      const first = yield* applyDevicePlan(cartRef, deployment([container("app")]), target);
      expect(first).toEqual({
        _tag: "Patched",
        summary: {
          added: [{ container: "app", device: goDevice }],
          removed: [],
          normalised: [],
          annotationRemoved: false,
        },
      });
      const stored = store.get(cartRef);
      expect(stored?.spec.template.spec.containers[0]?.resources).toEqual({
        limits: { [goDevice]: "1" },
      });
      expect(stored?.metadata.resourceVersion).toBe("8");
      if (stored === undefined) return;
      const second = yield* applyDevicePlan(cartRef, stored, target);
      expect(second).toEqual({ _tag: "Unchanged" });
      expect(store.patchCount()).toBe(1);
    }).pipe(Effect.provide(store.layer));
  });

  it.effect("writes nothing and needs no patcher call when converged", () =>
    Effect.gen(function* () {
      const workload = deployment([container("app", { limits: { [goDevice]: "1" } })]);
      const outcome = yield* applyDevicePlan(cartRef, workload, {
        _tag: "Instrument",
        devices: { app: [goDevice] },
      });
      expect(outcome).toEqual({ _tag: "Unchanged" });
    }).pipe(
      Effect.provide(
        Layer.succeed(WorkloadPatcher, { patch: () => Effect.die("must not be called") }),
      ),
    ),
  );

  it.effect(
    "fails with Conflict when the cached copy is stale, leaving the object as it was",
    () => {
      const cached = deployment([container("app", { limits: { [javaDevice]: "1" } })]);
      const store = makeInMemoryWorkloadPatcher([cached]);
      // Someone else edits the workload after our cache saw it.
      const edited = store.put(
        deployment([container("app", { limits: { [javaDevice]: "1", cpu: "1" } })]),
      );
      return Effect.gen(function* () {
        const error = yield* Effect.flip(
          applyDevicePlan(cartRef, cached, { _tag: "Uninstrument" }),
        );
        expect(error).toBeInstanceOf(Conflict);
        expect(store.get(cartRef)).toEqual(edited);
        expect(store.patchCount()).toBe(0);
        // Re-planned from a fresh read, the write goes through and keeps the other edit.
        const fresh = store.get(cartRef);
        if (fresh === undefined) return;
        yield* applyDevicePlan(cartRef, fresh, { _tag: "Uninstrument" });
        expect(store.get(cartRef)?.spec.template.spec.containers[0]?.resources).toEqual({
          limits: { cpu: "1" },
        });
      }).pipe(Effect.provide(store.layer));
    },
  );

  it.effect("fails with NotFound for a workload the store does not have", () => {
    const store = makeInMemoryWorkloadPatcher([]);
    return Effect.gen(function* () {
      const error = yield* Effect.flip(
        applyDevicePlan(cartRef, deployment([container("app")]), {
          _tag: "Instrument",
          devices: { app: [goDevice] },
        }),
      );
      expect(error._tag).toBe("NotFound");
    }).pipe(Effect.provide(store.layer));
  });

  it.effect("passes the patcher's own typed error through", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        applyDevicePlan(cartRef, deployment([container("app")]), {
          _tag: "Instrument",
          devices: { app: [goDevice] },
        }),
      );
      expect(error).toBeInstanceOf(Forbidden);
    }).pipe(
      Effect.provide(
        Layer.succeed(WorkloadPatcher, {
          patch: (ref) =>
            Effect.fail(new Forbidden({ object: ref, verb: "patch", detail: "rbac" })),
        }),
      ),
    ),
  );
});

describe("makeInMemoryWorkloadPatcher", () => {
  it.effect("rejects a patch that does not apply as Invalid, writing nothing", () => {
    const store = makeInMemoryWorkloadPatcher([deployment([container("app")])]);
    return Effect.gen(function* () {
      const patcher = yield* WorkloadPatcher;
      const error = yield* Effect.flip(
        patcher.patch(cartRef, [
          { op: "replace", path: "/metadata/resourceVersion", value: "7" },
          { op: "remove", path: "/spec/template/spec/containers/0/resources/limits/cpu" },
        ]),
      );
      expect(error._tag).toBe("Invalid");
      expect(store.get(cartRef)?.metadata.resourceVersion).toBe("7");
      expect(store.patchCount()).toBe(0);
    }).pipe(Effect.provide(store.layer));
  });

  it.effect("never mutates the objects it was seeded with, and lists them by key", () => {
    const initial = deployment([container("app")]);
    const before = structuredClone(initial);
    const store = makeInMemoryWorkloadPatcher([initial]);
    return Effect.gen(function* () {
      const plan = planDevices(initial, { _tag: "Instrument", devices: { app: [goDevice] } });
      if (plan._tag === "Patch") yield* (yield* WorkloadPatcher).patch(cartRef, plan.operations);
      expect(initial).toEqual(before);
      expect([...store.objects().keys()]).toEqual(["Deployment/shop/cart"]);
      expect(store.patchCount()).toBe(1);
    }).pipe(Effect.provide(store.layer));
  });
});
