import { RuntimeDetailsWriter, WorkloadAnnotationWriter } from "@odigos/cleanup";
import {
  type CollectorsGroup,
  Conflict,
  type InstrumentedApplication,
  type Namespace,
  NotFound,
  type OdigosConfiguration,
  type Workload,
  type WorkloadRef,
  type WriteError,
  workloadKey,
} from "@odigos/crd-types";
import { applyJsonPatch, type JsonPatchOperation, WorkloadPatcher } from "@odigos/device-patcher";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ClusterView, ConfigurationState } from "../cache/cluster-state.js";
import type { EventRecorder } from "../observability/events.js";
import { orphanGraceMs, Reconciler } from "./reconciler.js";

const goDevice = "instrumentation.odigos.io/go-ebpf-community";
const ref: WorkloadRef = { kind: "Deployment", namespace: "shop", name: "cart" };

/**
 * A cluster in memory: `server` is what the API server holds, `cache` what the
 * watches have delivered so far (`sync()` delivers). The live writers are
 * swapped for layers over `server`: the reconciler cannot tell.
 */
class FakeCluster implements ClusterView {
  readonly odigosNamespace = "odigos-system";
  server = new Map<string, Workload>();
  cache = new Map<string, Workload>();
  details = new Map<string, InstrumentedApplication>();
  namespaces = new Map<string, Namespace>();
  groups: CollectorsGroup[] = [groupReady(true)];
  config: ConfigurationState = { _tag: "Available", config: config() };
  writes: string[] = [];
  failNextPatch: "Conflict" | undefined;
  private version = 100;

  put(workload: Workload) {
    this.server.set(workloadKey(refOf(workload)), workload);
    this.sync();
  }
  sync() {
    this.cache = new Map(this.server);
  }
  workload = (r: WorkloadRef) => this.cache.get(workloadKey(r));
  workloadInvalid = () => undefined;
  namespace = (name: string) => this.namespaces.get(name);
  runtimeDetailsOf = (r: WorkloadRef) =>
    this.details.get(`${r.namespace}/${r.kind.toLowerCase()}-${r.name}`);
  configuration = () => this.config;
  allCollectorsGroups = () => this.groups;

  readonly layer = Layer.mergeAll(
    Layer.succeed(WorkloadPatcher, {
      patch: (r: WorkloadRef, operations: ReadonlyArray<JsonPatchOperation>) =>
        Effect.suspend((): Effect.Effect<void, WriteError> => {
          const current = this.server.get(workloadKey(r));
          if (current === undefined) return Effect.fail(new NotFound({ object: r }));
          const precondition = operations[0];
          if (
            this.failNextPatch === "Conflict" ||
            (precondition?.op === "replace" &&
              precondition.value !== current.metadata.resourceVersion)
          ) {
            this.failNextPatch = undefined;
            return Effect.fail(new Conflict({ object: r, detail: "the object has been modified" }));
          }
          const patched = applyJsonPatch(current, operations);
          if (Either.isLeft(patched)) return Effect.die(patched.left);
          this.writes.push(`patch ${workloadKey(r)}`);
          this.server.set(workloadKey(r), {
            ...patched.right,
            metadata: { ...patched.right.metadata, resourceVersion: String(++this.version) },
          } as Workload);
          return Effect.void;
        }),
    }),
    Layer.succeed(WorkloadAnnotationWriter, {
      removeAnnotation: (r: WorkloadRef, key: string, resourceVersion: string) =>
        Effect.suspend((): Effect.Effect<void, WriteError> => {
          const current = this.server.get(workloadKey(r));
          if (current === undefined) return Effect.fail(new NotFound({ object: r }));
          if (current.metadata.resourceVersion !== resourceVersion)
            return Effect.fail(new Conflict({ object: r, detail: "stale" }));
          const { [key]: _removed, ...annotations } = current.metadata.annotations ?? {};
          this.writes.push(`remove-annotation ${workloadKey(r)} ${key}`);
          this.server.set(workloadKey(r), {
            ...current,
            metadata: { ...current.metadata, annotations, resourceVersion: String(++this.version) },
          });
          return Effect.void;
        }),
    }),
    Layer.succeed(RuntimeDetailsWriter, {
      deleteRuntimeDetails: (namespace: string, name: string, uid: string) =>
        Effect.suspend((): Effect.Effect<void, WriteError> => {
          const current = this.details.get(`${namespace}/${name}`);
          if (current === undefined)
            return Effect.fail(
              new NotFound({ object: { kind: "InstrumentedApplication", namespace, name } }),
            );
          if (current.metadata.uid !== uid)
            return Effect.fail(
              new Conflict({
                object: { kind: "InstrumentedApplication", namespace, name },
                detail: "uid",
              }),
            );
          this.writes.push(`delete ${namespace}/${name}`);
          this.details.delete(`${namespace}/${name}`);
          return Effect.void;
        }),
    }),
  );
}

