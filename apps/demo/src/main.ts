#!/usr/bin/env node
/**
 * `make start` for people: runs the instrumentor against the configured cluster, or, when none
 * is configured, against a local cluster with pods started here, with a demo: five Deployments
 * and a CronJob, a stand-in for the Odigos node agent (namespace `demo` only), and printed steps
 * to paste.
 * Ctrl-C (or `ODIGOS_DEMO_SECONDS`) stops everything and leaves nothing behind. The instrumentor
 * runs in-process on its exported API: the same layer graph as its own `main.js`.
 */
import {
  type InstrumentorConfig,
  instrumentorLayer,
  liveKubeClient,
  loadCredentials,
  makeLogger,
  parseConfig,
  runManager,
} from "@odigos/instrumentor";
import { type ClusterCredentials, clusterConfigured } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import type { Logger } from "pino";
import { demoLogger, parseDemoSeconds, say } from "./demo-log.js";
import { nodeAgentStandIn, showGuideWhenReady } from "./demo-session.js";
import { type LocalCluster, startLocalCluster } from "./local-cluster.js";

/** Flags the demo gives the instrumentor before the user's own (a later flag wins). */
const demoFlags = ["--max-concurrent-rollouts=2", "--collectors-unready-grace=30s"];

interface Settings {
  readonly config: InstrumentorConfig;
  /** `ODIGOS_DEMO_SECONDS`, if set. */
  readonly seconds: number | undefined;
  /** No cluster configured: the demo starts its own. */
  readonly local: boolean;
}

/**
 * `ODIGOS_DEMO_SECONDS` and the instrumentor's flags: ports the system picks, the demo's flags on
 * a local cluster, then the user's. A bad one is said and the process exits with 2.
 */
const readSettings = (): Settings => {
  const seconds = parseDemoSeconds(process.env.ODIGOS_DEMO_SECONDS);
  if (Either.isLeft(seconds)) {
    process.stderr.write(`${seconds.left}\n`);
    process.exit(2);
  }
  const local = !clusterConfigured();
  const parsed = parseConfig(
    [
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      ...(local ? demoFlags : []),
      ...process.argv.slice(2),
    ],
    process.env,
  );
  if (Either.isLeft(parsed)) {
    process.stderr.write(`${parsed.left.message}\n`);
    process.exit(2);
  }
  return { config: parsed.right, seconds: seconds.right, local };
};

/**
 * Runs the instrumentor until SIGINT or SIGTERM (or `ODIGOS_DEMO_SECONDS`), with the stand-in and
 * the guide beside it on a local cluster; how it ended.
 */
const runUntilStopped = (
  { config, seconds }: Settings,
  credentials: ClusterCredentials,
  cluster: LocalCluster | undefined,
  demoLog: Logger,
): Promise<Exit.Exit<unknown, unknown>> => {
  let stopping = false;
  // The node agent's stand-in runs as long as the instrumentor: it is forked from the main fiber,
  // not from the guide's (a fiber is interrupted when the one that forked it ends, and the
  // guide's ends once the steps are printed).
  const fiber = Effect.runFork(
    Effect.gen(function* () {
      if (cluster !== undefined) {
        yield* Effect.fork(nodeAgentStandIn(credentials, config));
        const stopOnce = () => {
          if (!stopping) stop();
        };
        yield* Effect.fork(
          showGuideWhenReady({ cluster, config, seconds, stop: stopOnce, log: demoLog }),
        );
      }
      return yield* runManager({ credentials: credentials.source, demo: cluster !== undefined });
    }).pipe(
      Effect.provide(
        instrumentorLayer(config, makeLogger(config.logLevel), liveKubeClient(credentials)),
      ),
    ),
  );
  function stop() {
    if (stopping) {
      // A second Ctrl-C: leave now; the cluster's watchdogs and janitor still remove everything.
      demoLog.warn({ reason: "SecondSignal" }, "second signal: exiting at once");
      say("second signal: exiting at once (the cluster's processes and data go with this process)");
      process.exit(130);
    }
    stopping = true;
    say("stopping");
    fiber.unsafeInterruptAsFork(fiber.id());
  }
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return Effect.runPromise(Fiber.await(fiber));
};

const main = async () => {
  const settings = readSettings();
  const demoLog = demoLogger("demo", settings.config.logLevel);
  const cluster = settings.local
    ? await startLocalCluster(settings.config.odigosNamespace, demoLog)
    : undefined;
  const credentials = cluster?.credentials ?? (await Effect.runPromise(loadCredentials()));
  if (cluster === undefined)
    say(`using the configured cluster (${credentials.source}: ${credentials.server})`);
  const exit = await runUntilStopped(settings, credentials, cluster, demoLog);
  await cluster?.plane.stop();
  const ok = Exit.isSuccess(exit) || Exit.isInterrupted(exit);
  demoLog.info({ ok, removed: cluster?.plane.dataDir }, "stopped");
  if (cluster !== undefined) say(`stopped; removed ${cluster.plane.dataDir}`);
  process.exit(ok ? 0 : 1);
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
