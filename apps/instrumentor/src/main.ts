#!/usr/bin/env node
/** Process entry: flags, credentials, start, and a clean exit on SIGTERM. */
import * as Either from "effect/Either";
import { parseConfig, usage } from "./config.js";
import { startInstrumentor } from "./instrumentor.js";
import { type ClusterCredentials, loadCredentials } from "./kube/config.js";
import { makeLogger } from "./logger.js";

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const parsed = parseConfig(argv, process.env);
  if (Either.isLeft(parsed)) {
    process.stderr.write(`${parsed.left.message}\n\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const config = parsed.right;
  const log = makeLogger(config.logLevel);
  let credentials: ClusterCredentials;
  try {
    credentials = await loadCredentials();
  } catch (error) {
    log.fatal({ err: (error as Error).message }, "cannot start: no Kubernetes credentials");
    process.exitCode = 1;
    return;
  }
  const running = await startInstrumentor(config, credentials, log);
  log.info(
    {
      credentials: credentials.source,
      server: credentials.server,
      odigosNamespace: config.odigosNamespace,
      leaderElect: config.leaderElect,
      metricsPort: running.ports.metrics,
      healthPort: running.ports.health,
      pid: process.pid,
    },
    "instrumentor started",
  );

  let stopping = false;
  const shutdown = async (signal: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping: no new work, finishing in-flight writes");
    await running.stop();
    log.info({ signal }, "stopped");
    process.exit(exitCode);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  void running.leadershipLost.then(() => shutdown("leadership-lost", 1));
};

main().catch((error: unknown) => {
  process.stderr.write(
    `instrumentor failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
