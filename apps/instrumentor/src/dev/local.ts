#!/usr/bin/env node
/**
 * `pnpm start` for people: runs the instrumentor against the configured cluster, or, when none
 * is configured, against a local control plane started here with a short demo that shows a
 * workload getting instrumented. Ctrl-C stops everything and leaves nothing behind.
 * Dev tooling: not part of the operator or its image.
 */
import {
  type ClusterCredentials,
  clusterConfigured,
  layer as kubeClientLayer,
} from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import { parseConfig } from "../config.js";
import { loadCredentials } from "../kube/credentials.js";
import { instrumentorLayer, runManager } from "../manager.js";
import { makeLogger } from "../observability/log.js";
import { demoNamespace, demoWorkload, seedDemo, waitForDevice } from "./demo-seed.js";

const say = (line: string) => process.stderr.write(`\x1b[1m▶ ${line}\x1b[0m\n`);

/** Starts a local control plane with the demo seeded; its `stop` removes everything. */
const startLocalCluster = async (odigosNamespace: string) => {
  say(
    "no cluster configured: starting a local kube-apiserver + etcd (the first run builds them from source, ~5 min)",
  );
  const { startControlPlane } = await import("@odigos/control-plane");
  const started = Date.now();
  const plane = await startControlPlane();
  say(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.server}`);
  const credentials = await Effect.runPromise(
    loadCredentials({ KUBECONFIG: plane.kubeconfigPath }),
  );
  await Effect.runPromise(
    seedDemo(odigosNamespace).pipe(
      Effect.provide(kubeClientLayer(credentials, { userAgent: "odigos-demo" })),
    ),
  );
  say(
    `created namespace ${odigosNamespace} (odigos-config, a ready data-collection CollectorsGroup) and ` +
      `namespace ${demoNamespace} with Deployment ${demoWorkload} (odigos.io/instrument=true) and its runtime details (go)`,
  );
  return { plane, credentials };
};

const printCommands = (kubeconfigPath: string, odigosNamespace: string) => {
  const k = `kubectl --kubeconfig ${kubeconfigPath}`;
  process.stderr.write(
    [
      "",
      "  Watch the device:",
      `    ${k} -n ${demoNamespace} get deployment ${demoWorkload} -o jsonpath='{.spec.template.spec.containers[0].resources.limits}{"\\n"}' -w`,
      "  Opt the workload out (the device goes, and so do its runtime details):",
      `    ${k} -n ${demoNamespace} annotate deployment ${demoWorkload} odigos.io/instrument=false --overwrite`,
      "  Collectors not ready (every device goes):",
      `    ${k} -n ${odigosNamespace} patch collectorsgroup odigos-data-collection --subresource=status --type=merge -p '{"status":{"ready":false}}'`,
      "",
      "  Ctrl-C stops the instrumentor and the control plane and removes its data.",
      "",
    ].join("\n"),
  );
};

const main = async () => {
  const argv = process.argv.slice(2);
  const parsed = parseConfig(
    argv.some((arg) => arg.includes("bind-address"))
      ? argv
      : ["--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0", ...argv],
    process.env,
  );
  if (Either.isLeft(parsed)) throw new Error(parsed.left.message);
  const config = parsed.right;
  const log = makeLogger(config.logLevel);
  const local = clusterConfigured() ? undefined : await startLocalCluster(config.odigosNamespace);
  const credentials: ClusterCredentials =
    local?.credentials ?? (await Effect.runPromise(loadCredentials()));
  if (local === undefined)
    say(`using the configured cluster (${credentials.source}: ${credentials.server})`);

  const demo = Effect.gen(function* () {
    if (local === undefined) return;
    const device = yield* waitForDevice(30_000);
    say(`deployment ${demoNamespace}/${demoWorkload} now carries ${device}`);
    printCommands(local.plane.kubeconfigPath, config.odigosNamespace);
  });
  const fiber = Effect.runFork(
    Effect.zipRight(Effect.fork(demo), runManager({ credentials: credentials.source })).pipe(
      Effect.provide(instrumentorLayer(config, credentials, log)),
    ),
  );
  const stop = () => {
    say("stopping");
    fiber.unsafeInterruptAsFork(fiber.id());
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const exit = await Effect.runPromise(Fiber.await(fiber));
  await local?.plane.stop();
  process.exit(Exit.isSuccess(exit) || Exit.isInterrupted(exit) ? 0 : 1);
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
