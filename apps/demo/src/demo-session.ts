/**
 * What the demo runs beside the instrumentor on its local cluster: the stand-in node agent, and
 * the guide, printed once the opted-in Deployment is instrumented.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Endpoints, type InstrumentorConfig } from "@odigos/instrumentor";
import { type ClusterCredentials, KubeClient, layer as kubeClientLayer } from "@odigos/kube-client";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import type { Logger } from "pino";
import { guideSteps, renderGuide } from "./demo-guide.js";
import { demoLogger, say } from "./demo-log.js";
import { demoNamespace, demoWorkload, waitForInstrumented } from "./demo-seed.js";
import { demoPods, type LocalCluster } from "./local-cluster.js";
import { runNodeAgentStandIn } from "./node-agent-stand-in.js";

/** From a demo workload qualifying to its runtime details, as the node agent would take to inspect it. */
const agentDelayMs = 2000;

/** The stand-in node agent for namespace demo, with a client (and User-Agent) of its own. */
export const nodeAgentStandIn = (
  credentials: ClusterCredentials,
  config: InstrumentorConfig,
): Effect.Effect<never> =>
  Effect.scoped(
    runNodeAgentStandIn({
      namespace: demoNamespace,
      odigosNamespace: config.odigosNamespace,
      delayMs: agentDelayMs,
      log: demoLogger("demo-node-agent", config.logLevel),
    }),
  ).pipe(Effect.provide(kubeClientLayer(credentials, { userAgent: "odigos-demo-node-agent" })));

const metricsUrl = (config: InstrumentorConfig, port: number | undefined): string | undefined => {
  if (port === undefined || config.metricsBindAddress._tag === "Disabled") return undefined;
  const host = config.metricsBindAddress.host;
  return `http://${host === "" || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${port}/metrics`;
};

/**
 * What kubectl needs first on PATH to run `kubectl odigos-instrumentor` in another terminal: the
 * plugin's `bin` (its wrapper, which runs the built plugin with the `node` on PATH), and the
 * folder of the Node running this demo (the pinned one under make, which that terminal may lack).
 */
const pluginPath = (): ReadonlyArray<string> => [
  join(dirname(fileURLToPath(import.meta.resolve("@odigos/kubectl-plugin/package.json"))), "bin"),
  dirname(process.execPath),
];

/**
 * Waits until the demo Deployment is instrumented and says so; the device it got and the API
 * server's version.
 */
const waitForDemoWorkload = (credentials: ClusterCredentials) =>
  Effect.gen(function* () {
    const instrumented = yield* waitForInstrumented(180_000);
    say(
      `${demoNamespace}/${demoWorkload} got its runtime details and the instrumentor added ${instrumented.device}: ` +
        `its pods rolled, the 2 it has now carry the device (${instrumented.pods.join(", ")})`,
    );
    const version = yield* Effect.flatMap(KubeClient, (client) => client.getText("/version"));
    return {
      device: instrumented.device,
      serverVersion: String((JSON.parse(version) as { gitVersion?: unknown }).gitVersion),
    };
  }).pipe(Effect.provide(kubeClientLayer(credentials, { userAgent: "odigos-demo" })));

/** Prints the numbered steps to paste, with the figures this run has. */
const printGuide = (
  cluster: LocalCluster,
  config: InstrumentorConfig,
  seen: { readonly serverVersion: string; readonly device: string },
  metricsPort: number | undefined,
): void => {
  const steps = guideSteps({
    ...seen,
    pluginPath: pluginPath(),
    deviceNodeLabel: cluster.deviceNodeLabel,
    nodesWithDevices: demoPods.nodes,
    nodesWithoutDevices: demoPods.nodesWithoutDevices,
    kubectl: cluster.kubectl,
    kubeconfigPath: cluster.plane.kubeconfigPath,
    odigosNamespace: config.odigosNamespace,
    metricsUrl: metricsUrl(config, metricsPort),
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
};

export interface GuideOptions {
  readonly cluster: LocalCluster;
  readonly config: InstrumentorConfig;
  /** `ODIGOS_DEMO_SECONDS`: how long after the guide the demo stops by itself (unset: never). */
  readonly seconds: number | undefined;
  /** Stops the demo as Ctrl-C does. */
  readonly stop: () => void;
  readonly log: Logger;
}

/**
 * Says that the stand-in plays the node agent, waits for the demo Deployment to be instrumented,
 * then prints the guide (and, with `seconds`, stops the demo that much later). A failure is said
 * and logged; the instrumentor keeps running. Runs inside the instrumentor's layer (its ports).
 */
export const showGuideWhenReady = (options: GuideOptions): Effect.Effect<void, never, Endpoints> =>
  Effect.gen(function* () {
    const { cluster, config, seconds } = options;
    const endpoints = yield* Endpoints;
    say(
      `the Odigos node agent does not run here: a stand-in (part of this demo, for namespace ${demoNamespace} only) ` +
        `creates the runtime details of an opted-in Deployment of ${demoNamespace} ${agentDelayMs / 1000} s after one of its pods runs ` +
        `(of a CronJob: after a pod of one of its Jobs runs), as the agent would after inspecting it`,
    );
    const seen = yield* waitForDemoWorkload(cluster.credentials);
    printGuide(cluster, config, seen, endpoints.metrics);
    if (seconds !== undefined) {
      say(`ODIGOS_DEMO_SECONDS=${seconds}: stopping in ${seconds} s`);
      yield* Effect.sleep(Duration.seconds(seconds));
      options.stop();
    }
  }).pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        options.log.error({ error: error.message }, "demo failed");
        say(`the demo failed: ${error.message} (the instrumentor keeps running; Ctrl-C stops it)`);
      }),
    ),
  );
