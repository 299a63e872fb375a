/**
 * SPEC section 9 from every place a person looks: the operator's `/status` and its gauge, and
 * `kubectl odigos-instrumentor` run as a user runs it (the bundle's npm package installed with
 * npm, found by kubectl on PATH, with a kubeconfig bound to nothing but the chart's status-viewer roles). The
 * instrumentor runs as a process on this machine: a Pod object that no scheduler or node
 * touches stands for it, with its metrics port and this machine's address as its pod IP, so the
 * plugin reaches its `/status` through the Lease and the API server's pods proxy as it would in
 * a cluster (the pods proxy refuses loopback addresses: the instrumentor listens on all).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { ensureBinaries } from "@odigos/control-plane";
import type { InstrumentorProcess } from "@odigos/harness";
import { installedPluginBin } from "./plugin-install.js";
import { readStatusViewerRoles } from "./rbac-manifests.js";
import { kubeConfigForServiceAccount } from "./service-account-client.js";
import { operatorStatus, type StatusEntry } from "./status.js";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/** This machine's first IPv4 address that is not loopback: what the pods proxy may dial. */
export const hostAddress = (): string => {
  for (const addresses of Object.values(networkInterfaces()))
    for (const address of addresses ?? [])
      if (address.family === "IPv4" && !address.internal) return address.address;
  throw new Error(
    "this machine has no IPv4 address but loopback: the API server's pods proxy cannot reach a local instrumentor",
  );
};

/** Instrumentor flags and environment for a process the plugin reaches as the pod `podName`. */
export const leaderProcessOptions = (podName: string) => ({
  args: ["--metrics-bind-address=0.0.0.0:0", "--leader-elect"],
  env: { POD_NAME: podName },
});

/** A row of the plugin's `status -o json`. */
export interface PluginRow extends StatusEntry {
  readonly devices: { readonly present: Readonly<Record<string, ReadonlyArray<string>>> };
  readonly pods: { readonly withDevice: number; readonly desired: number };
}

export interface PluginReport {
  readonly rows: ReadonlyArray<PluginRow>;
  readonly live: { readonly source?: string; readonly unavailable?: string };
}

/** What a person sees of one workload, in every view, once they agree. */
export interface SeenStatus {
  readonly operator: StatusEntry;
  readonly plugin: PluginRow;
  readonly explain: string;
  readonly gauge: number;
}

export interface StatusViews {
  /** The pod that stands for the instrumentor. */
  readonly podName: string;
  /** The viewer's kubeconfig file. */
  readonly kubeconfig: string;
  /** Deletes the viewer's binding to the Role of the live part (Lease, pod, pods proxy). */
  readonly revokeLive: () => Promise<void>;
  /** `kubectl odigos-instrumentor ARGS --odigos-namespace NS` as the read-only viewer. */
  readonly plugin: (...args: ReadonlyArray<string>) => Promise<{ stdout: string; stderr: string }>;
  /** `status -n NS -o json`, parsed. */
  readonly pluginStatus: (namespace: string) => Promise<PluginReport>;
  /** (Re)creates the pod for the current process (after a restart its port changes). */
  readonly expose: () => Promise<void>;
  /**
   * Waits until the operator's `/status`, the gauge and the plugin (with the leader's live facts)
   * all give this workload `state` and `reason`, then reads `explain` too.
   */
  readonly expectStatus: (
    ref: { readonly kind: string; readonly namespace: string; readonly name: string },
    want: { readonly state: string; readonly reason: string },
    timeoutMs?: number,
  ) => Promise<SeenStatus>;
  readonly teardown: () => Promise<void>;
}

const gaugeValue = (metrics: string, state: string, reason: string) => {
  const line = metrics
    .split("\n")
    .find((candidate) =>
      candidate.startsWith(`odigos_instrumentor_workloads{state="${state}",reason="${reason}"}`),
    );
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
};

/**
 * Binds a fresh service account to the chart's status-viewer roles (retargeted to this Odigos
 * namespace), exposes the instrumentor as a pod, and gives the three views.
 */
