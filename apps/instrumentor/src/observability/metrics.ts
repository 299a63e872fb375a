/** Prometheus metrics, named like controller-runtime's where the meaning is the same. */

import type { RollbackRecord } from "@odigos/instrumentation-rules";
import * as Context from "effect/Context";
import * as Layer from "effect/Layer";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** SPEC section 8: the rollouts the instrumentor causes, and what guards them. */
const rolloutInstruments = (registry: Registry) => {
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  return {
    rolloutsInFlight: gauge(
      "odigos_instrumentor_rollouts_in_flight",
      "Workloads rolling because of the instrumentor",
    ),
    rolloutsWaiting: gauge(
      "odigos_instrumentor_rollouts_waiting",
      "Workloads waiting for a rollout slot",
    ),
    rolloutWindow: gauge(
      "odigos_instrumentor_rollout_window",
      "Rollouts the slow start allows at once now (0: unlimited)",
    ),
    rolloutsEnded: new Counter({
      name: "odigos_instrumentor_rollouts_total",
      help: "Rollouts caused by the instrumentor that ended, by result (completed, stuck, failed)",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    rollbacks: new Counter({
      name: "odigos_instrumentor_rollbacks_total",
      help: "Instrumentations rolled back, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    breakerOpen: gauge(
      "odigos_instrumentor_circuit_breaker_open",
      "1 while the circuit breaker stops new instrumentation",
    ),
    fightsStopped: gauge(
      "odigos_instrumentor_fights",
      "Workloads whose devices another writer keeps removing: put-backs stopped",
    ),
    fightsTotal: new Counter({
      name: "odigos_instrumentor_fights_total",
      help: "Fights with another writer detected (put-backs stopped)",
      registers: [registry],
    }),
    workloads: new Gauge({
      name: "odigos_instrumentor_workloads",
      help: "Workloads by status state and reason (SPEC section 9), computed when scraped",
      labelNames: ["state", "reason"] as const,
      registers: [registry],
    }),
    dryRunWrites: new Gauge({
      name: "odigos_instrumentor_dry_run_writes",
      help: "With --dry-run: writes the instrumentor would make now, by verb",
      labelNames: ["verb"] as const,
      registers: [registry],
    }),
  };
};

const instruments = (registry: Registry) => {
  const counter = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const gauge = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  return {
    reconcileTotal: counter(
      "controller_runtime_reconcile_total",
      "Total number of reconciliations per controller and result",
      ["controller", "result"],
    ),
    reconcileErrors: counter(
      "controller_runtime_reconcile_errors_total",
      "Total number of reconciliation errors per controller",
      ["controller"],
    ),
    reconcileTime: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: gauge("workqueue_depth", "Current depth of workqueue", ["name"]),
    activeWorkers: gauge(
      "controller_runtime_active_workers",
      "Number of currently used workers per controller",
      ["controller"],
    ),
    queueAdds: counter("workqueue_adds_total", "Total number of adds handled by workqueue", [
      "name",
    ]),
    queueRetries: counter(
      "workqueue_retries_total",
      "Total number of retries handled by workqueue",
      ["name"],
    ),
    writes: counter(
      "odigos_instrumentor_writes_total",
      "Writes sent to the API server, by object kind, verb and result",
      ["kind", "verb", "result"],
    ),
    decodeErrors: counter(
      "odigos_instrumentor_decode_errors_total",
      "Objects that failed to decode, by kind",
      ["kind"],
    ),
    cacheObjects: gauge("odigos_instrumentor_cache_objects", "Objects held in each watch cache", [
      "informer",
    ]),
    watchEvents: counter(
      "odigos_instrumentor_watch_events_total",
      "Objects each informer received from the API server (list items and watch events, bookmarks excluded), before decoding",
      ["informer"],
    ),
    watchFailures: counter(
      "odigos_instrumentor_watch_failures_total",
      "Lists and watches that failed and were retried, by informer",
      ["informer"],
    ),
    isLeader: gauge("leader_election_master_status", "1 when this replica is the leader", ["name"]),
    ready: new Gauge({
      name: "odigos_instrumentor_ready",
      help: "1 while /readyz answers ok (every watch synced), 0 otherwise",
      registers: [registry],
    }),
    ...rolloutInstruments(registry),
  };
};

/** Every result and reason a counter can take, so that its series exist at 0 from the start. */
/** `RolloutEnd` of the rollouts room (above this one). */
const rolloutResults = ["completed", "stuck", "failed"] as const;
const rollbackReasons = [
  "CrashLoopBackOff",
  "RestartingContainer",
  "NotReady",
] as const satisfies ReadonlyArray<RollbackRecord["reason"]>;

export const makeMetrics = () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const beforeScrape: Array<() => void> = [];
  const made = instruments(registry);
  // A counter's series appears with its first increment, and `increase()` over a series that
  // starts at 1 is 0: an alert on the first rollback after a start would never fire.
  for (const result of rolloutResults) made.rolloutsEnded.inc({ result }, 0);
  for (const reason of rollbackReasons) made.rollbacks.inc({ reason }, 0);
  return {
    ...made,
    registry,
    /** Runs `update` before every scrape (gauges read from live state). */
    onScrape: (update: () => void) => {
      beforeScrape.push(update);
    },
    /** The Prometheus text of every metric, fresh. */
    scrape: async (): Promise<string> => {
      for (const update of beforeScrape) update();
      return registry.metrics();
    },
  };
};

export type MetricsApi = ReturnType<typeof makeMetrics>;

/** The process's metrics registry and instruments. */
export class Metrics extends Context.Tag("@odigos/instrumentor/Metrics")<Metrics, MetricsApi>() {}

/** A fresh registry (one per process; tests get their own). */
export const MetricsLive: Layer.Layer<Metrics> = Layer.sync(Metrics, makeMetrics);
