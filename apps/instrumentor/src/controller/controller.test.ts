/** The controller with a stub reconciler, on Effect's TestClock: results, backoff, defects, shutdown, liveness. */
import { describe, expect, it } from "@effect/vitest";
import type { WorkloadRef } from "@odigos/crd-types";
import { Unavailable } from "@odigos/kube-client";
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import * as FiberId from "effect/FiberId";
import * as Layer from "effect/Layer";
import * as Scope from "effect/Scope";
import * as TestClock from "effect/TestClock";
import { ClusterState, type ClusterStateApi } from "../cache/cluster-state.js";
import { Config } from "../config.js";
import { Liveness, LivenessLive } from "../observability/health.js";
import { logLayer } from "../observability/log.js";
import { Metrics, MetricsLive } from "../observability/metrics.js";
import { capturingLogger, eventually, testConfig } from "../test-support/harness.js";
import { Controller, ControllerLive, stallBoundMs } from "./controller.js";
import { type ReconcileResult, WorkloadReconciler } from "./reconciler.js";
import { WorkloadQueue, WorkloadQueueLive } from "./work-queue.js";

const cart = "Deployment/shop/cart";
const cartRef: WorkloadRef = { kind: "Deployment", namespace: "shop", name: "cart" };

/** A controller over `reconcile`, in a scope of its own; the cluster holds only `cart`. */
const controllerWith = (reconcile: (ref: WorkloadRef) => Effect.Effect<ReconcileResult>) =>
  Effect.gen(function* () {
    const { logger, lines } = capturingLogger();
    const state = { allWorkloads: () => [cartRef] } as unknown as ClusterStateApi;
    const layer = ControllerLive.pipe(
      Layer.provideMerge(Layer.succeed(WorkloadReconciler, { reconcile })),
      Layer.provideMerge(WorkloadQueueLive),
      Layer.provideMerge(
        Layer.mergeAll(
          Layer.succeed(Config, testConfig()),
          logLayer(logger),
          MetricsLive,
          LivenessLive,
          Layer.succeed(ClusterState, state),
        ),
      ),
    );
    const scope = yield* Scope.make();
    const context = yield* Layer.buildWithScope(layer, scope);
    const get = <A, I>(tag: { readonly key: string } & import("effect/Context").Tag<I, A>) =>
      context.unsafeMap.get(tag.key) as A;
    yield* get(Controller).start;
    return {
      lines,
      queue: get(WorkloadQueue),
      metrics: get(Metrics),
      liveness: get(Liveness),
      close: Scope.close(scope, Exit.void),
    };
  });