export async function statusViews(
  admin: KubeConfig,
  odigosNamespace: string,
  podName: string,
  instrumentor: () => InstrumentorProcess,
): Promise<StatusViews> {
  const suffix = randomBytes(3).toString("hex");
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const core = admin.makeApiClient(CoreV1Api);
  const kubectl = (await ensureBinaries()).kubectl ?? "kubectl";
  // The plugin as a user installs it: the bundle's npm package, installed with npm.
  const pluginBin = await installedPluginBin();
  const home = mkdtempSync(join(tmpdir(), "odigos-status-views-"));
  const kubeconfig = join(home, "kubeconfig");
  const viewer = { namespace: odigosNamespace, name: `status-viewer-${suffix}` };
  const roles = readStatusViewerRoles();
  const clusterRoleName = `${roles.clusterRole.metadata?.name}-${suffix}`;
  const roleName = roles.role.metadata?.name ?? "status-viewer";
  const subjects = [{ kind: "ServiceAccount", ...viewer }];
  await rbac.createClusterRole({
    body: { ...roles.clusterRole, metadata: { name: clusterRoleName } },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: clusterRoleName },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: clusterRoleName,
      },
      subjects,
    },
  });
  await rbac.createNamespacedRole({
    namespace: odigosNamespace,
    body: { ...roles.role, metadata: { name: roleName, namespace: odigosNamespace } },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: odigosNamespace,
    body: {
      metadata: { name: roleName, namespace: odigosNamespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
      subjects,
    },
  });
  writeFileSync(kubeconfig, (await kubeConfigForServiceAccount(admin, viewer)).exportConfig(), {
    mode: 0o600,
  });

  const expose = async () => {
    await core
      .deleteNamespacedPod({ name: podName, namespace: odigosNamespace, gracePeriodSeconds: 0 })
      .catch(() => undefined);
    await waitFor(
      async () =>
        core.readNamespacedPod({ name: podName, namespace: odigosNamespace }).then(
          () => false,
          () => true,
        ),
      { description: `old pod ${podName} gone` },
    );
    await core.createNamespacedPod({
      namespace: odigosNamespace,
      body: {
        metadata: { name: podName, labels: { "app.kubernetes.io/name": "instrumentor" } },
        spec: {
          // No scheduler has this name: the pod stays where it is, a stand-in for the process.
          schedulerName: "odigos-e2e-process-stand-in",
          containers: [
            {
              name: "instrumentor",
              image: "odigos-instrumentor:e2e",
              ports: [{ name: "metrics", containerPort: instrumentor().metricsPort }],
            },
          ],
        },
      },
    });
    const ip = hostAddress();
    await core.patchNamespacedPodStatus(
      {
        name: podName,
        namespace: odigosNamespace,
        body: { status: { phase: "Running", podIP: ip, podIPs: [{ ip }] } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
  await expose();

  const plugin = (...args: ReadonlyArray<string>) =>
    run(kubectl, ["odigos-instrumentor", ...args, "--odigos-namespace", odigosNamespace], {
      env: {
        PATH: `${pluginBin}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
        HOME: home,
        KUBECONFIG: kubeconfig,
      },
    });
  const pluginStatus = async (namespace: string) =>
    JSON.parse((await plugin("status", "-n", namespace, "-o", "json")).stdout) as PluginReport;

  const expectStatus: StatusViews["expectStatus"] = async (ref, want, timeoutMs = 60_000) => {
    const matches = (entry: StatusEntry | undefined) =>
      entry?.state === want.state && entry.reason === want.reason;
    const seen = await waitFor(
      async () => {
        const operator = (await operatorStatus(instrumentor(), ref.namespace)).find(
          (entry) => entry.kind === ref.kind && entry.name === ref.name,
        );
        if (!matches(operator)) return false;
        const report = await pluginStatus(ref.namespace);
        const row = report.rows.find((entry) => entry.kind === ref.kind && entry.name === ref.name);
        if (report.live.source === undefined || !matches(row)) return false;
        const gauge = gaugeValue(await instrumentor().metrics(), want.state, want.reason);
        if (gauge < 1) return false;
        return { operator, plugin: row, gauge } as Omit<SeenStatus, "explain">;
      },
      {
        timeoutMs,
        description: `${ref.kind} ${ref.namespace}/${ref.name} ${want.state} (${want.reason}) in /status, the gauge and the plugin`,
      },
    );
    const { stdout: explain } = await plugin(
      "explain",
      `${ref.namespace}/${ref.kind.toLowerCase()}/${ref.name}`,
    );
    return { ...seen, explain };
  };

  return {
    podName,
    kubeconfig,
    revokeLive: async () => {
      await rbac.deleteNamespacedRoleBinding({ name: roleName, namespace: odigosNamespace });
    },
    plugin,
    pluginStatus,
    expose,
    expectStatus,
    teardown: async () => {
      await rbac.deleteClusterRoleBinding({ name: clusterRoleName }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: clusterRoleName }).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
