/**
 * What a cluster gives a pod of the chart's Deployment, set up on the shared control plane for
 * a test that runs the instrumentor as it is shipped (the bundle, the image): an Odigos namespace
 * (odigos-config, a ready data-collection group), exactly the chart's RBAC for its
 * ServiceAccount, a TokenRequest token with the cluster CA and the namespace in a folder laid out
 * like the projected service-account volume, and the container's arguments and environment as
 * the rendered Deployment sets them. Plus the standard scenario every such test converges.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiException, CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { Cluster, device } from "./odigos.js";
import {
  applyRbac,
  deleteClusterRbac,
  type RenderedManifests,
  readRenderedManifests,
  retarget,
} from "./rbac-manifests.js";
import { kubeConfigForServiceAccount } from "./service-account-client.js";
import { waitFor } from "./wait-for.js";

export interface ChartInstall {
  readonly cluster: Cluster;
  readonly odigosNamespace: string;
  readonly manifests: RenderedManifests;
  /** The pod's name (POD_NAME, HOSTNAME), as a ReplicaSet would make it. */
  readonly podName: string;
  /** `token`, `ca.crt` and `namespace`, world-readable as kubelet writes them. */
  readonly serviceAccountDir: string;
  /** The API server as in-cluster clients reach it (KUBERNETES_SERVICE_HOST / _PORT). */
  readonly apiServer: { readonly host: string; readonly port: string };
  readonly container: ChartContainer;
  /** The Lease the chart's --leader-election-id names. */
  readonly leaseName: string;
  /** A namespace name unique to this install (not created). */
  readonly namespaceName: (label: string) => string;
  /** Namespaces deleted by teardown (the scenario adds its own). */
  readonly namespaces: string[];
  readonly teardown: () => Promise<void>;
}

export interface ChartContainer {
  /** The Deployment's args, with the metrics and health ports moved to 127.0.0.1:0. */
  readonly args: readonly string[];
  /** The environment the Deployment sets (downward API values filled in). */
  readonly env: Readonly<Record<string, string>>;
  readonly runAsUser: number;
  readonly runAsGroup: number;
}

