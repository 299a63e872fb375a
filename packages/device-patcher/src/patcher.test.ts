/** applyDevicePlan and WorkloadPatcherLive on the fake API server: writes, no-writes, typed failures. */

import { describe, expect, it } from "@effect/vitest";
import { type Deployment, decodeDeployment } from "@odigos/crd-types";
import { Forbidden, Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import {
  applyDevicePlan,
  WorkloadPatcher,
  WorkloadPatcherLive,
  writeDevicePlan,
  writeDevicePlanWith,
} from "./patcher.js";
import { planDevices, withAnnotations } from "./plan.js";
import { cartRef, container, deployment, goDevice, javaDevice } from "./test-support/builders.js";

/** A fake API server holding `workload`, the cached (decoded) copy of it, and the live layer over it. */
const cluster = (workload: Deployment) => {
  const fake = new FakeApiServer({ fieldManager: "odigos-instrumentor" });
  fake.put(Resources.Deployment, workload);
  const read = () => {
    const stored = fake.get(Resources.Deployment, "cart", "shop");
    return stored === undefined ? undefined : Either.getOrThrow(decodeDeployment(stored));
  };
  const cached = read();
  if (cached === undefined) throw new Error("not stored");
  return { fake, cached, read, layer: Layer.provide(WorkloadPatcherLive, fake.layer) };
};

describe("writeDevicePlan over WorkloadPatcherLive", () => {
  it.effect("writes the plan it is given, annotations and all, and nothing for NoChange", () => {
    const { fake, cached, read, layer } = cluster(deployment([container("app")]));
    return Effect.gen(function* () {
      const target = { _tag: "Instrument", devices: { app: [javaDevice] } } as const;
      const plan = withAnnotations(planDevices(cached, target), cached, { "odigos.io/x": "1" });
      const written = yield* writeDevicePlan(cartRef, plan);
      const stored = read();
      expect(written).toMatchObject({
        _tag: "Patched",
        resourceVersion: stored?.metadata.resourceVersion,
      });
      expect(stored?.metadata.annotations).toEqual({ "odigos.io/x": "1" });
      expect(stored?.spec.template.spec.containers[0]?.resources?.limits).toEqual({
        [javaDevice]: "1",
      });
      expect(yield* writeDevicePlan(cartRef, { _tag: "NoChange" })).toEqual({
        _tag: "Unchanged",
      });
      expect(fake.writes({ verb: "patch" })).toHaveLength(1);
    }).pipe(Effect.provide(layer));
  });
});

describe("writeDevicePlanWith", () => {
  it.effect("writes through the patcher it is given, with no service in the context", () => {
    const { fake, cached, read, layer } = cluster(deployment([container("app")]));
    return Effect.gen(function* () {
      const patcher = yield* WorkloadPatcher;
      const plan = planDevices(cached, { _tag: "Instrument", devices: { app: [goDevice] } });
      // No WorkloadPatcher in this effect's requirements: it runs as it is.
      const write: Effect.Effect<unknown, unknown, never> = writeDevicePlanWith(
        patcher,
        cartRef,
        plan,
      );
      expect(yield* write).toMatchObject({
        _tag: "Patched",
        resourceVersion: read()?.metadata.resourceVersion,
      });
      expect(yield* writeDevicePlanWith(patcher, cartRef, { _tag: "NoChange" })).toEqual({
        _tag: "Unchanged",
      });
      expect(fake.writes({ verb: "patch" })).toHaveLength(1);
    }).pipe(Effect.provide(layer));
  });
});

describe("applyDevicePlan over WorkloadPatcherLive", () => {
  it.effect(
    "patches once with the field manager, then writes nothing on the converged copy",
    () => {
      const { fake, cached, read, layer } = cluster(deployment([container("app")]));
      return Effect.gen(function* () {
        const target = { _tag: "Instrument", devices: { app: [goDevice] } } as const;
        const first = yield* applyDevicePlan(cartRef, cached, target);
        expect(first).toEqual({
          _tag: "Patched",
          summary: {
            added: [{ container: "app", device: goDevice }],
            removed: [],
            normalised: [],
            annotationRemoved: false,
            label: "added",
          },
          resourceVersion: read()?.metadata.resourceVersion,
        });
        const stored = read();
        expect(stored?.spec.template.spec.containers[0]?.resources).toEqual({
          limits: { [goDevice]: "1" },
        });
        expect(Number(stored?.metadata.resourceVersion)).toBeGreaterThan(
          Number(cached.metadata.resourceVersion),
        );
        if (stored === undefined) return;
        expect(yield* applyDevicePlan(cartRef, stored, target)).toEqual({ _tag: "Unchanged" });
        expect(fake.writes({ verb: "patch" })).toEqual([
          expect.objectContaining({
            resource: "deployments",
            name: "cart",
            fieldManager: "odigos-instrumentor",
          }),
        ]);
      }).pipe(Effect.provide(layer));
    },
  );

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
      const { fake, cached, read, layer } = cluster(
        deployment([container("app", { limits: { [javaDevice]: "1" } })]),
      );
      // Someone else edits the workload after our cache saw it.
      fake.put(
        Resources.Deployment,
        deployment([container("app", { limits: { [javaDevice]: "1", cpu: "1" } })]),
      );
      const edited = read();
      return Effect.gen(function* () {
        const error = yield* Effect.flip(
          applyDevicePlan(cartRef, cached, { _tag: "Uninstrument" }),
        );
        expect(error._tag).toBe("Conflict");
        expect(read()).toEqual(edited);
        // Re-planned from a fresh read, the write goes through and keeps the other edit.
        if (edited === undefined) return;
        yield* applyDevicePlan(cartRef, edited, { _tag: "Uninstrument" });
        expect(read()?.spec.template.spec.containers[0]?.resources).toEqual({
          limits: { cpu: "1" },
        });
      }).pipe(Effect.provide(layer));
    },
  );

  it.effect(
    "maps the API server's answers to typed errors: 404 NotFound, 429 Unavailable, 403 Forbidden",
    () => {
      const { fake, cached, layer } = cluster(deployment([container("app")]));
      const target = { _tag: "Instrument", devices: { app: [goDevice] } } as const;
      return Effect.gen(function* () {
        fake.failNext({ verb: "patch" }, 429);
        expect((yield* Effect.flip(applyDevicePlan(cartRef, cached, target)))._tag).toBe(
          "Unavailable",
        );
        fake.failNext({ verb: "patch" }, 403);
        const forbidden = yield* Effect.flip(applyDevicePlan(cartRef, cached, target));
        expect(forbidden).toBeInstanceOf(Forbidden);
        expect(forbidden.message).toMatch(/^forbidden to patch Deployment shop\/cart/);
        fake.remove(Resources.Deployment, "cart", "shop");
        expect((yield* Effect.flip(applyDevicePlan(cartRef, cached, target)))._tag).toBe(
          "NotFound",
        );
      }).pipe(Effect.provide(layer));
    },
  );

  it.effect("rejects a patch that does not apply as Invalid, writing nothing", () => {
    const { fake, cached, layer } = cluster(deployment([container("app")]));
    return Effect.gen(function* () {
      const patcher = yield* WorkloadPatcher;
      const error = yield* Effect.flip(
        patcher.patch(cartRef, [
          {
            op: "replace",
            path: "/metadata/resourceVersion",
            value: cached.metadata.resourceVersion,
          },
          { op: "remove", path: "/spec/template/spec/containers/0/resources/limits/cpu" },
        ]),
      );
      expect(error._tag).toBe("Invalid");
      expect(fake.writes()).toEqual([]);
    }).pipe(Effect.provide(layer));
  });
});
