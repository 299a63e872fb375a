// SPEC section 9: the running instrumentor's `/status` and its gauge by state and reason, against a real API server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import { type Scenario, startScenario } from "../support/scenario.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];

interface StatusEntry {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly state: string;
  readonly reason: string;
  readonly remedy?: string;
}

describe("workload status (SPEC 9)", () => {
  let s: Scenario;
  let ns: string;
  beforeAll(async () => {
    s = await startScenario("status");
    ns = await s.namespace("shop", {});
  });
  afterAll(async () => {
    await s.teardown();
  });

  const statusOf = async (): Promise<ReadonlyArray<StatusEntry>> => {
    const response = await fetch(`http://127.0.0.1:${s.instrumentor.metricsPort}/status`);
    expect(response.headers.get("content-type")).toBe("application/json");
    const body = (await response.json()) as { workloads: ReadonlyArray<StatusEntry> };
    return body.workloads.filter((entry) => entry.namespace === ns);
  };

  it("says why each workload is or is not instrumented, and counts them by reason", async () => {
    await s.cluster.createWorkload("Deployment", ns, "opted", {
      annotations: { "odigos.io/instrument": "true" },
    });
    await s.cluster.putRuntimeDetails("Deployment", ns, "opted", go);
    await s.cluster.createWorkload("Deployment", ns, "no-details", {
      annotations: { "odigos.io/instrument": "true" },
    });
    await s.cluster.createWorkload("Deployment", ns, "out", {
      annotations: { "odigos.io/instrument": "false" },
    });
    await s.cluster.createWorkload("StatefulSet", ns, "plain");
    await s.expectDevices("Deployment", ns, "opted", { app: [device("go")] });
    const byName = await waitFor(async () => {
      const entries = await statusOf();
      return entries.length === 4 ? new Map(entries.map((entry) => [entry.name, entry])) : false;
    });
    // No node runs its pods here, so the rollout the device started stays under way.
    expect(byName.get("opted")).toMatchObject({ state: "RollingOut", reason: "RollingOut" });
    expect(byName.get("no-details")).toMatchObject({
      state: "NotInstrumented",
      reason: "WaitingForRuntimeDetails",
    });
    expect(byName.get("out")).toMatchObject({
      state: "NotInstrumented",
      reason: "OptedOutByWorkload",
      remedy: `kubectl annotate -n ${ns} deployment out odigos.io/instrument=true --overwrite`,
    });
    expect(byName.get("plain")).toMatchObject({ state: "NotInstrumented", reason: "NotOptedIn" });
    const metrics = await s.instrumentor.metrics();
    expect(metrics).toMatch(
      /odigos_instrumentor_workloads\{state="NotInstrumented",reason="OptedOutByWorkload"\} [1-9]/,
    );
  });
});
