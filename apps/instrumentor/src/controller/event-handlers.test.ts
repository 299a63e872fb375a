/** Which workloads each change the caches take in queues: the event handlers, on the fake API server. */
import { describe, expect, it } from "@effect/vitest";
import { OdigosResources } from "@odigos/crd-types";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import { ClusterState, ClusterStateLive } from "../cache/cluster-state.js";
import { Config } from "../config.js";
import { EventRecorderLive } from "../observability/events.js";
import { LivenessLive, ReadinessLive } from "../observability/health.js";
import { logLayer } from "../observability/log.js";
import { MetricsLive } from "../observability/metrics.js";
import {
  capturingLogger,
  eventually,
  goDevice,
  namespace,
  odigosNamespace,
  runtimeDetails,
  seedOdigos,
  setCollectorsReady,
  testConfig,
  workload,
} from "../test-support/harness.js";
import { EventHandlers, EventHandlersLive } from "./event-handlers.js";
import { WorkloadQueue, WorkloadQueueLive } from "./work-queue.js";

const layerOver = (fake: FakeApiServer) => {
  const { logger, lines } = capturingLogger();
  const base = Layer.mergeAll(
    Layer.succeed(Config, testConfig()),
    logLayer(logger),
    MetricsLive,
    LivenessLive,
    ReadinessLive,
    fake.layer,
  );
  const layer = ClusterStateLive.pipe(
    Layer.provideMerge(EventHandlersLive),
    Layer.provideMerge(EventRecorderLive),
    Layer.provideMerge(WorkloadQueueLive),
    Layer.provideMerge(base),
  );
  return { layer, lines };
};

/** Everything queued so far, in order (takes it off the queue). */
const drain = Effect.gen(function* () {
  const queue = yield* WorkloadQueue;
  const keys: Array<string> = [];
  while (queue.depth() > 0) {
    const key = Option.getOrThrow(yield* queue.take);
    keys.push(key);
    queue.done(key);
  }
  return keys;
});

/**
 * Makes a change, waits for the caches' debug line saying they observed it (or the object at
 * `version`, when given), then drains the queue.
 */
const queuedAfter = (
  fake: FakeApiServer,
  lines: ReadonlyArray<Record<string, unknown>>,
  change: () => void,
  version?: string,
) =>
  Effect.gen(function* () {
    yield* drain;
    change();
    const target = Number(fake.resourceVersion);
    yield* eventually(
      () =>
        lines.some(
          (line) =>
            line.msg === "observed" &&
            (version === undefined
              ? Number(line.resourceVersion) >= target
              : line.resourceVersion === version),
        ),
      "the change observed",
    );
    return (yield* drain).sort();
  });

const seed = (fake: FakeApiServer) => {
  seedOdigos(fake);
  fake.put(Resources.Namespace, namespace("shop"));
  fake.put(Resources.Namespace, namespace("other"));
  fake.put(Resources.Deployment, workload("cart"));
  fake.put(Resources.StatefulSet, workload("db"));
  fake.put(Resources.Deployment, workload("api", { namespace: "other" }));
  fake.put(
    OdigosResources.InstrumentedApplication,
    runtimeDetails("Deployment", "cart", [{ containerName: "app", language: "go" }]),
  );
  fake.put(
    Resources.DaemonSet,
    workload("agent", {
      containers: [{ name: "app", resources: { limits: { [goDevice]: "1" } } }],
    }),
  );
};

