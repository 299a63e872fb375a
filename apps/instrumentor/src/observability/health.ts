/**
 * The probe and metrics listeners, as scoped layers (listening while their scope is open):
 * - `/healthz` fails when any registered liveness check reports a problem: a cache whose lists
 *   and watches have been failing for longer than {@link watchFailureBoundMs}, or workers that
 *   took no work for a while although work waits. A restart is what fixes either.
 * - `/readyz` is "every cache has synced".
 * - `/metrics` is Prometheus text.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import { ClusterState } from "../cache/cluster-state.js";
import { type BindAddress, Config } from "../config.js";
import { DryRun } from "../rollouts/dry-run.js";
import { Metrics } from "./metrics.js";

/** Checks `/healthz` runs: each returns a problem, or undefined when healthy. */
export interface LivenessApi {
  readonly register: (name: string, check: (now: number) => string | undefined) => void;
  readonly problems: (now: number) => ReadonlyArray<string>;
}

export class Liveness extends Context.Tag("@odigos/instrumentor/Liveness")<
  Liveness,
  LivenessApi
>() {}

export const LivenessLive: Layer.Layer<Liveness> = Layer.sync(Liveness, () => {
  const checks = new Map<string, (now: number) => string | undefined>();
  return {
    register: (name, check) => {
      checks.set(name, check);
    },
    problems: (now) =>
      [...checks].flatMap(([name, check]) => {
        const problem = check(now);
        return problem === undefined ? [] : [`${name}: ${problem}`];
      }),
  };
});

/** A cache failing to list or watch for this long makes `/healthz` fail. */
export const watchFailureBoundMs = 300_000;

type Answer = { readonly status: number; readonly contentType: string; readonly body: string };
type Route = Effect.Effect<Answer>;
const text = (status: number, body: string): Answer => ({
  status,
  contentType: "text/plain",
  body,
});

/** Serves fixed routes on `address` while the scope is open; the bound port, or undefined when disabled. */
export const serve = (
  address: BindAddress,
  routes: Readonly<Record<string, Route>>,
): Effect.Effect<number | undefined, Error, Scope.Scope> => {
  if (address._tag === "Disabled") return Effect.succeed(undefined);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const route = routes[(req.url ?? "/").split("?")[0] ?? "/"];
    if (route === undefined)
      return void res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    Effect.runPromise(route).then(
      (answer) =>
        res.writeHead(answer.status, { "content-type": answer.contentType }).end(answer.body),
      (error: unknown) =>
        res.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  };
  return Effect.acquireRelease(
    Effect.async<ReturnType<typeof createServer>, Error>((resume) => {
      const server = createServer(handle);
      server.keepAliveTimeout = 5_000;
      server.once("error", (error) => resume(Effect.fail(error)));
      server.listen(address.port, address.host, () => resume(Effect.succeed(server)));
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void));
        server.closeAllConnections();
      }),
  ).pipe(Effect.map((server) => (server.address() as AddressInfo).port));
};

/** The ports the listeners bound (useful with `:0`). */
export class Endpoints extends Context.Tag("@odigos/instrumentor/Endpoints")<
  Endpoints,
  { readonly metrics: number | undefined; readonly health: number | undefined }
>() {}

/** `/healthz` + `/readyz` and `/metrics`, listening while the layer's scope is open. */
export const EndpointsLive: Layer.Layer<
  Endpoints,
  Error,
  Config | ClusterState | Liveness | Metrics | DryRun
> = Layer.scoped(
  Endpoints,
  Effect.gen(function* () {
    const config = yield* Config;
    const state = yield* ClusterState;
    const liveness = yield* Liveness;
    const metrics = yield* Metrics;
    liveness.register("caches", (now) => {
      const failing = state.failing();
      if (failing === undefined || now - failing.since <= watchFailureBoundMs) return undefined;
      return `${failing.informer} list/watch failing for ${Math.round((now - failing.since) / 1000)} s`;
    });
    const health = yield* serve(config.healthProbeBindAddress, {
      "/healthz": Effect.map(Clock.currentTimeMillis, (now) => {
        const problems = liveness.problems(now);
        return problems.length === 0 ? text(200, "ok\n") : text(500, `${problems.join("\n")}\n`);
      }),
      "/readyz": Effect.sync(() =>
        state.hasSynced() ? text(200, "ok\n") : text(503, "caches not synced\n"),
      ),
    });
    const dryRun = yield* DryRun;
    const metricsPort = yield* serve(config.metricsBindAddress, {
      "/metrics": Effect.map(
        Effect.promise(() => metrics.scrape()),
        (body) => ({ status: 200, contentType: metrics.registry.contentType, body }),
      ),
      // With --dry-run: every write a real run would make now, as JSON.
      ...(dryRun.enabled
        ? {
            "/dry-run": Effect.sync(() => ({
              status: 200,
              contentType: "application/json",
              body: `${JSON.stringify(dryRun.report(), null, 1)}\n`,
            })),
          }
        : {}),
    });
    return { metrics: metricsPort, health };
  }),
);
