/**
 * The probe and metrics listeners, as scoped layers (listening while their scope is open). What
 * they answer is registered by the rooms that know it, as controller-runtime's manager takes
 * health checks:
 * - `/healthz` fails when any registered liveness check reports a problem (the caches: lists and
 *   watches failing for long; the controller: workers that took no work although work waits).
 *   A restart is what fixes either.
 * - `/readyz` fails while any registered readiness check does (the caches: not synced), and
 *   while none is registered.
 * - `/metrics` is Prometheus text; other routes on that listener (`/dry-run`) are registered by
 *   their owners through {@link Routes}.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import { type BindAddress, Config } from "../config.js";
import { Metrics } from "./metrics.js";

/** Named checks a probe runs: each returns a problem, or undefined when healthy. */
export interface ChecksApi {
  readonly register: (name: string, check: (now: number) => string | undefined) => void;
  readonly problems: (now: number) => ReadonlyArray<string>;
  readonly size: () => number;
}

const makeChecks = (): ChecksApi => {
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
    size: () => checks.size,
  };
};

/** What `/healthz` checks: a failing one is fixed by a restart. */
export class Liveness extends Context.Tag("@odigos/instrumentor/Liveness")<Liveness, ChecksApi>() {}

/** What `/readyz` checks: failing ones mean "do not count on me yet". */
export class Readiness extends Context.Tag("@odigos/instrumentor/Readiness")<
  Readiness,
  ChecksApi
>() {}

export const LivenessLive: Layer.Layer<Liveness> = Layer.sync(Liveness, makeChecks);
export const ReadinessLive: Layer.Layer<Readiness> = Layer.sync(Readiness, makeChecks);

/** An HTTP answer of a route. */
export type Answer = {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
};
export type Route = Effect.Effect<Answer>;
export const text = (status: number, body: string): Answer => ({
  status,
  contentType: "text/plain",
  body,
});

/** Routes served on the metrics listener beside `/metrics`, registered by their owners. */
export interface RoutesApi {
  readonly register: (path: string, route: Route) => void;
  readonly get: (path: string) => Route | undefined;
}

export class Routes extends Context.Tag("@odigos/instrumentor/Routes")<Routes, RoutesApi>() {}

export const RoutesLive: Layer.Layer<Routes> = Layer.sync(Routes, () => {
  const routes = new Map<string, Route>();
  return {
    register: (path, route) => {
      routes.set(path, route);
    },
    get: (path) => routes.get(path),
  };
});

/** Serves `routes` on `address` while the scope is open; the bound port, or undefined when disabled. */
export const serve = (
  address: BindAddress,
  routes: (path: string) => Route | undefined,
): Effect.Effect<number | undefined, Error, Scope.Scope> => {
  if (address._tag === "Disabled") return Effect.succeed(undefined);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const route = routes((req.url ?? "/").split("?")[0] ?? "/");
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

const probe = (checks: ChecksApi, none: string): Route =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    if (checks.size() === 0) return text(503, `${none}\n`);
    const problems = checks.problems(now);
    return problems.length === 0 ? text(200, "ok\n") : text(503, `${problems.join("\n")}\n`);
  });

/** `/healthz` + `/readyz`, and `/metrics` with the registered routes, while the scope is open. */
export const EndpointsLive: Layer.Layer<
  Endpoints,
  Error,
  Config | Liveness | Readiness | Routes | Metrics
> = Layer.scoped(
  Endpoints,
  Effect.gen(function* () {
    const config = yield* Config;
    const liveness = yield* Liveness;
    const readiness = yield* Readiness;
    const routes = yield* Routes;
    const metrics = yield* Metrics;
    const clock = yield* Effect.clock;
    metrics.onScrape(() => {
      const ready =
        readiness.size() > 0 && readiness.problems(clock.unsafeCurrentTimeMillis()).length === 0;
      metrics.ready.set(ready ? 1 : 0);
    });
    const healthRoutes: Record<string, Route> = {
      "/healthz": Effect.map(Clock.currentTimeMillis, (now) => {
        const problems = liveness.problems(now);
        return problems.length === 0 ? text(200, "ok\n") : text(500, `${problems.join("\n")}\n`);
      }),
      "/readyz": probe(readiness, "nothing to be ready for yet"),
    };
    const health = yield* serve(config.healthProbeBindAddress, (path) => healthRoutes[path]);
    const metricsRoute: Route = Effect.map(
      Effect.promise(() => metrics.scrape()),
      (body) => ({ status: 200, contentType: metrics.registry.contentType, body }),
    );
    const metricsPort = yield* serve(config.metricsBindAddress, (path) =>
      path === "/metrics" ? metricsRoute : routes.get(path),
    );
    return { metrics: metricsPort, health };
  }),
);