/** Creates the install in a fresh Odigos namespace; `dir` receives the service-account folder. */
export async function installChart(
  admin: KubeConfig,
  label: string,
  dir: string,
): Promise<ChartInstall> {
  const cluster = new Cluster(admin);
  const suffix = randomBytes(3).toString("hex");
  const namespaceName = (name: string) => `e2e-${label}-${name}-${suffix}`.slice(0, 63);
  const odigosNamespace = namespaceName("odigos");
  const manifests = retarget(readRenderedManifests(), odigosNamespace, suffix);
  const namespaces = [odigosNamespace];
  const teardown = async () => {
    await deleteClusterRbac(admin, manifests);
    for (const name of namespaces)
      await cluster.core.deleteNamespace({ name }).catch(() => undefined);
    // The next file's instrumentor watches cluster-wide: leave it nothing of ours to act on.
    await waitFor(
      async () =>
        !(await cluster.core.listNamespace()).items.some((ns) =>
          namespaces.includes(ns.metadata?.name ?? ""),
        ),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        description: `namespaces ${namespaces.join(", ")} deleted`,
      },
    );
  };
  try {
    // An instrumentor watches cluster-wide: start once the namespaces earlier files deleted are
    // gone, so that it has nothing of theirs to act on (and no 403 for a terminating namespace).
    await waitFor(
      async () =>
        !(await cluster.core.listNamespace()).items.some(
          (ns) => ns.status?.phase === "Terminating",
        ),
      { timeoutMs: 60_000, intervalMs: 200, description: "no namespace terminating" },
    );
    await cluster.createOdigosNamespace(odigosNamespace);
    await cluster.setCollectorsReady(odigosNamespace, "data-collection", true);
    await applyRbac(admin, manifests);
    const serviceAccount = {
      namespace: odigosNamespace,
      name: manifests.serviceAccount.metadata?.name ?? "",
    };
    const token = (await kubeConfigForServiceAccount(admin, serviceAccount)).getCurrentUser()
      ?.token;
    if (token === undefined) throw new Error("the service-account kubeconfig has no token");
    const server = admin.getCurrentCluster();
    if (server === null) throw new Error("the admin kubeconfig has no current cluster");
    const ca =
      server.caData !== undefined
        ? Buffer.from(server.caData, "base64")
        : server.caFile !== undefined
          ? readFileSync(server.caFile)
          : undefined;
    if (ca === undefined) throw new Error("the admin kubeconfig has no cluster CA");
    const url = new URL(server.server);

    const serviceAccountDir = join(dir, "serviceaccount");
    mkdirSync(serviceAccountDir, { recursive: true });
    chmodSync(serviceAccountDir, 0o755);
    for (const [name, content] of [
      ["token", token],
      ["ca.crt", ca],
      ["namespace", odigosNamespace],
    ] as const) {
      writeFileSync(join(serviceAccountDir, name), content, { mode: 0o644 });
    }

    const template = manifests.deployment.spec?.template;
    const podName = `${manifests.deployment.metadata?.name ?? "instrumentor"}-${suffix}`;
    return {
      cluster,
      odigosNamespace,
      manifests,
      podName,
      serviceAccountDir,
      apiServer: { host: url.hostname, port: url.port || "443" },
      container: chartContainer(manifests, { namespace: odigosNamespace, podName }),
      leaseName:
        template?.spec?.containers[0]?.args
          ?.find((arg) => arg.startsWith("--leader-election-id="))
          ?.slice("--leader-election-id=".length) ?? "",
      namespaceName,
      namespaces,
      teardown,
    };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** The rendered Deployment's one container, as this pod would run it. */
function chartContainer(
  manifests: RenderedManifests,
  pod: { namespace: string; podName: string },
): ChartContainer {
  const spec = manifests.deployment.spec?.template.spec;
  const containers = spec?.containers ?? [];
  const container = containers[0];
  if (container === undefined || containers.length !== 1)
    throw new Error(`the rendered Deployment has ${containers.length} containers, expected 1`);
  const fieldValues: Record<string, string> = {
    "metadata.namespace": pod.namespace,
    "metadata.name": pod.podName,
  };
  const env = Object.fromEntries(
    (container.env ?? []).map((variable) => {
      if (variable.value !== undefined) return [variable.name, variable.value];
      const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
      const value = fieldPath === undefined ? undefined : fieldValues[fieldPath];
      if (value === undefined)
        throw new Error(
          `the chart sets ${variable.name} from ${JSON.stringify(variable.valueFrom)}, which this test cannot provide`,
        );
      return [variable.name, value];
    }),
  );
  const runAsUser = container.securityContext?.runAsUser ?? spec?.securityContext?.runAsUser;
  const runAsGroup = container.securityContext?.runAsGroup ?? spec?.securityContext?.runAsGroup;
  if (runAsUser === undefined || runAsGroup === undefined)
    throw new Error("the rendered Deployment sets no runAsUser/runAsGroup");
  const args = (container.args ?? []).map((arg) =>
    /^--(metrics-bind-address|health-probe-bind-address)=/.test(arg)
      ? `${arg.slice(0, arg.indexOf("="))}=127.0.0.1:0`
      : arg,
  );
  return { args, env, runAsUser, runAsGroup };
}

/**
 * How the API server words an RBAC denial (`... is forbidden: User "..." cannot patch resource
 * "deployments" ...`), in a log line as JSON. A 403 for a namespace being deleted is not one.
 */
export const rbacDenial = /is forbidden: User \\?"[^"\\]+\\?" cannot [a-z]+ resource/;

const go = [{ containerName: "app", language: "go" as const }];

/**
 * The standard scenario: an opted-in Deployment with runtime details gets its device, an
 * opted-out one loses its runtime details; then the first is opted out: its device is removed
 * and its runtime details deleted.
 */
export async function convergeStandardScenario(install: ChartInstall): Promise<void> {
  const { cluster } = install;
  const ns = install.namespaceName("shop");
  await cluster.createNamespace(ns);
  install.namespaces.push(ns);
  await cluster.createWorkload("Deployment", ns, "shop", {
    annotations: { "odigos.io/instrument": "true" },
  });
  await cluster.putRuntimeDetails("Deployment", ns, "shop", go);
  await cluster.createWorkload("Deployment", ns, "gone", {
    annotations: { "odigos.io/instrument": "false" },
  });
  await cluster.putRuntimeDetails("Deployment", ns, "gone", go);

  const devices = (expected: Record<string, string[]>, description: string) =>
    waitFor(
      async () =>
        JSON.stringify(await cluster.devices("Deployment", ns, "shop")) ===
        JSON.stringify(expected),
      { timeoutMs: 20_000, description },
    );
  const runtimeDetailsGone = (name: string, description: string) =>
    waitFor(async () => !(await cluster.runtimeDetailsExists("Deployment", ns, name)), {
      timeoutMs: 20_000,
      description,
    });
  await devices({ app: [device("go")] }, "device on the opted-in Deployment");
  await runtimeDetailsGone("gone", "runtime details of the opted-out Deployment deleted");
  await cluster.annotateWorkload("Deployment", ns, "shop", { "odigos.io/instrument": "false" });
  await devices({}, "device removed after opt-out");
  await runtimeDetailsGone("shop", "runtime details deleted after opt-out");
}

/** The Lease's holder now, or null when it is free (or absent). */
export async function leaseHolder(
  admin: KubeConfig,
  install: ChartInstall,
): Promise<string | null> {
  try {
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: install.leaseName, namespace: install.odigosNamespace });
    return lease.spec?.holderIdentity ?? null;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return null;
    throw error;
  }
}
