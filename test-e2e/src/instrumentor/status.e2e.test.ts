// SPEC section 9: the running instrumentor's `/status` and its gauge by state and reason, against a real API server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Scenario, startScenario } from "../support/scenario.js";
import { operatorStatus, seedStatusCases } from "../support/status.js";
import { waitFor } from "../support/wait-for.js";

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

  it("says why each workload is or is not instrumented, and counts them by reason", async () => {
    await seedStatusCases(s, ns, {
      instrumented: "opted",
      noDetails: "no-details",
      optedOut: "out",
    });
    await s.cluster.createWorkload("StatefulSet", ns, "plain");
    const byName = await waitFor(async () => {
      const entries = await operatorStatus(s.instrumentor, ns);
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
