/**
 * The composition root: watch caches feed a keyed work queue; workers
 * reconcile one workload at a time through the libraries' services, provided
 * here by the live Kubernetes layer; health, metrics and leader election
 * around it.
 */
import { hostname } from "node:os";
import { type WorkloadRef, workloadKey, workloadOfRuntimeObject } from "@odigos/crd-types";
import * as Either from "effect/Either";
import * as ManagedRuntime from "effect/ManagedRuntime";
import type { Logger } from "pino";
import { ClusterState } from "./cache/cluster-state.js";
import type { InstrumentorConfig } from "./config.js";
import { Reconciler } from "./controller/reconciler.js";
import type { ClusterCredentials } from "./kube/config.js";
import { KubeHttp } from "./kube/http.js";
import { liveWriters } from "./kube/live-writers.js";
import { LeaderElector } from "./leader/lease.js";
import { makeEventRecorder } from "./observability/events.js";
import { close, serve } from "./observability/http-servers.js";
import { makeMetrics } from "./observability/metrics.js";
import { WorkQueue } from "./queue/work-queue.js";

/** The one work queue, named like controller-runtime names its queues. */
const queueName = "workload";

export interface RunningInstrumentor {
  /** Bound ports (useful with `:0`). */
  readonly ports: { readonly metrics: number | undefined; readonly health: number | undefined };
  /** Resolves once every cache has synced. */
  readonly synced: Promise<void>;
  /** Resolves if leadership is lost: the process should exit and be restarted. */
  readonly leadershipLost: Promise<void>;
  /** Stops intake, finishes in-flight writes, releases the lease. */
  readonly stop: () => Promise<void>;
}

