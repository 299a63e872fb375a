import { describe, expect, it } from "@effect/vitest";
import { decodeNamespace, type Namespace } from "@odigos/crd-types";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type { Scope } from "effect/Scope";
import { Log } from "../observability/log.js";
import { capturingLogger, eventually } from "../test-support/harness.js";
import { type InformerEvent, listPageSize, makeInformer } from "./informer.js";

/** A started namespace informer over `fake`, and the events it delivered as `type name`. */
const start = (fake: FakeApiServer) =>
  Effect.gen(function* () {
    const seen: Array<string> = [];
    const informer = yield* makeInformer<Namespace>({
      name: "Namespace",
      resource: Resources.Namespace,
      decode: decodeNamespace,
      resourceVersionOf: (namespace) => namespace.metadata.resourceVersion,
      onEvent: (event: InformerEvent<Namespace>) => seen.push(`${event.type} ${event.key}`),
      retryBaseMs: 1,
    });
    yield* informer.start;
    yield* informer.synced;
    return { informer, seen };
  }).pipe(Effect.provide(Layer.merge(fake.layer, Layer.succeed(Log, capturingLogger().logger))));

const run = <A>(effect: Effect.Effect<A, never, Scope>) => effect;

describe("informer", () => {
  it.scopedLive("lists, then follows changes from the list's version", () =>
    run(
      Effect.gen(function* () {
        const fake = new FakeApiServer();
        fake.put(Resources.Namespace, { metadata: { name: "a" } });
        const { informer, seen } = yield* start(fake);
        expect(seen).toEqual(["upsert a"]);
        fake.put(Resources.Namespace, { metadata: { name: "b" } });
        fake.remove(Resources.Namespace, "a");
        yield* eventually(() => seen.length === 3, "two more events");
        expect(seen).toEqual(["upsert a", "upsert b", "delete a"]);
        expect(informer.get("b")?.metadata.name).toBe("b");
        expect(informer.stats.lists).toBe(1);
      }),
    ),
  );

  it.scopedLive(
    "resumes a dropped watch from the last version delivered: nothing missed, no re-list",
    () =>
      Effect.gen(function* () {
        const fake = new FakeApiServer();
        const { informer, seen } = yield* start(fake);
        fake.put(Resources.Namespace, { metadata: { name: "a" } });
        yield* eventually(() => seen.length === 1, "first event");
        fake.dropWatches();
        // Changes while no watch is open are replayed from the resume version.
        fake.put(Resources.Namespace, { metadata: { name: "b" } });
        yield* eventually(() => seen.length === 2, "the change made while disconnected");
        expect(seen).toEqual(["upsert a", "upsert b"]);
        expect(informer.stats.lists).toBe(1);
        expect(informer.stats.failures).toBe(1);
        expect(informer.failingSince()).toBeUndefined();
      }),
  );

  it.scopedLive(
    "re-lists on 410 and delivers what changed meanwhile as events, deletes included",
    () =>
      Effect.gen(function* () {
        const fake = new FakeApiServer();
        fake.put(Resources.Namespace, { metadata: { name: "a" } });
        fake.put(Resources.Namespace, { metadata: { name: "b" } });
        const { informer, seen } = yield* start(fake);
        fake.holdWatches();
        fake.remove(Resources.Namespace, "a");
        fake.put(Resources.Namespace, { metadata: { name: "c" } });
        // The history is compacted before the watch saw those changes: it gets 410, re-lists.
        fake.expireHistory({ failOpenWatches: true });
        fake.releaseWatches();
        yield* eventually(() => informer.stats.lists === 2 && seen.length === 4, "a re-list");
        expect(informer.stats.expired).toBe(1);
        expect(seen.slice(2).sort()).toEqual(["delete a", "upsert c"]);
        expect([...informer.values()].map((namespace) => namespace.metadata.name).sort()).toEqual([
          "b",
          "c",
        ]);
      }),
  );

  it.scopedLive("lists in pages of listPageSize and caches every page", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      const names = Array.from({ length: 2 * listPageSize + 1 }, (_, i) => `ns-${i}`);
      for (const name of names) fake.put(Resources.Namespace, { metadata: { name } });
      const { informer } = yield* start(fake);
      expect(fake.requests.filter((request) => request.verb === "list")).toHaveLength(3);
      expect([...informer.values()].map((namespace) => namespace.metadata.name).sort()).toEqual(
        [...names].sort(),
      );
    }),
  );

  it.scopedLive("keeps an object that fails to decode out of the cache, and reports it once", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      const { informer, seen } = yield* start(fake);
      fake.put(Resources.Namespace, { metadata: { name: "bad", annotations: { x: 1 } as never } });
      fake.put(Resources.Namespace, { metadata: { name: "good" } });
      yield* eventually(() => seen.includes("upsert good"), "the good one");
      expect(seen).toEqual(["invalid bad", "upsert good"]);
      expect(informer.get("bad")).toBeUndefined();
      expect(informer.invalidReason("bad")?.message).toMatch(
        /Namespace bad is malformed: metadata.annotations.x/,
      );
    }),
  );

  it.scopedLive(
    "counts every object the server sent, kept or not, decoded or not; not bookmarks nor what the selector filtered",
    () =>
      Effect.gen(function* () {
        const fake = new FakeApiServer();
        const picked = { picked: "yes" };
        fake.put(Resources.Namespace, { metadata: { name: "a", labels: picked } });
        fake.put(Resources.Namespace, { metadata: { name: "skipped", labels: picked } });
        fake.put(Resources.Namespace, { metadata: { name: "other" } });
        const seen: Array<string> = [];
        const received: Array<number> = [];
        const informer = yield* makeInformer<Namespace>({
          name: "Namespace",
          resource: Resources.Namespace,
          labelSelector: "picked=yes",
          decode: decodeNamespace,
          resourceVersionOf: (namespace) => namespace.metadata.resourceVersion,
          keep: (namespace) => namespace.metadata.name !== "skipped",
          onEvent: (event: InformerEvent<Namespace>) => seen.push(`${event.type} ${event.key}`),
          onReceived: (count) => received.push(count),
          retryBaseMs: 1,
        }).pipe(
          Effect.provide(Layer.merge(fake.layer, Layer.succeed(Log, capturingLogger().logger))),
        );
        yield* informer.start;
        yield* informer.synced;
        // The list: the two labelled namespaces, the one not kept included.
        expect(received).toEqual([2]);
        fake.put(Resources.Namespace, { metadata: { name: "other", labels: { x: "y" } } });
        fake.bookmark();
        fake.put(Resources.Namespace, {
          metadata: { name: "bad", labels: picked, annotations: { x: 1 } as never },
        });
        fake.put(Resources.Namespace, { metadata: { name: "b", labels: picked } });
        yield* eventually(() => seen.includes("upsert b"), "the last event");
        expect(seen).toEqual(["upsert a", "invalid bad", "upsert b"]);
        // The watch: the one that failed to decode and b; neither the bookmark nor "other".
        expect(received.reduce((sum, count) => sum + count, 0)).toBe(4);
      }),
  );

  it.scopedLive(
    "brings a cached object up to date by refresh when it can, decodes it whole when not; a re-list decodes only what moved",
    () =>
      Effect.gen(function* () {
        const fake = new FakeApiServer();
        fake.put(Resources.Namespace, { metadata: { name: "a" } });
        fake.put(Resources.Namespace, { metadata: { name: "b" } });
        const decoded: Array<string> = [];
        const seen: Array<string> = [];
        const informer = yield* makeInformer<Namespace>({
          name: "Namespace",
          resource: Resources.Namespace,
          decode: (raw) => {
            decoded.push((raw as Namespace).metadata.name);
            return decodeNamespace(raw);
          },
          // Carries over what a version labelled `moved: status` changed: its version only.
          refresh: (previous, raw) => {
            const { metadata } = raw as Namespace;
            return metadata.labels?.moved === "status"
              ? { ...previous, metadata: { ...previous.metadata, ...metadata } }
              : undefined;
          },
          resourceVersionOf: (namespace) => namespace.metadata.resourceVersion,
          onEvent: (event: InformerEvent<Namespace>) =>
            seen.push(
              event.type === "upsert"
                ? `upsert ${event.key} ${event.current.metadata.resourceVersion}`
                : `${event.type} ${event.key}`,
            ),
          retryBaseMs: 1,
        }).pipe(
          Effect.provide(Layer.merge(fake.layer, Layer.succeed(Log, capturingLogger().logger))),
        );
        yield* informer.start;
        yield* informer.synced;
        expect(decoded).toEqual(["a", "b"]);
        const refreshed = fake.put(Resources.Namespace, {
          metadata: { name: "a", labels: { moved: "status" } },
        });
        const rv = (object: unknown) => (object as Namespace).metadata.resourceVersion;
        yield* eventually(() => seen.length === 3, "the refreshed version");
        expect(seen[2]).toBe(`upsert a ${rv(refreshed)}`);
        expect(informer.get("a")?.metadata.resourceVersion).toBe(rv(refreshed));
        fake.put(Resources.Namespace, { metadata: { name: "a", labels: { moved: "more" } } });
        yield* eventually(() => seen.length === 4, "the decoded version");
        expect(decoded).toEqual(["a", "b", "a"]);
        // Compacted history: the re-list serves a and b again; only b, changed meanwhile, is decoded.
        fake.holdWatches();
        fake.put(Resources.Namespace, { metadata: { name: "b", labels: { x: "y" } } });
        fake.expireHistory({ failOpenWatches: true });
        fake.releaseWatches();
        yield* eventually(() => informer.stats.lists === 2 && seen.length === 5, "the re-list");
        expect(decoded).toEqual(["a", "b", "a", "b"]);
        expect(informer.get("b")?.metadata.labels).toEqual({ x: "y" });
      }),
  );

  it.scopedLive("retries a failing list with backoff and says since when it fails", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      fake.failNext({ verb: "list" }, 500, 3);
      const { informer } = yield* start(fake);
      expect(informer.stats.failures).toBe(3);
      expect(informer.hasSynced()).toBe(true);
      expect(informer.failingSince()).toBeUndefined();
      fake.failNext({ verb: "watch" }, 503, 1_000_000);
      fake.dropWatches();
      yield* eventually(() => informer.failingSince() !== undefined, "failing since");
    }),
  );
});
