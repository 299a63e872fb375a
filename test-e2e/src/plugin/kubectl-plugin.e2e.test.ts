// SPEC section 9 as a person runs it: `kubectl odigos-instrumentor` (the built plugin, found by kubectl on PATH)
// with a kubeconfig whose RBAC only reads, agreeing with the running operator's `/status`.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { ensureBinaries } from "@odigos/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig } from "../support/cluster.js";
import { type Scenario, startScenario } from "../support/scenario.js";
import { kubeConfigForServiceAccount } from "../support/service-account-client.js";
import { operatorStatus, seedStatusCases } from "../support/status.js";
import { waitFor } from "../support/wait-for.js";

const run = promisify(execFile);
const pluginBin = fileURLToPath(new URL("../../../apps/kubectl-plugin/bin/", import.meta.url));
/** What the plugin reads, and nothing else: its README's list. */
const readOnlyRules = [
  {
    apiGroups: ["apps"],
    resources: ["deployments", "statefulsets", "daemonsets"],
    verbs: ["list"],
  },
  { apiGroups: [""], resources: ["namespaces"], verbs: ["list"] },
  {
    apiGroups: ["odigos.io"],
    resources: ["instrumentedapplications", "collectorsgroups", "odigosconfigurations"],
    verbs: ["list"],
  },
];

interface Row {
  readonly name: string;
  readonly state: string;
  readonly reason: string;
}

describe("kubectl odigos-instrumentor, read-only (SPEC 9)", () => {
  let s: Scenario;
  let ns: string;
  let kubectl: string;
  const home = mkdtempSync(join(tmpdir(), "odigos-plugin-"));
  const kubeconfig = join(home, "kubeconfig");
  const role = `odigos-plugin-viewer-${Date.now()}`;

  beforeAll(async () => {
    s = await startScenario("plugin");
    ns = await s.namespace("shop", {});
    kubectl = (await ensureBinaries()).kubectl ?? "kubectl";
    const admin = adminKubeConfig();
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: role }, rules: readOnlyRules } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: role },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ kind: "ServiceAccount", name: "viewer", namespace: ns }],
      },
    });
    const viewer = await kubeConfigForServiceAccount(admin, { namespace: ns, name: "viewer" });
    writeFileSync(kubeconfig, viewer.exportConfig(), { mode: 0o600 });
  });
  afterAll(async () => {
    const rbac = adminKubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteClusterRoleBinding({ name: role }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: role }).catch(() => undefined);
    await s.teardown();
    rmSync(home, { recursive: true, force: true });
  });

  /** `kubectl odigos-instrumentor ARGS` as the viewer, kubectl finding the plugin on PATH. */
  const plugin = async (...args: ReadonlyArray<string>) =>
    run(kubectl, ["odigos-instrumentor", ...args, "--odigos-namespace", s.odigosNamespace], {
      env: {
        PATH: `${pluginBin}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
        HOME: home,
        KUBECONFIG: kubeconfig,
      },
    });

  it("status and explain say what the operator says, with a kubeconfig that can only list", async () => {
    const { stdout: canPatch } = await run(
      kubectl,
      ["auth", "can-i", "patch", "deployments", "-n", ns],
      { env: { HOME: home, KUBECONFIG: kubeconfig } },
    ).catch((error: { stdout: string }) => error);
    expect(canPatch.trim()).toBe("no");

    await seedStatusCases(s, ns, { instrumented: "cart", noDetails: "web", optedOut: "legacy" });

    const rows = await waitFor(
      async () => {
        const { stdout } = await plugin("status", "-n", ns, "-o", "json");
        const report = JSON.parse(stdout) as { rows: ReadonlyArray<Row> };
        return report.rows.length === 3 ? report.rows : false;
      },
      { timeoutMs: 30_000 },
    );
    expect(rows.map((row) => [row.name, row.state, row.reason])).toEqual([
      ["cart", "RollingOut", "RollingOut"],
      ["web", "NotInstrumented", "WaitingForRuntimeDetails"],
      ["legacy", "NotInstrumented", "OptedOutByWorkload"],
    ]);
    // The operator's cache may trail the plugin's lists by a moment: wait for it, then compare.
    const operator = await waitFor(async () => {
      const entries = await operatorStatus(s.instrumentor, ns);
      return entries.length === rows.length
        ? new Map(entries.map((row) => [row.name, row]))
        : false;
    });
    for (const row of rows)
      expect([row.state, row.reason]).toEqual([
        operator.get(row.name)?.state,
        operator.get(row.name)?.reason,
      ]);

    const { stdout: table } = await plugin("status", "-n", ns);
    expect(table.split("\n")[0]).toBe("3 workloads: NotInstrumented 2, RollingOut 1");
    const { stdout: explained } = await plugin("explain", `${ns}/deployment/legacy`);
    expect(explained).toContain("opt-in:     no (WorkloadDisabled)");
    expect(explained).toContain(
      `remedy:   kubectl annotate -n ${ns} deployment legacy odigos.io/instrument=true --overwrite`,
    );
    const failed = await plugin("explain", `${ns}/deployment/nope`).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1, stderr: `error: Deployment ${ns}/nope not found\n` });
  });
});