export const startInstrumentor = async (
  config: InstrumentorConfig,
  credentials: ClusterCredentials,
  log: Logger,
): Promise<RunningInstrumentor> => {
  const kube = KubeHttp.from(credentials);
  const metrics = makeMetrics();
  const queue = new WorkQueue<string>();
  const refs = new Map<string, WorkloadRef>();
  const enqueue = (ref: WorkloadRef) => {
    const key = workloadKey(ref);
    refs.set(key, ref);
    metrics.queueAdds.inc({ name: queueName });
    queue.add(key);
  };
  const events = makeEventRecorder(kube, log, (result) =>
    metrics.writes.inc({ kind: "Event", verb: "create", result }),
  );

  const state = new ClusterState(
    kube,
    config.odigosNamespace,
    {
      workloadChanged: enqueue,
      invalidObject: (kind, event) => {
        metrics.decodeErrors.inc({ kind });
        const { error } = event;
        log.warn(
          {
            kind,
            namespace: error.namespace,
            name: error.name,
            reason: "Malformed",
            issues: error.issues,
          },
          error.message,
        );
        if (error.namespace !== undefined && error.name !== undefined) {
          const apiVersion = ["Deployment", "StatefulSet", "DaemonSet"].includes(kind)
            ? "apps/v1"
            : "odigos.io/v1alpha1";
          events.warning(
            { apiVersion, kind, namespace: error.namespace, name: error.name },
            "Malformed",
            "Decode",
            error.message,
          );
        }
      },
      runtimeDetailsChanged: (key, current) => {
        const [namespace = "", name = ""] = key.split("/");
        const owner = workloadOfRuntimeObject(namespace, name);
        if (Either.isRight(owner)) {
          enqueue(owner.right);
          return;
        }
        if (current === undefined) return;
        log.warn(
          { kind: "InstrumentedApplication", namespace, name, reason: "InvalidName" },
          owner.left.message,
        );
        events.warning(
          {
            apiVersion: "odigos.io/v1alpha1",
            kind: "InstrumentedApplication",
            namespace,
            name,
            uid: current.metadata.uid,
          },
          "InvalidName",
          "Decode",
          `${owner.left.message}: it names no Deployment, StatefulSet or DaemonSet and is ignored`,
        );
      },
    },
    log,
  );

  const health = await serve(config.healthProbeBindAddress, {
    "/healthz": async () => ({ status: 200, contentType: "text/plain", body: "ok\n" }),
    "/readyz": async () =>
      state.hasSynced
        ? { status: 200, contentType: "text/plain", body: "ok\n" }
        : { status: 503, contentType: "text/plain", body: "caches not synced\n" },
  });
  const metricsServer = await serve(config.metricsBindAddress, {
    "/metrics": async () => {
      metrics.queueDepth.set({ name: queueName }, queue.depth);
      metrics.activeWorkers.set({ controller: queueName }, queue.inFlight);
      for (const [informer, size] of state.sizes()) metrics.cacheObjects.set({ informer }, size);
      return {
        status: 200,
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      };
    },
  });

  const runtime = ManagedRuntime.make(
    liveWriters(kube, (kind, verb, result) => metrics.writes.inc({ kind, verb, result })),
  );
  const reconciler = new Reconciler({ state, log, events });

  const work = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const ref = refs.get(key);
      // One controller per workload kind, as controller-runtime would name them.
      const controller = ref?.kind.toLowerCase() ?? "unknown";
      const started = performance.now();
      try {
        if (ref === undefined) continue;
        const result = await runtime.runPromise(reconciler.reconcile(ref));
        switch (result._tag) {
          case "Done":
          case "AwaitingCache":
            queue.forget(key);
            metrics.reconcileTotal.inc({ controller, result: "success" });
            break;
          case "RequeueAfter":
            queue.addAfter(key, result.delayMs);
            metrics.reconcileTotal.inc({ controller, result: "requeue_after" });
            break;
          case "Retry": {
            const delayMs = queue.addRateLimited(key);
            metrics.reconcileTotal.inc({ controller, result: "error" });
            metrics.reconcileErrors.inc({ controller });
            metrics.queueRetries.inc({ name: queueName });
            const error = result.error;
            const expected = "_tag" in error && error._tag === "Conflict";
            log[expected ? "debug" : "warn"](
              {
                workload: ref.name,
                namespace: ref.namespace,
                kind: ref.kind,
                reason: "_tag" in error ? error._tag : "Error",
                retryInMs: delayMs,
                err: error.message,
              },
              `reconcile failed, retrying: ${error.message}`,
            );
            break;
          }
        }
      } catch (defect) {
        const delayMs = queue.addRateLimited(key);
        metrics.reconcileErrors.inc({ controller });
        log.error({ key, err: String(defect), retryInMs: delayMs }, "reconcile crashed, retrying");
      } finally {
        metrics.reconcileTime.observe({ controller }, (performance.now() - started) / 1000);
        queue.done(key);
      }
    }
  };

  state.start();
  const synced = state.synced.then(() => {
    log.info({ caches: Object.fromEntries(state.sizes()) }, "caches synced");
  });

  let resolveLost: () => void = () => undefined;
  const leadershipLost = new Promise<void>((resolve) => {
    resolveLost = resolve;
  });
  const elector = config.leaderElect
    ? new LeaderElector(
        kube,
        {
          namespace: config.odigosNamespace,
          name: config.leaderElectionId,
          identity: `${process.env.POD_NAME ?? hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`,
          leaseDurationSeconds: 15,
          renewDeadlineMs: 10_000,
          retryPeriodMs: 2_000,
        },
        log,
      )
    : undefined;

  const workers: Array<Promise<void>> = [];
  let stopping = false;
  void (async () => {
    await synced;
    if (elector !== undefined) {
      metrics.isLeader.set({ name: config.leaderElectionId }, 0);
      log.info(
        { lease: config.leaderElectionId, namespace: config.odigosNamespace },
        "waiting to become leader",
      );
      const leading = await elector.acquire(() => {
        metrics.isLeader.set({ name: config.leaderElectionId }, 0);
        resolveLost();
      });
      if (!leading || stopping) return;
      metrics.isLeader.set({ name: config.leaderElectionId }, 1);
    }
    for (const ref of state.allWorkloads()) enqueue(ref);
    for (let i = 0; i < config.maxConcurrentReconciles; i++) workers.push(work());
    log.info({ workers: config.maxConcurrentReconciles }, "reconciling");
  })().catch((error: unknown) => log.error({ err: String(error) }, "could not start reconciling"));

  const stop = async () => {
    stopping = true;
    await state.stop();
    await queue.shutDown();
    await Promise.all(workers);
    await elector?.release();
    await Promise.all([close(health?.server), close(metricsServer?.server)]);
    await runtime.dispose();
    kube.destroy();
  };

  return {
    ports: { metrics: metricsServer?.port, health: health?.port },
    synced,
    leadershipLost,
    stop,
  };
};
