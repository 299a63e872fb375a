/**
 * The app's `KubeClient`: the live layer of `@odigos/kube-client` with the instrumentor's
 * User-Agent (the audit log tells its requests apart, down to the process) and field manager,
 * every write counted in `odigos_instrumentor_writes_total{kind,verb,result}`.
 */
import { InstrumentorFieldManager } from "@odigos/crd-types";
import {
  type ClusterCredentials,
  KubeClient,
  type KubeClientApi,
  layer as kubeClientLayer,
} from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { Metrics, type MetricsApi } from "../observability/metrics.js";

export const userAgent = `odigos-instrumentor/0.1.0 (${process.platform}/${process.arch}) pid/${process.pid}`;

/** Wraps every write of `client` so its outcome is counted by kind, verb and result. */
export const metered = (client: KubeClientApi, metrics: MetricsApi): KubeClientApi => {
  const count =
    (kind: string, verb: string) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.tapBoth(effect, {
        onSuccess: () => Effect.sync(() => metrics.writes.inc({ kind, verb, result: "ok" })),
        onFailure: () => Effect.sync(() => metrics.writes.inc({ kind, verb, result: "error" })),
      });
  return {
    ...client,
    create: (resource, body, options) =>
      count(resource.kind, "create")(client.create(resource, body, options)),
    replace: (resource, body, options) =>
      count(resource.kind, "update")(client.replace(resource, body, options)),
    patch: (resource, name, patch, options) =>
      count(resource.kind, "patch")(client.patch(resource, name, patch, options)),
    delete: (resource, name, options) =>
      count(resource.kind, "delete")(client.delete(resource, name, options)),
  };
};

/** The live `KubeClient` for these credentials, as the instrumentor; its sockets close with the scope. */
export const liveKubeClient = (credentials: ClusterCredentials): Layer.Layer<KubeClient> =>
  kubeClientLayer(credentials, { userAgent, fieldManager: InstrumentorFieldManager });

/** `transport` (live, or a fake API server's client in tests) with every write metered. */
export const MeteredKubeClient = (
  transport: Layer.Layer<KubeClient>,
): Layer.Layer<KubeClient, never, Metrics> =>
  Layer.effect(
    KubeClient,
    Effect.map(Effect.all([KubeClient, Metrics]), ([client, metrics]) => metered(client, metrics)),
  ).pipe(Layer.provide(transport));
