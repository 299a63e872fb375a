#!/usr/bin/env node
/**
 * `make start` for people: runs the instrumentor against the configured cluster, or, when none
 * is configured, against a local cluster with pods started here, with a demo: five Deployments,
 * a stand-in for the Odigos node agent (namespace `demo` only), and printed steps to paste.
 * Ctrl-C (or `ODIGOS_DEMO_SECONDS`) stops everything and leaves nothing behind.
 * Dev tooling: not part of the operator or its image.
 */
import {
  type ClusterCredentials,
  clusterConfigured,
  KubeClient,
  layer as kubeClientLayer,
} from "@odigos/kube-client";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import type { Logger } from "pino";
import { type InstrumentorConfig, parseConfig } from "../config.js";
import { liveKubeClient } from "../kube/client.js";
import { loadCredentials } from "../kube/credentials.js";
import { instrumentorLayer, runManager } from "../manager.js";
import { Endpoints } from "../observability/health.js";
import { makeLogger } from "../observability/log.js";
import { guideSteps, renderGuide } from "./demo-guide.js";
import { demoLogger, parseDemoSeconds, say } from "./demo-log.js";
import { demoNamespace, demoWorkload, seedDemo, waitForInstrumented } from "./demo-seed.js";
import { runNodeAgentStandIn } from "./node-agent-stand-in.js";

/** The local cluster: 3 nodes that advertise the devices and 1 that does not; pods get Ready in 2-3 s. */
const demoPods = {
  nodes: 3,
  nodesWithoutDevices: 1,
  podReadyDelayMs: 2000,
  podReadyJitterMs: 1000,
};
/** Flags the demo gives the instrumentor before the user's own (a later flag wins). */
const demoFlags = ["--max-concurrent-rollouts=2", "--collectors-unready-grace=30s"];
/** From a demo Deployment qualifying to its runtime details, as the node agent would take to inspect it. */
const agentDelayMs = 2000;

/** Starts a local control plane with pods, seeded with the demo; its `stop` removes everything. */
const startLocalCluster = async (odigosNamespace: string, log: Logger) => {
  const { deviceNodeLabel, ensureBinaries, findOnPath, startControlPlane } = await import(
    "@odigos/control-plane"
  );
  say(
    "no cluster configured: starting a local cluster with pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK nodes); the first run builds them from source, ~8 min",
  );
  const started = Date.now();
  const plane = await startControlPlane({
    binaries: await ensureBinaries({ pods: true }),
    pods: demoPods,
  });
  log.info(
    {
      server: plane.server,
      kubeconfig: plane.kubeconfigPath,
      dataDir: plane.dataDir,
      pids: plane.pids(),
      nodes: plane.pods?.nodesWithDevices.length,
      startedInMs: Date.now() - started,
    },
    "local cluster started",
  );
  say(
    `cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.server}, ` +
      `${demoPods.nodes} nodes advertising the instrumentation devices and ${demoPods.nodesWithoutDevices} without; its data: ${plane.dataDir}`,
  );
  try {
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
        `namespace ${demoNamespace}: Deployment ${demoWorkload} (odigos.io/instrument=true) and 4 without a marker, 2 pods each`,
    );
    const onPath = findOnPath("kubectl", process.env);
    const kubectl = onPath !== undefined ? "kubectl" : (plane.binaries.kubectl ?? "kubectl");
    return {
      plane,
      credentials,
      kubectl,
      kubectlNote: onPath ?? plane.binaries.kubectl,
      deviceNodeLabel,
    };
  } catch (error) {
    await plane.stop();
    throw error;
  }
};

const metricsUrl = (config: InstrumentorConfig, port: number | undefined): string | undefined => {
  if (port === undefined || config.metricsBindAddress._tag === "Disabled") return undefined;
  const host = config.metricsBindAddress.host;
  return `http://${host === "" || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${port}/metrics`;
};

