/**
 * The manager, as controller-runtime has one: it builds the layer graph (start order is the
 * graph's order; the scope closes it in reverse), waits for every cache to sync (that is
 * `/readyz`), waits for leadership, then starts the controller. SIGTERM interrupts it: the
 * controller stops taking work and finishes in-flight writes, the lease is handed back, the
 * caches and listeners stop, waiting Events get a moment to go out.
 */
import type { KubeClient } from "@odigos/kube-client";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type { Logger } from "pino";
import { ClusterState, ClusterStateLive } from "./cache/cluster-state.js";
import { Config, type InstrumentorConfig } from "./config.js";
import { CauseEventsLive } from "./controller/cause-events.js";
import { Controller, ControllerLive } from "./controller/controller.js";
import { EventHandlersLive } from "./controller/event-handlers.js";
import { WorkloadReconcilerLive } from "./controller/reconciler.js";
import { WorkloadStatusLive } from "./controller/status.js";
import { WorkloadQueueLive } from "./controller/work-queue.js";
import { MeteredKubeClient } from "./kube/client.js";
import { LeaderElection, LeaderElectionLive } from "./leader/lease.js";
import { EventRecorderLive } from "./observability/events.js";
import {
  Endpoints,
  EndpointsLive,
  LivenessLive,
  ReadinessLive,
  RoutesLive,
} from "./observability/health.js";
import { Log, logLayer } from "./observability/log.js";
import { MetricsLive } from "./observability/metrics.js";
import { DryRunLive } from "./rollouts/dry-run.js";
import { Rollouts, RolloutsLive } from "./rollouts/rollouts.js";

/** Leadership was lost: the process exits 1 and is restarted, as controller-runtime does. */
export class LeadershipLost extends Data.TaggedError("LeadershipLost")<Record<never, never>> {
  override get message(): string {
    return "leadership lost";
  }
}

/**
 * Everything the instrumentor is made of, in start order (each layer sees those before it), over
 * `transport`: `liveKubeClient(credentials)` in `main.ts`, a fake API server's client in tests.
 */
export const instrumentorLayer = (
  config: InstrumentorConfig,
  logger: Logger,
  transport: Layer.Layer<KubeClient>,
) => {
  const base = Layer.mergeAll(
    Layer.succeed(Config, config),
    logLayer(logger),
    MetricsLive,
    LivenessLive,
    ReadinessLive,
    RoutesLive,
  );
  const kube = Layer.provideMerge(MeteredKubeClient(transport), base);
  // The caches hand their changes to the controller's event handlers, which fill its queue.
  const caches = ClusterStateLive.pipe(
    Layer.provideMerge(EventHandlersLive),
    Layer.provideMerge(WorkloadQueueLive),
    Layer.provideMerge(EventRecorderLive),
    Layer.provideMerge(kube),
  );
  return ControllerLive.pipe(
    Layer.provideMerge(WorkloadReconcilerLive),
    Layer.provideMerge(CauseEventsLive),
    Layer.provideMerge(WorkloadStatusLive),
    Layer.provideMerge(RolloutsLive),
    Layer.provideMerge(LeaderElectionLive),
    Layer.provideMerge(EndpointsLive),
    Layer.provideMerge(DryRunLive),
    Layer.provideMerge(caches),
  );
};

/** Caches synced -> leadership -> controller; runs until interrupted or leadership is lost. */
export const runManager = (startedFields: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const log = yield* Log;
    const config = yield* Config;
    const endpoints = yield* Endpoints;
    log.info(
      {
        ...startedFields,
        odigosNamespace: config.odigosNamespace,
        leaderElect: config.leaderElect,
        dryRun: config.dryRun,
        maxConcurrentRollouts: config.maxConcurrentRollouts,
        metricsPort: endpoints.metrics,
        healthPort: endpoints.health,
        pid: process.pid,
      },
      "instrumentor started",
    );
    const state = yield* ClusterState;
    yield* state.synced;
    log.info({ caches: Object.fromEntries(state.sizes()) }, "caches synced");
    const leader = yield* LeaderElection;
    yield* leader.acquire;
    // What is in flight is read from the cluster before the first write: a new leader keeps the bound.
    yield* (yield* Rollouts).scan;
    yield* (yield* Controller).start;
    yield* leader.lost;
    return yield* new LeadershipLost();
  });