const refOf = (workload: Workload): WorkloadRef => ({
  kind: workload.kind,
  namespace: workload.metadata.namespace ?? "",
  name: workload.metadata.name,
});

const deployment = (
  annotations: Record<string, string> = {},
  limits?: Record<string, string>,
): Workload => ({
  kind: "Deployment",
  metadata: { name: "cart", namespace: "shop", uid: "w-uid", resourceVersion: "1", annotations },
  spec: {
    template: {
      spec: {
        containers: [{ name: "app", ...(limits === undefined ? {} : { resources: { limits } }) }],
      },
    },
  },
});

const details = (uid = "d-uid"): InstrumentedApplication => ({
  metadata: { name: "deployment-cart", namespace: "shop", uid, resourceVersion: "5" },
  spec: { languages: [{ containerName: "app", language: "go" }] },
});

const groupReady = (ready: boolean): CollectorsGroup => ({
  metadata: { name: "data-collection", namespace: "odigos-system", uid: "g", resourceVersion: "1" },
  spec: { role: "DATA_COLLECTION" },
  status: { ready },
});

const config = (): OdigosConfiguration => ({
  metadata: { name: "odigos-config", namespace: "odigos-system", uid: "c", resourceVersion: "1" },
  spec: {
    configVersion: 1,
    odigosVersion: "v1",
    defaultSDKs: { go: { sdkType: "ebpf", sdkTier: "community" } },
  },
});

const recorder = () => {
  const recorded: string[] = [];
  const events: EventRecorder = {
    normal: (target, reason) => recorded.push(`Normal ${reason} ${target.kind} ${target.name}`),
    warning: (target, reason) => recorded.push(`Warning ${reason} ${target.kind} ${target.name}`),
  };
  return { recorded, events };
};

const setup = () => {
  const cluster = new FakeCluster();
  const { recorded, events } = recorder();
  const reconciler = new Reconciler({ state: cluster, log: pino({ level: "silent" }), events });
  const run = () =>
    Effect.runPromise(reconciler.reconcile(ref).pipe(Effect.provide(cluster.layer)));
  return { cluster, recorded, run };
};

afterEach(() => {
  vi.useRealTimers();
});

