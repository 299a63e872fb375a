/**
 * The controller, as controller-runtime has one per kind: workers take workload keys from the
 * queue, reconcile one at a time per key, and act on the result (done, decide again later,
 * retry with per-key backoff), with controller-runtime's metrics. A reconcile that has started
 * runs to its end: closing the scope stops intake and waits for in-flight writes.
 */

import { workloadKey } from "@odigos/crd-types";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as Scope from "effect/Scope";
import { ClusterState } from "../cache/cluster-state.js";
import { Config } from "../config.js";
import { Liveness } from "../observability/health.js";
import { Log } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";
import { parseWorkloadKey } from "./event-handlers.js";
import { ReconcileDefect, type ReconcileResult, WorkloadReconciler } from "./reconciler.js";
import { WorkloadQueue } from "./work-queue.js";

export interface ControllerApi {
  /** Queues every cached workload and starts the workers (once). */
  readonly start: Effect.Effect<void>;
}

export class Controller extends Context.Tag("@odigos/instrumentor/Controller")<
  Controller,
  ControllerApi
>() {}

/** The queue's name in metrics, as controller-runtime names it. */
const queueName = "workload";
/** Workers that took nothing for this long while work waits are stuck: `/healthz` fails. */
export const stallBoundMs = 120_000;

/** The services a worker acts through, resolved once. */
interface Settling {
  readonly queue: typeof WorkloadQueue.Service;
  readonly metrics: typeof Metrics.Service;
  readonly log: typeof Log.Service;
}

/**
 * What a worker does with a reconcile's result, and the metrics of it. Plain code with an
 * effect only where the queue has one: it runs once per reconcile.
 */
const settle = (
  { queue, metrics, log }: Settling,
  key: string,
  result: ReconcileResult,
  startedAt: number,
): Effect.Effect<void> => {
  const ref = parseWorkloadKey(key);
  // One controller per workload kind, as controller-runtime would name them.
  const controller = ref.kind.toLowerCase();
  metrics.reconcileTime.observe({ controller }, (performance.now() - startedAt) / 1000);
  switch (result._tag) {
    case "Done":
      queue.forget(key);
      metrics.reconcileTotal.inc({ controller, result: "success" });
      return Effect.void;
    case "RequeueAfter":
      queue.forget(key);
      metrics.reconcileTotal.inc({ controller, result: "requeue_after" });
      return queue.addAfter(key, result.delayMs);
    case "Retry":
      return Effect.map(queue.addRateLimited(key), (retryInMs) => {
        metrics.reconcileTotal.inc({ controller, result: "error" });
        metrics.reconcileErrors.inc({ controller });
        metrics.queueRetries.inc({ name: queueName });
        const { error } = result;
        const reason = error._tag;
        // A conflict is optimistic concurrency doing its job: worth a debug line, not a warning.
        log[reason === "Conflict" ? "debug" : reason === "ReconcileDefect" ? "error" : "warn"](
          {
            workload: ref.name,
            namespace: ref.namespace,
            kind: ref.kind,
            reason,
            retryInMs,
            err: error.message,
          },
          `reconcile failed, retrying: ${error.message}`,
        );
      });
  }
};

const make = Effect.gen(function* () {
  const config = yield* Config;
  const queue = yield* WorkloadQueue;
  const reconciler = yield* WorkloadReconciler;
  const state = yield* ClusterState;
  const metrics = yield* Metrics;
  const log = yield* Log;
  const liveness = yield* Liveness;
  const settling: Settling = { queue, metrics, log };
  const scope = yield* Effect.scope;
  let lastTaken: number | undefined;
  let workers: ReadonlyArray<Fiber.RuntimeFiber<void>> = [];

  const work = (key: string) =>
    Effect.gen(function* () {
      lastTaken = yield* Clock.currentTimeMillis;
      const startedAt = performance.now();
      const result = yield* reconciler.reconcile(parseWorkloadKey(key)).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.succeed<ReconcileResult>({
            _tag: "Retry",
            error: new ReconcileDefect({ detail: String(defect) }),
          }),
        ),
      );
      yield* settle(settling, key, result, startedAt);
    }).pipe(
      Effect.ensuring(Effect.sync(() => queue.done(key))),
      // Started work finishes: shutdown waits for in-flight writes instead of cutting them.
      Effect.uninterruptible,
    );
  const worker = Effect.gen(function* () {
    for (;;) {
      const next = yield* queue.take;
      if (Option.isNone(next)) return;
      yield* work(next.value);
    }
  });

  metrics.onScrape(() => {
    metrics.queueDepth.set({ name: queueName }, queue.depth());
    metrics.activeWorkers.set({ controller: queueName }, queue.inFlight());
  });
  liveness.register("workers", (now) => {
    if (lastTaken === undefined || queue.depth() === 0) return undefined;
    const idleMs = now - lastTaken;
    return idleMs > stallBoundMs
      ? `workers took no work for ${Math.round(idleMs / 1000)} s while ${queue.depth()} keys wait`
      : undefined;
  });

  return {
    start: Effect.gen(function* () {
      if (workers.length > 0) return;
      lastTaken = yield* Clock.currentTimeMillis;
      for (const ref of state.allWorkloads()) queue.add(workloadKey(ref));
      workers = yield* Effect.forEach(Array.from({ length: config.maxConcurrentReconciles }), () =>
        Effect.forkIn(worker, scope),
      );
      // Added after the workers, so it runs before they would be interrupted: stop intake, let
      // every started reconcile finish its writes.
      yield* Scope.addFinalizer(scope, Effect.zipRight(queue.shutDown, Fiber.awaitAll(workers)));
      log.info({ workers: config.maxConcurrentReconciles }, "reconciling");
    }),
  } satisfies ControllerApi;
});

export const ControllerLive: Layer.Layer<
  Controller,
  never,
  Config | WorkloadQueue | WorkloadReconciler | ClusterState | Metrics | Log | Liveness
> = Layer.scoped(Controller, make);
