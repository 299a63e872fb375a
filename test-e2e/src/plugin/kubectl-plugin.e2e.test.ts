// SPEC section 9 as a person runs it: `kubectl odigos-instrumentor` (the built plugin, found by kubectl on PATH)
// with a kubeconfig bound only to the chart's status-viewer roles, agreeing with the running operator's `/status`,
// and reading the leader's live facts through its Lease and the pods proxy.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ensureBinaries } from "@odigos/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig } from "../support/cluster.js";
import { type Scenario, startScenario } from "../support/scenario.js";
import { operatorStatus, seedStatusCases } from "../support/status.js";
import { leaderProcessOptions, type StatusViews, statusViews } from "../support/status-views.js";
import { waitFor } from "../support/wait-for.js";

const run = promisify(execFile);
const podName = "odigos-instrumentor-5c8d7-plugin";

describe("kubectl odigos-instrumentor, read-only (SPEC 9)", () => {
  let s: Scenario;
  let ns: string;
  let views: StatusViews;

  beforeAll(async () => {
    s = await startScenario("plugin", leaderProcessOptions(podName));
    ns = await s.namespace("shop", {});
    views = await statusViews(adminKubeConfig(), s.odigosNamespace, podName, () => s.instrumentor);
  });
  afterAll(async () => {
    await views?.teardown();
    await s.teardown();
  });

  it("status and explain say what the operator says, with a kubeconfig that can only read", async () => {
    const kubectl = (await ensureBinaries()).kubectl ?? "kubectl";
    const { stdout: canPatch } = await run(
      kubectl,
      ["auth", "can-i", "patch", "deployments", "-n", ns],
      { env: { HOME: "/nonexistent", KUBECONFIG: views.kubeconfig } },
    ).catch((error: { stdout: string }) => error);
    expect(canPatch.trim()).toBe("no");

    await seedStatusCases(s, ns, { instrumented: "cart", noDetails: "web", optedOut: "legacy" });

    const report = await waitFor(
      async () => {
        const seen = await views.pluginStatus(ns);
        return seen.rows.length === 3 ? seen : false;
      },
      { timeoutMs: 30_000 },
    );
    expect(report.rows.map((row) => [row.name, row.state, row.reason])).toEqual([
      ["cart", "RollingOut", "RollingOut"],
      ["web", "NotInstrumented", "WaitingForRuntimeDetails"],
      ["legacy", "NotInstrumented", "OptedOutByWorkload"],
    ]);
    // The leader's /status, found by its Lease and read through the pods proxy as the viewer.
    expect(report.live).toMatchObject({
      source: `pod ${s.odigosNamespace}/${podName} (the leader's /status, by the pods proxy)`,
    });
    // The controller manager made cart's new pod from the template with the device (no node runs
    // it here, so the rollout never completes); the others' pods carry none.
    const pods = await waitFor(async () => {
      const seen = await views.pluginStatus(ns);
      const cart = seen.rows.find((row) => row.name === "cart");
      return cart?.pods.withDevice === 1 ? seen.rows : false;
    });
    expect(pods.map((row) => [row.name, row.pods])).toEqual([
      ["cart", { withDevice: 1, desired: 1 }],
      ["web", { withDevice: 0, desired: 1 }],
      ["legacy", { withDevice: 0, desired: 1 }],
    ]);
    // The operator's cache may trail the plugin's lists by a moment: wait for it, then compare.
    const operator = await waitFor(async () => {
      const entries = await operatorStatus(s.instrumentor, ns);
      return entries.length === report.rows.length
        ? new Map(entries.map((row) => [row.name, row]))
        : false;
    });
    for (const row of report.rows)
      expect([row.state, row.reason]).toEqual([
        operator.get(row.name)?.state,
        operator.get(row.name)?.reason,
      ]);

    const { stdout: table } = await views.plugin("status", "-n", ns);
    expect(table.split("\n")[0]).toBe("3 workloads: NotInstrumented 2, RollingOut 1");
    expect(table).toMatch(/^NAMESPACE\s+KIND\s+NAME\s+STATE\s+REASON\s+DEVICES\s+PODS$/m);
    const { stdout: explained } = await views.plugin("explain", `${ns}/deployment/legacy`);
    expect(explained).toContain("opt-in:     no (WorkloadDisabled)");
    expect(explained).toContain(
      `remedy:   kubectl annotate -n ${ns} deployment legacy odigos.io/instrument=true --overwrite`,
    );
    expect(explained).toContain(
      `instrumentor: live facts from pod ${s.odigosNamespace}/${podName}`,
    );
    const failed = await views
      .plugin("explain", `${ns}/deployment/nope`)
      .catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1, stderr: `error: Deployment ${ns}/nope not found\n` });
  });

  it("without the Role for the live part, says what is missing and shows the rest", async () => {
    await views.revokeLive();
    const report = await waitFor(async () => {
      const seen = await views.pluginStatus(ns);
      return seen.live.unavailable !== undefined ? seen : false;
    });
    expect(report.live.unavailable).toMatch(
      /is forbidden .*needs get on leases, pods and pods\/proxy in /,
    );
    expect(report.rows).toHaveLength(3);
    const { stdout: table } = await views.plugin("status", "-n", ns);
    expect(table.split("\n")[2]).toMatch(/^live facts unavailable: get lease .* is forbidden/);
  });
});