const main = async () => {
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
  const config = parsed.right;
  const log = makeLogger(config.logLevel);
  const demoLog = demoLogger("demo", config.logLevel);
  const cluster = local ? await startLocalCluster(config.odigosNamespace, demoLog) : undefined;
  const credentials: ClusterCredentials =
    cluster?.credentials ?? (await Effect.runPromise(loadCredentials()));
  if (cluster === undefined)
    say(`using the configured cluster (${credentials.source}: ${credentials.server})`);

  let stopping = false;
  const demo = Effect.gen(function* () {
    if (cluster === undefined) return;
    const endpoints = yield* Endpoints;
    say(
      `the Odigos node agent does not run here: a stand-in (part of this demo, for namespace ${demoNamespace} only) ` +
        `creates the runtime details of an opted-in Deployment of ${demoNamespace} ${agentDelayMs / 1000} s after one of its pods runs, as the agent would after inspecting it`,
    );
    const version = yield* Effect.gen(function* () {
      const instrumented = yield* waitForInstrumented(180_000);
      say(
        `${demoNamespace}/${demoWorkload} got its runtime details and the instrumentor added ${instrumented.device}: ` +
          `its pods rolled, the 2 it has now carry the device (${instrumented.pods.join(", ")})`,
      );
      return yield* Effect.flatMap(KubeClient, (client) => client.getText("/version"));
    }).pipe(Effect.provide(kubeClientLayer(credentials, { userAgent: "odigos-demo" })));
    const steps = guideSteps({
      serverVersion: String((JSON.parse(version) as { gitVersion?: unknown }).gitVersion),
      deviceNodeLabel: cluster.deviceNodeLabel,
      nodesWithDevices: demoPods.nodes,
      nodesWithoutDevices: demoPods.nodesWithoutDevices,
      kubectl: cluster.kubectl,
      kubeconfigPath: cluster.plane.kubeconfigPath,
      odigosNamespace: config.odigosNamespace,
      metricsUrl: metricsUrl(config, endpoints.metrics),
      maxConcurrentRollouts: config.maxConcurrentRollouts,
      collectorsUnreadyGraceMs: config.collectorsUnreadyGraceMs,
      agentDelayMs,
    });
    process.stderr.write(
      [
        "",
        `Try it in another terminal: paste each line as it is (kubectl: ${cluster.kubectlNote ?? "none found, install one"}).`,
        "",
        renderGuide(steps),
        "",
        "Ctrl-C stops the instrumentor, the stand-in and the cluster, and removes the cluster's data.",
        "",
      ].join("\n"),
    );
    if (seconds.right !== undefined) {
      say(`ODIGOS_DEMO_SECONDS=${seconds.right}: stopping in ${seconds.right} s`);
      yield* Effect.sleep(Duration.seconds(seconds.right));
      if (!stopping) stop();
    }
  }).pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        demoLog.error({ error: error.message }, "demo failed");
        say(`the demo failed: ${error.message} (the instrumentor keeps running; Ctrl-C stops it)`);
      }),
    ),
  );
  // The node agent's stand-in runs as long as the instrumentor: it is forked from the main fiber,
  // not from the demo's (a fiber is interrupted when the one that forked it ends, and the demo's
  // ends once the steps are printed).
  const standIn =
    cluster === undefined
      ? Effect.void
      : Effect.scoped(
          runNodeAgentStandIn({
            namespace: demoNamespace,
            odigosNamespace: config.odigosNamespace,
            delayMs: agentDelayMs,
            log: demoLogger("demo-node-agent", config.logLevel),
          }),
        ).pipe(
          Effect.provide(kubeClientLayer(credentials, { userAgent: "odigos-demo-node-agent" })),
        );
  const fiber = Effect.runFork(
    Effect.gen(function* () {
      yield* Effect.fork(standIn);
      yield* Effect.fork(demo);
      return yield* runManager({ credentials: credentials.source, demo: cluster !== undefined });
    }).pipe(Effect.provide(instrumentorLayer(config, log, liveKubeClient(credentials)))),
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
  const exit = await Effect.runPromise(Fiber.await(fiber));
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
