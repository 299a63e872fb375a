#!/usr/bin/env node
/** Process entry: flags, credentials, the manager, and exit codes (0 on SIGTERM, 1 on failure, 2 on bad flags). */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import { parseConfig, usage } from "./config.js";
import { liveKubeClient } from "./kube/client.js";
import { loadCredentials } from "./kube/credentials.js";
import { instrumentorLayer, runManager } from "./manager.js";
import { makeLogger } from "./observability/log.js";

const main = async (): Promise<number> => {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const parsed = parseConfig(argv, process.env);
  if (Either.isLeft(parsed)) {
    process.stderr.write(`${parsed.left.message}\n\n${usage}\n`);
    return 2;
  }
  const config = parsed.right;
  const log = makeLogger(config.logLevel);
  const credentials = await Effect.runPromise(Effect.either(loadCredentials()));
  if (Either.isLeft(credentials)) {
    log.fatal({ err: credentials.left.message }, "cannot start: no usable Kubernetes credentials");
    return 1;
  }
  const { source, server } = credentials.right;
  const fiber = Effect.runFork(
    runManager({ credentials: source, server }).pipe(
      Effect.provide(instrumentorLayer(config, log, liveKubeClient(credentials.right))),
    ),
  );
  let signal: string | undefined;
  const stop = (name: string) => {
    if (signal !== undefined) return;
    signal = name;
    log.info({ signal: name }, "stopping: no new work, finishing in-flight writes");
    fiber.unsafeInterruptAsFork(fiber.id());
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  const exit = await Effect.runPromise(Fiber.await(fiber));
  if (Exit.isSuccess(exit) || Exit.isInterrupted(exit)) {
    log.info({ signal }, "stopped");
    return 0;
  }
  log.fatal({ err: Cause.pretty(exit.cause) }, "instrumentor stopped on a failure");
  return 1;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `instrumentor failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
