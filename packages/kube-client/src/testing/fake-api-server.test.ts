import * as Chunk from "effect/Chunk";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as Stream from "effect/Stream";
import { describe, expect, it } from "vitest";
import type { KubeObject, WatchEvent } from "../client.js";
import type { KubeError } from "../errors.js";
import { Resources } from "../resource.js";
import { FakeApiServer } from "./fake-api-server.js";

const run = <A>(effect: Effect.Effect<A, KubeError>) => Effect.runPromise(effect);
const failure = <A>(effect: Effect.Effect<A, KubeError>) => Effect.runPromise(Effect.flip(effect));

const deployment = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, namespace: "shop", labels: { app: name } },
  spec: { replicas: 1, template: { spec: { containers: [{ name: "app" }] } } },
  ...extra,
});

describe("FakeApiServer", () => {
  it("stores objects with a UID, one resourceVersion counter and generation 1", async () => {
    const fake = new FakeApiServer();
    const a = await run(fake.client.create(Resources.Deployment, deployment("a")));
    const b = await run(
      fake.client.create(Resources.ConfigMap, { metadata: { name: "b", namespace: "shop" } }),
    );
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect([a.metadata.resourceVersion, b.metadata.resourceVersion]).toEqual(["1", "2"]);
    expect(a.metadata.generation).toBe(1);
    expect(a.apiVersion).toBe("apps/v1");
    expect(
      (await failure(fake.client.create(Resources.Deployment, deployment("a")))).message,
    ).toMatch(/HTTP 409 AlreadyExists/);
    expect(
      await failure(fake.client.get(Resources.Deployment, "zz", { namespace: "shop" })),
    ).toMatchObject({
      code: 404,
      reason: "NotFound",
    });
  });

  it("treats a JSON patch's resourceVersion as a precondition and bumps generation on spec changes", async () => {
    const fake = new FakeApiServer({ fieldManager: "tester" });
    const created = await run(fake.client.create(Resources.Deployment, deployment("a")));
    const patch = (version: string, value: number) =>
      fake.client.patch(
        Resources.Deployment,
        "a",
        {
          type: "json",
          operations: [
            { op: "replace", path: "/metadata/resourceVersion", value: version },
            { op: "replace", path: "/spec/replicas", value },
          ],
        },
        { namespace: "shop" },
      );
    const patched = await run(patch(created.metadata.resourceVersion ?? "", 3));
    expect(patched.metadata.generation).toBe(2);
    expect((patched.spec as { replicas: number }).replicas).toBe(3);
    expect(patched.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: "tester", operation: "Update" }),
    ]);
    expect(await failure(patch(created.metadata.resourceVersion ?? "", 4))).toMatchObject({
      code: 409,
    });
    const annotated = await run(
      fake.client.patch(
        Resources.Deployment,
        "a",
        { type: "merge", body: { metadata: { annotations: { x: "1" } } } },
        { namespace: "shop" },
      ),
    );
    expect(annotated.metadata.generation).toBe(2);
    // The main resource never changes status; the status subresource changes only status.
    await run(
      fake.client.patch(
        Resources.Deployment,
        "a",
        { type: "merge", body: { status: { replicas: 9 }, spec: { replicas: 1 } } },
        { namespace: "shop", subresource: "status" },
      ),
    );
    const current = fake.get(Resources.Deployment, "a", "shop");
    expect(current?.status).toEqual({ replicas: 9 });
    expect(current?.spec).toMatchObject({ replicas: 3 });
  });

  it("records no managedFields entry for a write that only removes (updateUnrecorded)", async () => {
    const fake = new FakeApiServer({ fieldManager: "tester" });
    await run(fake.client.create(Resources.Deployment, deployment("a", { spec: { replicas: 2 } })));
    const before = fake.get(Resources.Deployment, "a", "shop")?.metadata.managedFields;
    const removed = fake.updateUnrecorded(Resources.Deployment, "a", "shop", {
      spec: { replicas: null },
    });
    expect(removed.spec).toEqual({});
    expect(removed.metadata.generation).toBe(2);
    expect(removed.metadata.managedFields).toEqual(before);
    expect(before).toEqual([expect.objectContaining({ manager: "tester" })]);
  });

  it("answers a write asked for metadata with the written object's metadata alone", async () => {
    const fake = new FakeApiServer();
    const created = await run(
      fake.client.create(Resources.Deployment, deployment("a"), { answer: "metadata" }),
    );
    expect(created).toEqual({
      apiVersion: "meta.k8s.io/v1",
      kind: "PartialObjectMetadata",
      metadata: expect.objectContaining({ name: "a", resourceVersion: "1" }),
    });
    const patched = await run(
      fake.client.patch(
        Resources.Deployment,
        "a",
        { type: "merge", body: { spec: { replicas: 2 } } },
        { namespace: "shop", answer: "metadata" },
      ),
    );
    expect(patched.kind).toBe("PartialObjectMetadata");
    expect(patched.spec).toBeUndefined();
    expect(patched.metadata.resourceVersion).toBe(
      fake.get(Resources.Deployment, "a", "shop")?.metadata.resourceVersion,
    );
    const replaced = await run(
      fake.client.replace(
        Resources.Deployment,
        { ...deployment("a"), metadata: { name: "a", namespace: "shop" } },
        { answer: "metadata" },
      ),
    );
    expect(replaced.kind).toBe("PartialObjectMetadata");
  });

  it("deletes with UID and resourceVersion preconditions", async () => {
    const fake = new FakeApiServer();
    const created = await run(
      fake.client.create(Resources.ConfigMap, { metadata: { name: "c", namespace: "ns" } }),
    );
    expect(
      await failure(
        fake.client.delete(Resources.ConfigMap, "c", {
          namespace: "ns",
          preconditions: { uid: "other" },
        }),
      ),
    ).toMatchObject({ code: 409, detail: expect.stringMatching(/UID in precondition: other/) });
    await run(
      fake.client.delete(Resources.ConfigMap, "c", {
        namespace: "ns",
        preconditions: { uid: created.metadata.uid },
      }),
    );
    expect(fake.get(Resources.ConfigMap, "c", "ns")).toBeUndefined();
    expect(
      await failure(fake.client.delete(Resources.ConfigMap, "c", { namespace: "ns" })),
    ).toMatchObject({ code: 404 });
  });

  it("lists by namespace and selectors, page by page", async () => {
    const fake = new FakeApiServer();
    for (const name of ["a", "b", "c"])
      await run(fake.client.create(Resources.Deployment, deployment(name)));
    await run(
      fake.client.create(Resources.Deployment, {
        ...deployment("d"),
        metadata: { name: "d", namespace: "other" },
      }),
    );
    const first = await run(
      fake.client.list(Resources.Deployment, { namespace: "shop", limit: 2 }),
    );
    expect(first.items.map((item) => item.metadata.name)).toEqual(["a", "b"]);
    const second = await run(
      fake.client.list(Resources.Deployment, {
        namespace: "shop",
        limit: 2,
        continue: first.continue,
      }),
    );
    expect(second.items.map((item) => item.metadata.name)).toEqual(["c"]);
    expect(second.continue).toBeUndefined();
    const selected = await run(
      fake.client.list(Resources.Deployment, {
        labelSelector: "app!=a",
        fieldSelector: "metadata.namespace=shop",
      }),
    );
    expect(selected.items.map((item) => item.metadata.name)).toEqual(["b", "c"]);
  });

  it("replays changes after a version in order, then follows live ones, with bookmarks", async () => {
    const fake = new FakeApiServer();
    await run(fake.client.create(Resources.Deployment, deployment("a")));
    const from = fake.resourceVersion;
    await run(fake.client.create(Resources.Deployment, deployment("b")));
    const events: Array<WatchEvent> = [];
    const fiber = Effect.runFork(
      Stream.runForEach(
        fake.client.watch(Resources.Deployment, { resourceVersion: from }),
        (event) => Effect.sync(() => events.push(event)),
      ),
    );
    await waitUntil(() => fake.openWatches === 1);
    fake.update(Resources.Deployment, "b", "shop", { metadata: { labels: { v: "2" } } });
    fake.remove(Resources.Deployment, "a", "shop");
    fake.bookmark();
    await waitUntil(() => events.length === 4);
    expect(
      events.map(
        (event) =>
          `${event.type} ${event.object.metadata.name} ${event.object.metadata.resourceVersion}`,
      ),
    ).toEqual(["ADDED b 2", "MODIFIED b 3", "DELETED a 4", "BOOKMARK  4"]);
    fake.endWatches();
    await Effect.runPromise(Fiber.join(fiber));
  });

  it("injects faults: a status for the next requests, dropped watches, an expired history", async () => {
    const fake = new FakeApiServer();
    await run(fake.client.create(Resources.Deployment, deployment("a")));
    fake.failNext({ verb: "patch", resource: "deployments" }, 429, 2);
    const patch = fake.client.patch(
      Resources.Deployment,
      "a",
      { type: "merge", body: {} },
      { namespace: "shop" },
    );
    expect(await failure(patch)).toMatchObject({ code: 429, reason: "TooManyRequests" });
    expect(await failure(patch)).toMatchObject({ code: 429 });
    await run(patch);
    expect(fake.requests.filter((r) => r.verb === "patch").map((r) => r.code)).toEqual([
      429, 429, 200,
    ]);

    const open = () =>
      Effect.runPromise(
        Effect.flip(
          Stream.runDrain(
            fake.client.watch(Resources.Deployment, { resourceVersion: fake.resourceVersion }),
          ),
        ),
      );
    const dropped = open();
    await waitUntil(() => fake.openWatches === 1);
    fake.dropWatches();
    expect(await dropped).toMatchObject({ _tag: "KubeTransportError" });

    const old = "1";
    await run(fake.client.create(Resources.Deployment, deployment("b")));
    fake.expireHistory();
    expect(
      await Effect.runPromise(
        Effect.flip(
          Stream.runDrain(fake.client.watch(Resources.Deployment, { resourceVersion: old })),
        ),
      ),
    ).toMatchObject({ code: 410, reason: "Expired" });
    const failing = open();
    await waitUntil(() => fake.openWatches === 1);
    fake.expireHistory({ failOpenWatches: true });
    expect(await failing).toMatchObject({ code: 410 });
    const all = await Effect.runPromise(
      Stream.runCollect(
        Stream.take(fake.client.watch(Resources.Deployment, { resourceVersion: "0" }), 2),
      ),
    );
    expect(Chunk.toReadonlyArray(all).map((event) => event.type)).toEqual(["ADDED", "ADDED"]);
  });
});

const waitUntil = async (condition: () => boolean, timeoutMs = 2_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