describe("Reconciler", () => {
  it("instruments an eligible workload once, then writes nothing", async () => {
    const { cluster, recorded, run } = setup();
    cluster.put(deployment({ "odigos.io/instrument": "true" }));
    cluster.details.set("shop/deployment-cart", details());
    expect(await run()).toEqual({ _tag: "Done" });
    expect(cluster.writes).toEqual(["patch Deployment/shop/cart"]);
    expect(
      cluster.server.get("Deployment/shop/cart")?.spec.template.spec.containers[0]?.resources
        ?.limits,
    ).toEqual({ [goDevice]: "1" });
    expect(recorded).toEqual(["Normal Instrumented Deployment cart"]);
    cluster.sync();
    expect(await run()).toEqual({ _tag: "Done" });
    expect(cluster.writes).toHaveLength(1);
  });

  it("waits for the watch to deliver its own write instead of writing again from a stale cache", async () => {
    const { cluster, run } = setup();
    cluster.put(deployment({ "odigos.io/instrument": "true" }));
    cluster.details.set("shop/deployment-cart", details());
    await run();
    expect(await run()).toEqual({ _tag: "AwaitingCache" });
    expect(cluster.writes).toHaveLength(1);
  });

  it("opting out removes the device and the runtime details first, the reported name on the next round", async () => {
    const { cluster, recorded, run } = setup();
    cluster.put(
      deployment(
        { "odigos.io/instrument": "false", "odigos.io/reported-name": "Cart" },
        { [goDevice]: "1", cpu: "1" },
      ),
    );
    cluster.details.set("shop/deployment-cart", details());
    expect(await run()).toEqual({ _tag: "Done" });
    expect(cluster.writes).toEqual(["patch Deployment/shop/cart", "delete shop/deployment-cart"]);
    cluster.sync();
    await run();
    expect(cluster.writes.at(-1)).toBe(
      "remove-annotation Deployment/shop/cart odigos.io/reported-name",
    );
    expect(
      cluster.server.get("Deployment/shop/cart")?.spec.template.spec.containers[0]?.resources
        ?.limits,
    ).toEqual({ cpu: "1" });
    expect(recorded).toContain("Normal Uninstrumented Deployment cart");
    expect(recorded).toContain(
      "Normal RuntimeDetailsDeleted InstrumentedApplication deployment-cart",
    );
  });

  it("does not delete runtime details twice while the cache still shows them", async () => {
    const { cluster, run } = setup();
    cluster.put(deployment({ "odigos.io/instrument": "false" }));
    const stale = details();
    cluster.details.set("shop/deployment-cart", stale);
    await run();
    expect(cluster.writes).toEqual(["delete shop/deployment-cart"]);
    // The watch has not delivered the deletion yet: the view still holds the old object.
    cluster.details.set("shop/deployment-cart", stale);
    expect(await run()).toEqual({ _tag: "Done" });
    expect(cluster.writes).toEqual(["delete shop/deployment-cart"]);
    // Runtime details re-created by the node agent (a new UID) are deleted again.
    cluster.details.set("shop/deployment-cart", details("d-uid-2"));
    await run();
    expect(cluster.writes).toEqual(["delete shop/deployment-cart", "delete shop/deployment-cart"]);
  });

  it("without a usable odigos-config adds nothing, removes nothing, and says so", async () => {
    const { cluster, recorded, run } = setup();
    cluster.config = { _tag: "Invalid", reason: "spec.defaultSDKs.go.sdkType: Expected ..." };
    cluster.put(deployment({ "odigos.io/instrument": "true" }));
    cluster.details.set("shop/deployment-cart", details());
    expect(await run()).toEqual({ _tag: "Done" });
    expect(cluster.writes).toEqual([]);
    expect(recorded).toEqual(["Warning ConfigUnavailable Deployment cart"]);
  });

  it("hands a conflict back to the queue for a retry", async () => {
    const { cluster, run } = setup();
    cluster.put(deployment({ "odigos.io/instrument": "true" }));
    cluster.details.set("shop/deployment-cart", details());
    cluster.failNextPatch = "Conflict";
    const result = await run();
    expect(result._tag).toBe("Retry");
    expect(result._tag === "Retry" && "_tag" in result.error && result.error._tag).toBe("Conflict");
    expect(await run()).toEqual({ _tag: "Done" });
  });

  it("deletes runtime details of a missing workload only after the grace period", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { cluster, recorded, run } = setup();
    cluster.details.set("shop/deployment-cart", details());
    expect(await run()).toEqual({ _tag: "RequeueAfter", delayMs: orphanGraceMs });
    expect(recorded).toEqual(["Warning WorkloadNotFound InstrumentedApplication deployment-cart"]);
    vi.setSystemTime(Date.now() + orphanGraceMs - 1);
    expect((await run())._tag).toBe("RequeueAfter");
    expect(cluster.writes).toEqual([]);
    vi.setSystemTime(Date.now() + 1);
    expect(await run()).toEqual({ _tag: "Done" });
    expect(cluster.writes).toEqual(["delete shop/deployment-cart"]);
  });

  it("keeps the runtime details of a workload that appears within the grace period", async () => {
    const { cluster, run } = setup();
    cluster.details.set("shop/deployment-cart", details());
    expect((await run())._tag).toBe("RequeueAfter");
    cluster.put(deployment({ "odigos.io/instrument": "true" }));
    await run();
    expect(cluster.details.has("shop/deployment-cart")).toBe(true);
  });
});