describe("event handlers: what each change queues", () => {
  it.scopedLive(
    "a namespace's marker change queues the workloads in it; other namespace changes queue nothing",
    () => {
      const fake = new FakeApiServer();
      seed(fake);
      const { layer, lines } = layerOver(fake);
      return Effect.gen(function* () {
        yield* (yield* ClusterState).synced;
        const marked = yield* queuedAfter(fake, lines, () =>
          fake.update(Resources.Namespace, "shop", undefined, {
            metadata: { annotations: { "odigos.io/instrument": "true" } },
          }),
        );
        expect(marked).toEqual([
          "DaemonSet/shop/agent",
          "Deployment/shop/cart",
          "StatefulSet/shop/db",
        ]);
        const labelled = yield* queuedAfter(fake, lines, () =>
          fake.update(Resources.Namespace, "shop", undefined, {
            metadata: { labels: { team: "x" } },
          }),
        );
        expect(labelled).toEqual([]);
      }).pipe(Effect.provide(layer));
    },
  );

  it.scopedLive("caches keep only Odigos's annotations of what they hold", () => {
    const fake = new FakeApiServer();
    seed(fake);
    fake.put(
      Resources.Deployment,
      workload("applied", {
        annotations: {
          "odigos.io/instrument": "true",
          "kubectl.kubernetes.io/last-applied-configuration": "{}".padEnd(4096, " "),
        },
      }),
    );
    fake.put(Resources.Namespace, {
      metadata: { name: "applied-ns", annotations: { team: "payments" } },
    });
    const { layer } = layerOver(fake);
    return Effect.gen(function* () {
      const state = yield* ClusterState;
      yield* state.synced;
      expect(
        state.workload({ kind: "Deployment", namespace: "shop", name: "applied" })?.metadata
          .annotations,
      ).toEqual({ "odigos.io/instrument": "true" });
      expect(state.namespace("applied-ns")?.metadata.annotations).toEqual({});
    }).pipe(Effect.provide(layer));
  });

  it.scopedLive("a workload change queues it; runtime details queue their workload", () => {
    const fake = new FakeApiServer();
    seed(fake);
    const { layer, lines } = layerOver(fake);
    return Effect.gen(function* () {
      yield* (yield* ClusterState).synced;
      expect(
        yield* queuedAfter(fake, lines, () => fake.put(Resources.Deployment, workload("web"))),
      ).toEqual(["Deployment/shop/web"]);
      expect(
        yield* queuedAfter(fake, lines, () =>
          fake.put(
            OdigosResources.InstrumentedApplication,
            runtimeDetails("StatefulSet", "db", []),
          ),
        ),
      ).toEqual(["StatefulSet/shop/db"]);
    }).pipe(Effect.provide(layer));
  });

  it.scopedLive(
    "our own write coming back is not queued again, unless something else queued the workload meanwhile",
    () => {
      const fake = new FakeApiServer();
      seed(fake);
      const { layer, lines } = layerOver(fake);
      const cart = { kind: "Deployment", namespace: "shop", name: "cart" } as const;
      return Effect.gen(function* () {
        const state = yield* ClusterState;
        const handlers = yield* EventHandlers;
        yield* state.synced;
        const queue = yield* WorkloadQueue;
        // As the reconciler does: take the workload's cause, write, then announce the version
        // the API server answered; the controller then queues the bound on waiting for it.
        const write = (label: string, thenAt?: number) => (): string | undefined => {
          handlers.takeCause(cart);
          const written = fake.update(Resources.Deployment, "cart", "shop", {
            metadata: { labels: { written: label } },
          });
          expect(
            handlers.expectOwnWrite(cart, written.metadata.resourceVersion ?? "", thenAt),
          ).toBe(false);
          Effect.runSync(queue.addAfter("Deployment/shop/cart", 60_000));
          return written.metadata.resourceVersion;
        };
        expect(yield* queuedAfter(fake, lines, write("a"))).toEqual([]);
        // Nothing else is due: the bound is dropped with the write's return.
        expect(queue.delayed()).toBe(0);
        // When a look is due later (a rollout's deadline), the bound moves there.
        const dueAt = Date.now() + 300;
        expect(yield* queuedAfter(fake, lines, write("a2", dueAt))).toEqual([]);
        expect(queue.delayed()).toBe(1);
        yield* eventually(() => queue.depth() === 1, "queued when due");
        expect(Date.now()).toBeGreaterThanOrEqual(dueAt);
        // The expectation is used up: the next change of the workload is queued.
        expect(
          yield* queuedAfter(fake, lines, () =>
            fake.update(Resources.Deployment, "cart", "shop", { metadata: { labels: { x: "1" } } }),
          ),
        ).toEqual(["Deployment/shop/cart"]);
        // Its runtime details changed before our write came back: the write must be decided on.
        fake.holdWatches("deployments");
        const ours = write("b")();
        expect(
          yield* queuedAfter(fake, lines, () =>
            fake.put(
              OdigosResources.InstrumentedApplication,
              runtimeDetails("Deployment", "cart", [{ containerName: "app", language: "java" }]),
            ),
          ),
        ).toEqual(["Deployment/shop/cart"]);
        expect(yield* queuedAfter(fake, lines, () => fake.releaseWatches(), ours)).toEqual([
          "Deployment/shop/cart",
        ]);
        // The write comes back while its reconcile still runs: its run after this one is taken back,
        // unless something else queued the workload too.
        for (const alsoRuntimeDetails of [false, true]) {
          queue.add("Deployment/shop/cart");
          const running = Option.getOrThrow(yield* queue.take);
          handlers.takeCause(cart);
          const written = fake.update(Resources.Deployment, "cart", "shop", {
            metadata: { labels: { during: String(alsoRuntimeDetails) } },
          });
          const version = written.metadata.resourceVersion ?? "";
          yield* eventually(
            () => state.workload(cart)?.metadata.resourceVersion === version,
            "the write in the cache",
          );
          if (alsoRuntimeDetails)
            yield* queuedAfter(fake, lines, () =>
              fake.put(
                OdigosResources.InstrumentedApplication,
                runtimeDetails("Deployment", "cart", [
                  { containerName: "app", language: "python" },
                ]),
              ),
            );
          expect(handlers.expectOwnWrite(cart, version, undefined)).toBe(!alsoRuntimeDetails);
          queue.done(running);
          expect(yield* drain).toEqual(alsoRuntimeDetails ? ["Deployment/shop/cart"] : []);
        }
        // Another version than the one announced is someone else's write: queued.
        handlers.takeCause(cart);
        handlers.expectOwnWrite(cart, "999999", undefined);
        expect(
          yield* queuedAfter(fake, lines, () =>
            fake.update(Resources.Deployment, "cart", "shop", { metadata: { labels: { y: "1" } } }),
          ),
        ).toEqual(["Deployment/shop/cart"]);
      }).pipe(Effect.provide(layer));
    },
  );

  it.scopedLive(
    "collectors readiness queues every workload with Odigos state and only those; a change that keeps readiness queues none",
    () => {
      const fake = new FakeApiServer();
      seed(fake);
      const { layer, lines } = layerOver(fake);
      return Effect.gen(function* () {
        const state = yield* ClusterState;
        const handlers = yield* EventHandlers;
        yield* state.synced;
        for (const ref of state.allWorkloads()) handlers.takeCause(ref);
        const unready = yield* queuedAfter(fake, lines, () => setCollectorsReady(fake, false));
        // cart has runtime details, agent carries a device; db and api have neither.
        expect(unready).toEqual(["DaemonSet/shop/agent", "Deployment/shop/cart"]);
        expect(handlers.lastGlobalChange()).toMatchObject({
          description: "collectors became not ready",
          cause: { kind: "CollectorsGroup", namespace: odigosNamespace, name: "data-collection" },
          before: { collectorsReady: true },
        });
        expect(handlers.takeCause({ kind: "Deployment", namespace: "shop", name: "cart" })).toBe(
          handlers.lastGlobalChange(),
        );
        const gateway = yield* queuedAfter(fake, lines, () =>
          fake.put(OdigosResources.CollectorsGroup, {
            metadata: { name: "gateway", namespace: odigosNamespace },
            spec: { role: "GATEWAY" },
            status: { ready: true },
          }),
        );
        expect(gateway).toEqual([]);
      }).pipe(Effect.provide(layer));
    },
  );

  it.scopedLive(
    "runtime details whose name denotes no workload, and bad language entries, are reported",
    () => {
      const fake = new FakeApiServer();
      seed(fake);
      const { layer, lines } = layerOver(fake);
      return Effect.gen(function* () {
        yield* (yield* ClusterState).synced;
        fake.put(OdigosResources.InstrumentedApplication, {
          metadata: { name: "job-x", namespace: "shop" },
          spec: { languages: [] },
        });
        fake.put(
          OdigosResources.InstrumentedApplication,
          runtimeDetails("Deployment", "web", [{ containerName: "app", language: "cobol" }]),
        );
        yield* eventually(
          () =>
            lines.filter((line) => line.kind === "InstrumentedApplication" && line.level === "warn")
              .length === 2,
          "two reports",
        );
        const reports = lines.filter((line) => line.level === "warn");
        expect(reports.map((line) => [line.reason, line.name])).toEqual([
          ["KindNotSupported", "job-x"],
          ["InvalidLanguageEntry", "deployment-web"],
        ]);
        expect(reports[0]?.msg).toBe(
          "Job shop/x has runtime details but is not instrumented: Job is not a kind the instrumentor handles (Deployment, StatefulSet, DaemonSet, CronJob, Argo Rollout) (a CronJob's Jobs are instrumented through the CronJob)",
        );
      }).pipe(Effect.provide(layer));
    },
  );
});
