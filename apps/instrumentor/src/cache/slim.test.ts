import { InstrumentorFieldManager, type ManagedFieldsEntry } from "@odigos/crd-types";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isOdigosAnnotation,
  lastOtherSpecWrite,
  withLastOtherSpecWriteOnly,
  withOdigosAnnotationsOnly,
} from "./slim.js";

const object = (annotations?: Record<string, string>) => ({
  metadata: { name: "checkout", namespace: "shop", ...(annotations && { annotations }) },
  spec: { replicas: 2 },
});

describe("withOdigosAnnotationsOnly", () => {
  it("keeps Odigos's annotations and drops every other", () => {
    const slim = withOdigosAnnotationsOnly(
      object({
        "odigos.io/instrument": "true",
        "odigos.io/rollout": '{"action":"instrument"}',
        "instrumentation.odigos.io/ebpf": "true",
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({
          big: "x".repeat(2048),
        }),
        "deployment.kubernetes.io/revision": "3",
        "notodigos.io/x": "1",
      }),
    );
    expect(slim.metadata.annotations).toEqual({
      "odigos.io/instrument": "true",
      "odigos.io/rollout": '{"action":"instrument"}',
      "instrumentation.odigos.io/ebpf": "true",
    });
    expect(slim.metadata.name).toBe("checkout");
    expect(slim.spec).toEqual({ replicas: 2 });
  });

  it("keeps an empty map for an object that has only foreign annotations, none for one without", () => {
    expect(withOdigosAnnotationsOnly(object({ team: "payments" })).metadata.annotations).toEqual(
      {},
    );
    expect("annotations" in withOdigosAnnotationsOnly(object()).metadata).toBe(false);
  });

  it("returns the object itself when there is nothing to drop", () => {
    const only = object({ "odigos.io/instrument": "false" });
    expect(withOdigosAnnotationsOnly(only)).toBe(only);
  });

  it("matches odigos.io and its subdomains only", () => {
    expect(isOdigosAnnotation("odigos.io/instrument")).toBe(true);
    expect(isOdigosAnnotation("demo.odigos.io/language")).toBe(true);
    expect(isOdigosAnnotation("notodigos.io/instrument")).toBe(false);
    expect(isOdigosAnnotation("odigos.io.evil.com/x")).toBe(false);
    expect(isOdigosAnnotation("example.com/odigos.io/x")).toBe(false);
  });
});

const written = (managedFields?: ReadonlyArray<ManagedFieldsEntry>) => ({
  metadata: { name: "checkout", generation: 4, ...(managedFields && { managedFields }) },
  spec: { replicas: 2 },
});

describe("withLastOtherSpecWriteOnly", () => {
  const helm = { manager: "helm", operation: "Update", time: "2026-11-27T10:00:00Z" };
  const controller = {
    manager: "kube-controller-manager",
    operation: "Update",
    subresource: "status",
    time: "2026-11-27T12:00:00Z",
  };
  const ours = {
    manager: InstrumentorFieldManager,
    operation: "Update",
    time: "2026-11-27T11:00:00Z",
  };
  const kubectl = { manager: "kubectl-edit", operation: "Update", time: "2026-11-27T10:30:00Z" };

  it("keeps the last spec write by another manager, as its manager and time", () => {
    const slim = withLastOtherSpecWriteOnly(written([helm, controller, ours, kubectl]));
    expect(slim.metadata.managedFields).toEqual([
      { manager: "kubectl-edit", time: "2026-11-27T10:30:00Z" },
    ]);
    expect(slim.metadata.name).toBe("checkout");
    expect(slim.metadata.generation).toBe(4);
    expect(slim.spec).toEqual({ replicas: 2 });
  });

  it("keeps none when only the instrumentor and status writers wrote, and leaves an object without any as it is", () => {
    expect(withLastOtherSpecWriteOnly(written([controller, ours])).metadata.managedFields).toEqual(
      [],
    );
    const bare = written();
    expect(withLastOtherSpecWriteOnly(bare)).toBe(bare);
  });

  it("names the same writer as the full list, for any list", () => {
    const entry = fc.record(
      {
        manager: fc.constantFrom("helm", "kubectl", "argocd", InstrumentorFieldManager),
        operation: fc.constantFrom("Update", "Apply"),
        subresource: fc.constant("status"),
        time: fc.constantFrom(
          "2026-11-27T10:00:00Z",
          "2026-11-27T10:00:01Z",
          "2026-11-27T10:00:02Z",
        ),
      },
      { requiredKeys: ["operation"] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), (entries) => {
        const slim = withLastOtherSpecWriteOnly(written(entries)).metadata.managedFields ?? [];
        expect(slim.length).toBeLessThanOrEqual(1);
        expect(lastOtherSpecWrite(slim)?.manager).toBe(lastOtherSpecWrite(entries)?.manager);
        const reference = entries
          .filter((e) => e.manager !== undefined && e.manager !== InstrumentorFieldManager)
          .filter((e) => e.subresource === undefined)
          .reduce<ManagedFieldsEntry | undefined>(
            (best, e) => (best === undefined || (e.time ?? "") >= (best.time ?? "") ? e : best),
            undefined,
          );
        expect(slim[0]?.manager).toBe(reference?.manager);
        expect(slim[0]?.time).toBe(reference?.time);
      }),
    );
  });
});
