/** fast-check properties of the planner, and of its patches on the fake API server. */
import { type Container, DeprecatedEbpfAnnotation, type ResourceList } from "@odigos/crd-types";
import { isDeviceName } from "@odigos/instrumentation-rules";
import { Conflict, Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyJsonPatch, unescapePointerSegment } from "./json-patch.js";
import { WorkloadPatcher, WorkloadPatcherLive } from "./patcher.js";
import { type DevicePatchSubject, type DevicePlanTarget, planDevices } from "./plan.js";
import { shuffled, target, workload } from "./test-support/arbitraries.js";
import { cartRef } from "./test-support/builders.js";

/** The workload after its plan is applied (the plan must apply). */
const converge = <W extends DevicePatchSubject>(subject: W, goal: DevicePlanTarget): W => {
  const plan = planDevices(subject, goal);
  if (plan._tag === "NoChange") return subject;
  const patched = applyJsonPatch(subject, plan.operations);
  if (Either.isLeft(patched)) throw patched.left;
  return patched.right;
};

const split = (list: ResourceList | undefined) => {
  const entries = Object.entries(list ?? {});
  return {
    devices: Object.fromEntries(entries.filter(([name]) => isDeviceName(name))),
    others: Object.fromEntries(entries.filter(([name]) => !isDeviceName(name))),
  };
};

const byName = (containers: ReadonlyArray<Container>) =>
  Object.fromEntries(
    containers.map((c) => [
      c.name,
      {
        limits: split(c.resources?.limits).devices,
        requests: split(c.resources?.requests).devices,
      },
    ]),
  );

const containerPath =
  /^\/spec\/template\/spec\/containers\/(\d+)\/resources(?:\/(limits|requests)(?:\/([^/]+))?)?$/;

describe("planDevices properties", () => {
  it("converges in one patch: planning the patched workload gives NoChange", () => {
    fc.assert(
      fc.property(workload, target, (subject, goal) => {
        expect(planDevices(converge(subject, goal), goal)).toEqual({ _tag: "NoChange" });
      }),
    );
  });

  it("reaches exactly the desired devices, with quantity 1, in limits only", () => {
    fc.assert(
      fc.property(workload, target, (subject, goal) => {
        for (const c of converge(subject, goal).spec.template.spec.containers) {
          const wanted = goal._tag === "Instrument" ? (goal.devices[c.name] ?? []) : [];
          expect(split(c.resources?.limits).devices).toEqual(
            Object.fromEntries(wanted.map((device) => [device, "1"])),
          );
          expect(split(c.resources?.requests).devices).toEqual({});
        }
      }),
    );
  });

  it("touches only device names, their parents, the ebpf annotation and the instrumented label", () => {
    fc.assert(
      fc.property(workload, target, (subject, goal) => {
        const plan = planDevices(subject, goal);
        if (plan._tag === "NoChange") return;
        const [first, ...rest] = plan.operations;
        expect(first).toEqual({
          op: "replace",
          path: "/metadata/resourceVersion",
          value: subject.metadata.resourceVersion,
        });
        for (const operation of rest) {
          if (operation.path === "/metadata/annotations/instrumentation.odigos.io~1ebpf") {
            expect(operation.op).toBe("remove");
            continue;
          }
          if (operation.path.startsWith("/spec/template/metadata")) {
            // The label, set while a device remains, removed with the last one.
            expect(JSON.stringify(operation)).toContain("instrumentor.odigos.io");
            continue;
          }
          const match = containerPath.exec(operation.path);
          expect(match, operation.path).not.toBeNull();
          const [, , list, segment] = match ?? [];
          if (segment !== undefined) {
            expect(isDeviceName(unescapePointerSegment(segment))).toBe(true);
          } else {
            // A parent is only ever created, holding devices alone.
            expect(operation.op).toBe("add");
            const value = "value" in operation ? operation.value : undefined;
            const limits = (
              list === undefined ? (value as { limits: object }).limits : value
            ) as object;
            expect(Object.keys(limits).every(isDeviceName)).toBe(true);
          }
        }
        // And everything that is not a device is as it was.
        const after = converge(subject, goal);
        after.spec.template.spec.containers.forEach((c, index) => {
          const before = subject.spec.template.spec.containers[index];
          expect(c.name).toBe(before?.name);
          expect(split(c.resources?.limits).others).toEqual(
            split(before?.resources?.limits).others,
          );
          expect(split(c.resources?.requests).others).toEqual(
            split(before?.resources?.requests).others,
          );
        });
        const { [DeprecatedEbpfAnnotation]: _dropped, ...kept } =
          subject.metadata.annotations ?? {};
        const { [DeprecatedEbpfAnnotation]: _left, ...keptAfter } =
          after.metadata.annotations ?? {};
        expect(keptAfter).toEqual(kept);
      }),
    );
  });

  it("does not depend on container order", () => {
    fc.assert(
      fc.property(
        workload.chain((subject) =>
          fc.tuple(fc.constant(subject), shuffled(subject.spec.template.spec.containers)),
        ),
        target,
        ([subject, reordered], goal) => {
          const other = {
            ...subject,
            spec: { template: { spec: { containers: reordered } } },
          };
          expect(byName(converge(other, goal).spec.template.spec.containers)).toEqual(
            byName(converge(subject, goal).spec.template.spec.containers),
          );
        },
      ),
    );
  });

  it("the API server rejects a plan from a stale resourceVersion with Conflict", async () => {
    await fc.assert(
      fc.asyncProperty(workload, target, async (subject, goal) => {
        const fake = new FakeApiServer();
        const stored = fake.put(Resources.Deployment, subject);
        const cached = {
          ...subject,
          metadata: { ...subject.metadata, resourceVersion: stored.metadata.resourceVersion ?? "" },
        };
        const plan = planDevices(cached, goal);
        if (plan._tag === "NoChange") return;
        const edited = fake.put(Resources.Deployment, stored);
        const result = await Effect.runPromise(
          Effect.flatMap(WorkloadPatcher, (patcher) =>
            patcher.patch(cartRef, plan.operations),
          ).pipe(Effect.flip, Effect.provide(Layer.provide(WorkloadPatcherLive, fake.layer))),
        );
        expect(result).toBeInstanceOf(Conflict);
        expect(fake.get(Resources.Deployment, "cart", "shop")).toEqual(edited);
        expect(fake.writes()).toEqual([]);
      }),
    );
  });
});
