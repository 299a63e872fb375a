/**
 * The reconciler through the controller, on the fake API server: SPEC behaviours, the fixes
 * (orphans confirmed with the API server, a bounded wait for our own write, bad language
 * entries), and one Event per global cause.
 */
import { describe, expect, it } from "@effect/vitest";
import { InstrumentorFieldManager, OdigosResources } from "@odigos/crd-types";
import { type KubeObject, Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as TestClock from "effect/TestClock";
import { ClusterState } from "../cache/cluster-state.js";
import {
  completeRollout,
  devicesOf,
  evaluated,
  eventually,
  goDevice,
  idle,
  namespace,
  reconciles,
  reevaluated,
  runtimeDetails,
  seedOdigos,
  setCollectorsReady,
  testConfig,
  withInstrumentor,
  workload,
} from "../test-support/harness.js";
import { quietMs } from "./cause-events.js";
import { awaitOwnWriteMs, orphanGraceMs } from "./reconciler.js";

const newFake = () => new FakeApiServer({ fieldManager: InstrumentorFieldManager });

const patchesOf = (fake: FakeApiServer, name: string) =>
  fake.writes({ verb: "patch", resource: "deployments", name }).length;

const eventsAbout = (fake: FakeApiServer, kind: string) =>
  fake
    .list(Resources.Event)
    .filter(
      (event: KubeObject) => (event.regarding as { kind?: string } | undefined)?.kind === kind,
    )
    .map((event) => ({
      reason: event.reason,
      note: event.note,
      name: (event.regarding as { name: string }).name,
    }));

const seedShop = (
  fake: FakeApiServer,
  names: ReadonlyArray<string>,
  options: { ready?: boolean } = {},
) => {
  seedOdigos(fake, options);
  fake.put(Resources.Namespace, namespace("shop"));
  for (const name of names) {
    fake.put(
      Resources.Deployment,
      workload(name, { annotations: { "odigos.io/instrument": "true" } }),
    );
    fake.put(
      OdigosResources.InstrumentedApplication,
      runtimeDetails("Deployment", name, [{ containerName: "app", language: "go" }]),
    );
  }
};

describe("reconciler", () => {
  it.scoped(
    "instruments an opted-in workload with one patch, and re-evaluating a converged cluster writes nothing",
    () => {
      const fake = newFake();
      seedShop(fake, ["cart", "web"]);
      return withInstrumentor(fake, {}, (lines) =>
        Effect.gen(function* () {
          yield* eventually(
            () => devicesOf(fake, "Deployment", "cart").app?.includes(goDevice),
            "cart's device",
          );
          yield* eventually(
            () => devicesOf(fake, "Deployment", "web").app?.includes(goDevice),
            "web's device",
          );
          // Both patches came back through the watch and were decided on.
          yield* evaluated(fake, lines, "Deployment", "shop/cart");
          yield* evaluated(fake, lines, "Deployment", "shop/web");
          const writes = fake.writes().length;
          expect(patchesOf(fake, "cart")).toBe(1);
          expect(fake.writes({ verb: "patch" })[0]?.fieldManager).toBe(InstrumentorFieldManager);
          yield* reevaluated(["Deployment/shop/cart", "Deployment/shop/web"]);
          expect(fake.writes().length).toBe(writes);
        }),
      );
    },
  );

  it.scoped(
    "opting out removes the device, then deletes the runtime details and the reported name",
    () => {
      const fake = newFake();
      seedShop(fake, ["cart"]);
      return withInstrumentor(fake, {}, () =>
        Effect.gen(function* () {
          yield* eventually(
            () => devicesOf(fake, "Deployment", "cart").app?.length === 1,
            "the device",
          );
          fake.update(Resources.Deployment, "cart", "shop", {
            metadata: {
              annotations: { "odigos.io/instrument": "false", "odigos.io/reported-name": "Cart" },
            },
          });
          yield* eventually(
            () => fake.list(OdigosResources.InstrumentedApplication).length === 0,
            "runtime details deleted",
          );
          yield* eventually(
            () =>
              fake.get(Resources.Deployment, "cart", "shop")?.metadata.annotations?.[
                "odigos.io/reported-name"
              ] === undefined,
            "reported name removed",
          );
          expect(devicesOf(fake, "Deployment", "cart")).toEqual({ app: [] });
          expect(fake.writes({ verb: "delete" })).toHaveLength(1);
        }),
      );
    },
  );

  it.scoped(
    "a collectors change that moves many workloads is one Event on the group; a workload's own opt-in is its own",
    () => {
      const fake = newFake();
      seedShop(fake, ["a", "b", "c"], { ready: false });
      return withInstrumentor(fake, {}, (lines) =>
        Effect.gen(function* () {
          setCollectorsReady(fake, true);
          for (const name of ["a", "b", "c"])
            yield* eventually(
              () => devicesOf(fake, "Deployment", name).app?.length === 1,
              `${name}'s device`,
            );
          for (const name of ["a", "b", "c"])
            yield* evaluated(fake, lines, "Deployment", `shop/${name}`);
          yield* TestClock.adjust(quietMs * 2);
          yield* eventually(
            () => eventsAbout(fake, "CollectorsGroup").length === 1,
            "the group's Event",
          );
          expect(eventsAbout(fake, "CollectorsGroup")).toEqual([
            {
              reason: "WorkloadsInstrumented",
              name: "data-collection",
              note: "collectors became ready: instrumented 3 workloads (shop/a, shop/b, shop/c)",
            },
          ]);
          expect(eventsAbout(fake, "Deployment")).toEqual([]);
          fake.put(
            Resources.Deployment,
            workload("d", { annotations: { "odigos.io/instrument": "true" } }),
          );
          fake.put(
            OdigosResources.InstrumentedApplication,
            runtimeDetails("Deployment", "d", [{ containerName: "app", language: "go" }]),
          );
          yield* eventually(() => eventsAbout(fake, "Deployment").length === 1, "d's own Event");
          expect(eventsAbout(fake, "Deployment")[0]).toMatchObject({
            reason: "Instrumented",
            name: "d",
          });
        }),
      );
    },
  );

  it.scoped(
    "a mass change is one reconcile per workload: its own writes coming back are not decided on again",
    () => {
      const fake = newFake();
      const names = ["a", "b", "c"];
      seedShop(fake, names, { ready: false });
      return withInstrumentor(fake, {}, () =>
        Effect.gen(function* () {
          const state = yield* ClusterState;
          yield* idle;
          const before = yield* reconciles;
          // The writes come back only once all are written, as a lagging watch would bring them.
          fake.holdWatches("deployments");
          setCollectorsReady(fake, true);
          yield* eventually(() => fake.writes({ verb: "patch" }).length === 3, "three patches");
          yield* idle;
          fake.releaseWatches();
          for (const name of names) {
            const ref = { kind: "Deployment", namespace: "shop", name } as const;
            yield* eventually(
              () =>
                state.workload(ref)?.metadata.resourceVersion ===
                fake.get(Resources.Deployment, name, "shop")?.metadata.resourceVersion,
              `${name}'s write back in the cache`,
            );
          }
          yield* idle;
          expect((yield* reconciles) - before).toBe(names.length);
          // The bound on waiting for each write moved to its rollout's deadline with its return:
          // nothing is looked at before it (nothing about them changes), each once at it.
          yield* TestClock.adjust(awaitOwnWriteMs);
          yield* idle;
          expect((yield* reconciles) - before).toBe(names.length);
          yield* TestClock.adjust(testConfig().rolloutTimeoutMs - awaitOwnWriteMs);
          yield* idle;
          expect((yield* reconciles) - before).toBe(2 * names.length);
          // Anyone else's change is decided on as ever: b opts out and loses its device.
          fake.update(Resources.Deployment, "b", "shop", {
            metadata: { annotations: { "odigos.io/instrument": "false" } },
          });
          yield* eventually(() => devicesOf(fake, "Deployment", "b").app?.length === 0, "b bare");
        }),
      );
    },
  );

  it.scoped(
    "with a rollout budget, workloads that waited for a slot still count toward the change's one Event",
    () => {
      const fake = newFake();
      const names = ["a", "b", "c", "d"];
      seedShop(fake, names, { ready: false });
      const instrumented = () =>
        names.filter((name) => devicesOf(fake, "Deployment", name).app?.length === 1);
      return withInstrumentor(fake, { maxConcurrentRollouts: 2 }, (lines) =>
        Effect.gen(function* () {
          setCollectorsReady(fake, true);
          const done = new Set<string>();
          while (done.size < names.length) {
            yield* eventually(() => instrumented().length > done.size, "the next wave");
            // Rollouts take longer than a burst's quiet period: the waiting keep it open.
            yield* idle;
            yield* TestClock.adjust(quietMs * 2);
            for (const name of instrumented())
              if (!done.has(name)) {
                done.add(name);
                completeRollout(fake, name);
              }
          }
          // Every completion (the last wave's too) was seen before the burst may end.
          for (const name of names) yield* evaluated(fake, lines, "Deployment", `shop/${name}`);
          yield* TestClock.adjust(quietMs * 2);
          yield* eventually(
            () => eventsAbout(fake, "CollectorsGroup").length === 1,
            "the group's Event",
          );
          expect(eventsAbout(fake, "CollectorsGroup")[0]?.note).toBe(
            "collectors became ready: instrumented 4 workloads (shop/a, shop/b, shop/c, shop/d)",
          );
          expect(eventsAbout(fake, "Deployment")).toEqual([]);
        }),
      );
    },
  );

  it.scoped(
    "deletes runtime details of a missing workload only once the API server confirms it is gone",
    () => {
      const fake = newFake();
      seedShop(fake, []);
      fake.put(
        OdigosResources.InstrumentedApplication,
        runtimeDetails("Deployment", "late", [{ containerName: "app", language: "go" }]),
      );
      fake.put(
        OdigosResources.InstrumentedApplication,
        runtimeDetails("Deployment", "gone", [{ containerName: "app", language: "go" }]),
      );
      return withInstrumentor(fake, {}, (lines) =>
        Effect.gen(function* () {
          // "late" exists, but the workload watch lags behind (as after an API-server restart).
          fake.holdWatches("deployments");
          fake.put(Resources.Deployment, workload("late"));
          yield* eventually(
            () => lines.filter((line) => line.reason === "WorkloadNotFound").length === 2,
            "two reports",
          );
          yield* TestClock.adjust(orphanGraceMs);
          yield* eventually(
            () => fake.list(OdigosResources.InstrumentedApplication).length === 1,
            "gone's deleted",
          );
          yield* eventually(
            () => lines.some((line) => line.reason === "CacheLagging" && line.workload === "late"),
            "lag noticed",
          );
          expect(
            fake.list(OdigosResources.InstrumentedApplication).map((d) => d.metadata.name),
          ).toEqual(["deployment-late"]);
          expect(
            fake.requests.filter(
              (r) => r.verb === "list" && r.resource === "deployments" && r.namespace === "shop",
            ),
          ).toHaveLength(2);
          const deletion = fake.writes({ verb: "delete" });
          expect(deletion.map((r) => r.name)).toEqual(["deployment-gone"]);
          fake.releaseWatches();
        }),
      );
    },
  );

  it.scoped(
    "a workload whose own write does not come back through the watch decides again after a bound",
    () => {
      const fake = newFake();
      seedShop(fake, ["cart"], { ready: false });
      return withInstrumentor(fake, {}, (lines) =>
        Effect.gen(function* () {
          yield* idle;
          fake.holdWatches("deployments");
          setCollectorsReady(fake, true);
          yield* eventually(() => patchesOf(fake, "cart") === 1, "the patch");
          yield* idle;
          expect(lines.some((line) => line.reason === "OwnWriteNotSeen")).toBe(false);
          yield* TestClock.adjust(awaitOwnWriteMs);
          yield* eventually(
            () => lines.some((line) => line.reason === "OwnWriteNotSeen"),
            "the bound noticed",
          );
          // Deciding from the stale copy is refused by the resourceVersion precondition: no second change.
          yield* eventually(
            () => fake.requests.filter((r) => r.verb === "patch" && r.code === 409).length >= 1,
            "a 409",
          );
          fake.releaseWatches();
          yield* TestClock.adjust(60_000);
          // The patch, released, came back and was decided on again: still no second change.
          yield* evaluated(fake, lines, "Deployment", "shop/cart");
          expect(patchesOf(fake, "cart")).toBe(1);
          expect(devicesOf(fake, "Deployment", "cart")).toEqual({ app: [goDevice] });
        }),
      );
    },
  );

  it.scoped(
    "a bad language entry is reported on the runtime details and the other entries still count",
    () => {
      const fake = newFake();
      seedShop(fake, []);
      fake.put(
        Resources.Deployment,
        workload("cart", {
          annotations: { "odigos.io/instrument": "true" },
          containers: [{ name: "app" }, { name: "side" }],
        }),
      );
      fake.put(
        OdigosResources.InstrumentedApplication,
        runtimeDetails("Deployment", "cart", [
          { containerName: "app", language: "rust" },
          { containerName: "side", language: "go" },
          { language: "java" },
        ]),
      );
      return withInstrumentor(fake, {}, (lines) =>
        Effect.gen(function* () {
          yield* eventually(
            () => devicesOf(fake, "Deployment", "cart").side?.length === 1,
            "side's device",
          );
          expect(devicesOf(fake, "Deployment", "cart")).toEqual({ app: [], side: [goDevice] });
          const report = lines.find((line) => line.reason === "InvalidLanguageEntry");
          expect(report?.msg).toMatch(
            /skipped 2 language entries.*spec\.languages\[0\]\.language.*spec\.languages\[2\]\.containerName/,
          );
          yield* eventually(
            () =>
              eventsAbout(fake, "InstrumentedApplication").some(
                (e) => e.reason === "InvalidLanguageEntry",
              ),
            "an Event",
          );
        }),
      );
    },
  );

  it.scoped("a failed write is retried with backoff until it succeeds", () => {
    const fake = newFake();
    seedShop(fake, ["cart"]);
    fake.failNext({ verb: "patch", resource: "deployments" }, 500, 2);
    return withInstrumentor(fake, {}, (lines) =>
      Effect.gen(function* () {
        yield* eventually(
          () =>
            lines.filter((line) => line.msg?.toString().startsWith("reconcile failed")).length ===
            1,
          "a first failure",
        );
        yield* TestClock.adjust(1_000);
        yield* eventually(
          () =>
            lines.filter((line) => line.msg?.toString().startsWith("reconcile failed")).length ===
            2,
          "a second failure",
        );
        yield* TestClock.adjust(1_000);
        yield* eventually(
          () => devicesOf(fake, "Deployment", "cart").app?.length === 1,
          "the device at last",
        );
        expect(
          lines.find((line) => line.msg?.toString().startsWith("reconcile failed")),
        ).toMatchObject({ level: "warn", reason: "Unavailable", workload: "cart" });
      }),
    );
  });
});
