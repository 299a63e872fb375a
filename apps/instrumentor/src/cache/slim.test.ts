import {
  InstrumentedPodLabel,
  InstrumentorFieldManager,
  type ManagedFieldsEntry,
  type Workload,
  type WorkloadKind,
  workloadDecoder,
  workloadStatusDecoder,
} from "@odigos/crd-types";
import * as Either from "effect/Either";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isOdigosAnnotation,
  lastOtherSpecWrite,
  refreshStatusOnly,
  withInstrumentedLabelOnly,
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

/** Writers, as `managedFields` records them. */
const helm = { manager: "helm", operation: "Update", time: "2026-11-27T10:00:00Z" };
const controller = {
  manager: "kube-controller-manager",
  operation: "Update",
  subresource: "status",
  time: "2026-11-27T12:00:00Z",
};
const kubectl = { manager: "kubectl-edit", operation: "Update", time: "2026-11-27T10:30:00Z" };

describe("withLastOtherSpecWriteOnly", () => {
  const ours = {
    manager: InstrumentorFieldManager,
    operation: "Update",
    time: "2026-11-27T11:00:00Z",
  };

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

describe("refreshStatusOnly", () => {
  /** What the cache keeps of a served workload: decoded, then slimmed as the workload informer does. */
  const cached = (kind: WorkloadKind, raw: unknown): Either.Either<Workload, unknown> =>
    Either.map(workloadDecoder(kind)(raw), (workload) =>
      withOdigosAnnotationsOnly(withInstrumentedLabelOnly(withLastOtherSpecWriteOnly(workload))),
    );
  const refresh = (kind: WorkloadKind, previous: Workload, raw: unknown) =>
    refreshStatusOnly(previous, raw, workloadStatusDecoder(kind));

  const kinds: ReadonlyArray<WorkloadKind> = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "Rollout",
  ];
  const template = (devices: boolean) => ({
    metadata: { labels: { app: "checkout", ...(devices && { [InstrumentedPodLabel]: "true" }) } },
    spec: {
      containers: [
        {
          name: "app",
          image: "shop/checkout:1",
          ...(devices && { resources: { limits: { "instrumentation.odigos.io/go": "1" } } }),
        },
      ],
    },
  });
  const specOf = (kind: WorkloadKind, devices: boolean) =>
    kind === "CronJob"
      ? { schedule: "* * * * *", jobTemplate: { spec: { template: template(devices) } } }
      : { replicas: 3, template: template(devices) };
  const statusOf = (kind: WorkloadKind, generation: number, updated: number) =>
    kind === "Rollout"
      ? { observedGeneration: String(generation), phase: "Progressing", updatedReplicas: updated }
      : kind === "CronJob"
        ? { lastScheduleTime: "2026-12-06T08:00:00Z" }
        : {
            observedGeneration: generation,
            replicas: 3,
            updatedReplicas: updated,
            conditions: [{ type: "Progressing", status: "True", message: "progressing" }],
          };

  /** A served workload of `kind`, and the ways a newer version of it can differ. */
  const served: fc.Arbitrary<Served> = fc.record({
    kind: fc.constantFrom(...kinds),
    generation: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    labels: fc.option(fc.dictionary(fc.constantFrom("app", "team"), fc.constantFrom("a", "b")), {
      nil: undefined,
    }),
    annotations: fc.option(
      fc.dictionary(
        fc.constantFrom(
          "odigos.io/instrument",
          "instrumentation.odigos.io/rollout",
          "kubectl.kubernetes.io/last-applied-configuration",
          "deployment.kubernetes.io/revision",
        ),
        fc.constantFrom("true", "false", "2"),
      ),
      { nil: undefined },
    ),
    managedFields: fc.option(fc.subarray([helm, controller, kubectl]), { nil: undefined }),
    devices: fc.boolean(),
  });
  interface Served {
    readonly kind: WorkloadKind;
    readonly generation: number | undefined;
    readonly labels: Readonly<Record<string, string>> | undefined;
    readonly annotations: Readonly<Record<string, string>> | undefined;
    readonly managedFields: ReadonlyArray<ManagedFieldsEntry> | undefined;
    readonly devices: boolean;
  }

  const rawOf = (
    w: Served,
    version: number,
    updated: number,
    extra: Record<string, unknown> = {},
  ) => ({
    metadata: {
      name: "checkout",
      namespace: "shop",
      uid: "uid-1",
      resourceVersion: String(version),
      ...(w.generation !== undefined && { generation: w.generation }),
      ...(w.labels !== undefined && { labels: w.labels }),
      ...(w.annotations !== undefined && { annotations: w.annotations }),
      ...(w.managedFields !== undefined && { managedFields: w.managedFields }),
      ...extra,
    },
    spec: specOf(w.kind, w.devices),
    status: statusOf(w.kind, w.generation ?? 1, updated),
  });

  /** One change between two versions; the API server bumps the generation with the spec. */
  const change = fc.oneof(
    fc.constant({ what: "status" as const }),
    fc.constant({ what: "labels" as const, labels: { app: "c" } }),
    fc.constantFrom(
      { what: "annotation" as const, key: "odigos.io/instrument", value: "false" },
      { what: "annotation" as const, key: "deployment.kubernetes.io/revision", value: "9" },
      { what: "annotation" as const, key: "instrumentation.odigos.io/rollout", value: "{}" },
    ),
    fc.constantFrom(
      { what: "writer" as const, entry: { ...kubectl, time: "2026-11-27T13:00:00Z" } },
      { what: "writer" as const, entry: { ...controller, time: "2026-11-27T13:00:00Z" } },
    ),
    fc.constant({ what: "spec" as const }),
    fc.constant({ what: "uid" as const }),
    fc.constant({ what: "bad status" as const }),
    fc.constant({ what: "bad annotation" as const }),
  );

  const next = (w: Served, c: typeof change extends fc.Arbitrary<infer T> ? T : never) => {
    switch (c.what) {
      case "status":
        return rawOf(w, 11, 2);
      case "labels":
        return rawOf({ ...w, labels: c.labels }, 11, 1);
      case "annotation":
        return rawOf({ ...w, annotations: { ...w.annotations, [c.key]: c.value } }, 11, 1);
      case "writer":
        return rawOf({ ...w, managedFields: [...(w.managedFields ?? []), c.entry] }, 11, 1);
      case "spec":
        return rawOf({ ...w, devices: !w.devices, generation: (w.generation ?? 0) + 1 }, 11, 1);
      case "uid":
        return rawOf(w, 11, 1, { uid: "uid-2" });
      case "bad status": {
        const raw = rawOf(w, 11, 1);
        return { ...raw, status: { ...raw.status, replicas: "three", observedGeneration: {} } };
      }
      case "bad annotation":
        return rawOf(w, 11, 1, { annotations: { ...w.annotations, "team.example/size": 3 } });
    }
  };

  it("gives what decoding the newer version whole gives, and takes over every update of what the cache does not keep", () => {
    fc.assert(
      fc.property(served, change, (w, c) => {
        const previous = Either.getOrThrow(cached(w.kind, rawOf(w, 10, 1)));
        const raw = next(w, c);
        const refreshed = refresh(w.kind, previous, raw);
        const whole = cached(w.kind, raw);
        if (refreshed !== undefined) expect(Either.right(refreshed)).toEqual(whole);
        // Taken over: what moves only what the cache does not keep, given a generation to tell
        // spec changes by (status, a foreign annotation, a status writer; not the first
        // annotation or writer, which gives the cached object a map or list); decoded whole: the rest.
        const statusOnly =
          c.what === "status" ||
          (c.what === "annotation" &&
            w.annotations !== undefined &&
            (!isOdigosAnnotation(c.key) || w.annotations[c.key] === c.value)) ||
          (c.what === "writer" && "subresource" in c.entry && w.managedFields !== undefined) ||
          (c.what === "bad status" && w.kind === "CronJob"); // whose slice keeps no status
        if (statusOnly && w.generation !== undefined) expect(refreshed).toBeDefined();
        else expect(refreshed).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it("carries the status over and the new version, and keeps the rest as cached", () => {
    const w: Served = {
      kind: "Deployment",
      generation: 2,
      labels: { app: "a" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
      managedFields: [helm, controller],
      devices: true,
    };
    const previous = Either.getOrThrow(cached("Deployment", rawOf(w, 10, 1)));
    const refreshed = refresh("Deployment", previous, rawOf(w, 11, 3));
    expect(refreshed?.metadata.resourceVersion).toBe("11");
    expect(refreshed?.status).toEqual({ observedGeneration: 2, replicas: 3, updatedReplicas: 3 });
    expect(refreshed?.spec).toBe(previous.spec);
    expect(refreshed?.metadata.annotations).toEqual({});
    // A workload without a generation gives no way to tell a spec change: always decoded whole.
    const bare = Either.getOrThrow(
      cached("Deployment", rawOf({ ...w, generation: undefined }, 10, 1)),
    );
    expect(
      refresh("Deployment", bare, rawOf({ ...w, generation: undefined }, 11, 3)),
    ).toBeUndefined();
  });
});
