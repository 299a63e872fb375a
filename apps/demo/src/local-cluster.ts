/**
 * The demo's local cluster: a control plane with pods from `@odigos/control-plane` (etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler, KWOK nodes), seeded with the demo's
 * objects, and the kubectl a person reaches it with.
 */
import type { ControlPlane } from "@odigos/control-plane";
import { loadCredentials } from "@odigos/instrumentor";
import { type ClusterCredentials, layer as kubeClientLayer } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import type { Logger } from "pino";
import { say } from "./demo-log.js";
import { demoCronJob, demoNamespace, demoWorkload, seedDemo } from "./demo-seed.js";

/** The local cluster: 3 nodes that advertise the devices and 1 that does not; pods get Ready in 2-3 s. */
export const demoPods = {
  nodes: 3,
  nodesWithoutDevices: 1,
  podReadyDelayMs: 2000,
  podReadyJitterMs: 1000,
};

/** A started, seeded local cluster; `plane.stop()` removes everything. */
export interface LocalCluster {
  readonly plane: ControlPlane;
  readonly credentials: ClusterCredentials;
  /** How the guide runs kubectl: `kubectl` when one is on PATH, else the built one's path. */
  readonly kubectl: string;
  /** Which kubectl that is, for the person at the terminal (none found: undefined). */
  readonly kubectlNote: string | undefined;
  /** The node label that says whether a node advertises the devices. */
  readonly deviceNodeLabel: string;
}

type ControlPlaneTooling = typeof import("@odigos/control-plane");

/** Starts the control plane with pods (its binaries built on the first run), and says so. */
const startPlane = async (tooling: ControlPlaneTooling, log: Logger): Promise<ControlPlane> => {
  say(
    "no cluster configured: starting a local cluster with pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK nodes); the first run builds them from source, ~8 min",
  );
  const started = Date.now();
  const plane = await tooling.startControlPlane({
    binaries: await tooling.ensureBinaries({ pods: true }),
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
  return plane;
};

/** Creates the demo's objects in `plane` and says what they are; the credentials that reach it. */
const seedPlane = async (
  plane: ControlPlane,
  odigosNamespace: string,
): Promise<ClusterCredentials> => {
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
      `namespace ${demoNamespace}: Deployment ${demoWorkload} (odigos.io/instrument=true) and 4 without a marker, 2 pods each, ` +
      `and CronJob ${demoCronJob.name} (odigos.io/instrument=true, a Job every minute)`,
  );
  return credentials;
};

/** Starts a local control plane with pods, seeded with the demo; its `plane.stop()` removes everything. */
export const startLocalCluster = async (
  odigosNamespace: string,
  log: Logger,
): Promise<LocalCluster> => {
  // Loaded only when no cluster is configured: a run against a real cluster never needs it.
  const tooling = await import("@odigos/control-plane");
  const plane = await startPlane(tooling, log);
  try {
    const credentials = await seedPlane(plane, odigosNamespace);
    const onPath = tooling.findOnPath("kubectl", process.env);
    return {
      plane,
      credentials,
      kubectl: onPath !== undefined ? "kubectl" : (plane.binaries.kubectl ?? "kubectl"),
      kubectlNote: onPath ?? plane.binaries.kubectl,
      deviceNodeLabel: tooling.deviceNodeLabel,
    };
  } catch (error) {
    await plane.stop();
    throw error;
  }
};
