/** Prometheus metrics, named like controller-runtime's where the meaning is the same. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const makeMetrics = () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    reconcileTotal: new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller and result",
      labelNames: ["controller", "result"] as const,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"] as const,
      registers: [registry],
    }),
    reconcileTime: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: ["name"] as const,
      registers: [registry],
    }),
    activeWorkers: new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of currently used workers per controller",
      labelNames: ["controller"] as const,
      registers: [registry],
    }),
    queueAdds: new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames: ["name"] as const,
      registers: [registry],
    }),
    queueRetries: new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: ["name"] as const,
      registers: [registry],
    }),
    writes: new Counter({
      name: "odigos_instrumentor_writes_total",
      help: "Writes sent to the API server, by object kind, verb and result",
      labelNames: ["kind", "verb", "result"] as const,
      registers: [registry],
    }),
    decodeErrors: new Counter({
      name: "odigos_instrumentor_decode_errors_total",
      help: "Objects that failed to decode, by kind",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    cacheObjects: new Gauge({
      name: "odigos_instrumentor_cache_objects",
      help: "Objects held in each watch cache",
      labelNames: ["informer"] as const,
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: "leader_election_master_status",
      help: "1 when this replica is the leader",
      labelNames: ["name"] as const,
      registers: [registry],
    }),
  };
};

export type Metrics = ReturnType<typeof makeMetrics>;