/** Polls `probe` on the wall clock (the test's clock is TestClock) until it holds; fails after 10 s. */
const until = (probe: Effect.Effect<boolean>, what: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 10_000;
    while (!(yield* probe)) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`);
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)));
    }
  });

/** A reconciler answering `results` in turn (then Done), counting its calls. */
const scripted = (results: ReadonlyArray<ReconcileResult>) => {
  let calls = 0;
  return {
    calls: () => calls,
    reconcile: () => Effect.sync(() => results[calls++] ?? ({ _tag: "Done" } as const)),
  };
};

const metric = async (metrics: typeof Metrics.Service, name: string) =>
  (await metrics.scrape())
    .split("\n")
    .filter((line) => line.startsWith(name))
    .join("\n");

describe("controller", () => {
  it.effect(
    "queues every workload once at start, and a RequeueAfter result decides again after that delay",
    () =>
      Effect.gen(function* () {
        const script = scripted([{ _tag: "RequeueAfter", delayMs: 5_000 }]);
        const controller = yield* controllerWith(script.reconcile);
        yield* eventually(() => script.calls() === 1, "the first reconcile");
        yield* TestClock.adjust(4_999);
        expect(script.calls()).toBe(1);
        yield* TestClock.adjust(1);
        yield* eventually(() => script.calls() === 2, "the second reconcile");
        expect(
          yield* Effect.promise(() =>
            metric(controller.metrics, "controller_runtime_reconcile_total"),
          ),
        ).toMatch(
          /result="requeue_after"} 1[\s\S]*result="success"} 1|result="success"} 1[\s\S]*result="requeue_after"} 1/,
        );
        yield* controller.close;
      }),
  );

  it.effect("a failed write is retried with per-key exponential backoff, and counted", () =>
    Effect.gen(function* () {
      const failure: ReconcileResult = {
        _tag: "Retry",
        error: new Unavailable({
          object: { kind: "Deployment", namespace: "shop", name: "cart" },
          detail: "HTTP 500",
        }),
      };
      const script = scripted([failure, failure, failure]);
      const controller = yield* controllerWith(script.reconcile);
      yield* eventually(() => script.calls() === 1, "the first attempt");
      expect(controller.queue.retries(cart)).toBe(1);
      // Backoff with full jitter: 25-50 ms, then 50-100 ms, then 100-200 ms.
      yield* TestClock.adjust(50);
      yield* eventually(() => script.calls() === 2, "the second attempt");
      yield* TestClock.adjust(100);
      yield* eventually(() => script.calls() === 3, "the third attempt");
      yield* TestClock.adjust(200);
      yield* eventually(() => script.calls() === 4, "success");
      expect(controller.queue.retries(cart)).toBe(0);
      const warnings = controller.lines.filter((line) => line.reason === "Unavailable");
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toMatchObject({
        level: "warn",
        workload: "cart",
        namespace: "shop",
        kind: "Deployment",
      });
      expect(
        yield* Effect.promise(() =>
          metric(controller.metrics, "controller_runtime_reconcile_errors_total"),
        ),
      ).toContain('controller_runtime_reconcile_errors_total{controller="deployment"} 3');
      yield* controller.close;
    }),
  );

  it.effect(
    "a reconcile that dies of a bug is logged as an error and retried; the worker survives",
    () =>
      Effect.gen(function* () {
        let calls = 0;
        const controller = yield* controllerWith(() =>
          Effect.suspend(() =>
            calls++ === 0
              ? Effect.die(new Error("boom"))
              : Effect.succeed({ _tag: "Done" } as const),
          ),
        );
        yield* eventually(() => calls === 1, "the crash");
        yield* TestClock.adjust(50);
        yield* eventually(() => calls === 2, "the retry");
        expect(controller.lines.find((line) => line.reason === "ReconcileDefect")).toMatchObject({
          level: "error",
        });
        yield* controller.close;
      }),
  );

  it.effect(
    "shutdown stops intake and waits for the reconcile in flight to finish its writes",
    () =>
      Effect.gen(function* () {
        const release = yield* Deferred.make<void>();
        let finished = false;
        const controller = yield* controllerWith(() =>
          Deferred.await(release).pipe(
            Effect.tap(() =>
              Effect.sync(() => {
                finished = true;
              }),
            ),
            Effect.as({ _tag: "Done" } as const),
          ),
        );
        yield* eventually(() => controller.queue.inFlight() === 1, "a reconcile in flight");
        const closing = yield* Effect.fork(controller.close);
        // Evidence that the close got as far as it can: intake stopped, and the closing fiber
        // suspended on another fiber (the worker whose reconcile is in flight).
        yield* until(
          Effect.map(
            Fiber.status(closing),
            (status) =>
              controller.queue.isShutDown() &&
              status._tag === "Suspended" &&
              FiberId.isRuntime(status.blockingOn),
          ),
          "the close waiting on the worker",
        );
        expect(closing.unsafePoll()).toBeNull();
        expect(controller.queue.isShutDown()).toBe(true);
        yield* Deferred.succeed(release, undefined);
        yield* Fiber.join(closing);
        expect(finished).toBe(true);
      }),
  );

  it.effect("/healthz fails when work waits and no worker took any for longer than the bound", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>();
      const controller = yield* controllerWith(() =>
        Effect.as(Deferred.await(release), { _tag: "Done" } as const),
      );
      // Both workers stuck; more work arrives.
      controller.queue.add("Deployment/shop/a");
      controller.queue.add("Deployment/shop/b");
      yield* eventually(() => controller.queue.depth() === 1, "work waiting");
      expect(controller.liveness.problems(stallBoundMs)).toEqual([]);
      expect(controller.liveness.problems(stallBoundMs + 1)).toEqual([
        `workers: workers took no work for ${Math.round((stallBoundMs + 1) / 1000)} s while 1 keys wait`,
      ]);
      yield* Deferred.succeed(release, undefined);
      yield* eventually(() => controller.queue.depth() === 0, "work taken");
      expect(controller.liveness.problems(stallBoundMs * 10)).toEqual([]);
      yield* controller.close;
    }),
  );
});
