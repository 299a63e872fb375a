// SPEC section 8, the rollout budget, on a cluster with pods: 200 Deployments x 2 replicas opted
// in at once with a budget of 10. Sampled every 200 ms from the cluster alone, the workloads
// rolling because of the instrumentor never exceed 10, and never exceed the slow start's window
// of the moment, which grows 1, 2, 4, 8 (judged from the audit log and the workloads' status); the leader is SIGKILLed about half way and the bound
// holds across the handover; nothing is written twice. Then the same for a mass un-instrument.
import { type InstrumentorProcess, startInstrumentor } from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import { type PodsBed, startPodsBed } from "../support/pods-cluster.js";
import { type RolloutSampler, sampleRollouts, type Wave } from "../support/rollout-sampler.js";
import { waitFor } from "../support/wait-for.js";

const workloads = 200;
const budget = 10;
const names = Array.from({ length: workloads }, (_, i) => `w${String(i).padStart(3, "0")}`);
const flags = [`--max-concurrent-rollouts=${budget}`, "--leader-elect", "--rollout-timeout=5m"];

/**
 * The slow start's window of each wave, judged from the audit log and the workloads' status (the
 * sampler's waves), not from the instrumentor, by the rules of SPEC 8 as the README states them:
 * a window doubles, up to the budget, each time a wave completes. An instrumentor known to start
 * its first wave from nothing (`fresh`) starts at 1; any other first wave (a new leader that
 * inherits rollouts in flight, or one whose slow start already grew in the phase before) is
 * bounded by the budget alone, and so are the waves after it. (The window also falls back to 1
 * after a minute idle; not counting that only makes the bound looser, never wrong.) A wave may
 * be smaller than its window: workloads that reach the instrumentor one by one make waves of
 * whatever was started before the wave before completed.
 */
const windows = (waves: readonly Wave[], fresh: (writer: string) => boolean) => {
  let window = budget;
  return waves.map((wave, index) => {
    const before = waves[index - 1];
    if (before === undefined || before.writer !== wave.writer)
      window = fresh(wave.writer) ? 1 : budget;
    else window = Math.min(2 * window, budget);
    return { at: wave.at, window, size: wave.workloads.length };
  });
};

/** Every sample within the bound, and within the window of the wave in progress when it was taken. */
const expectWithinBudget = (sampler: RolloutSampler, fresh: (writer: string) => boolean) => {
  const { samples } = sampler;
  const announced = windows(sampler.waves, fresh);
  expect(samples.length).toBeGreaterThan(20);
  const peak = Math.max(...samples.map((sample) => sample.rolling.length));
  expect(peak, "the most workloads rolling at once").toBeLessThanOrEqual(budget);
  expect(peak).toBeGreaterThan(1);
  for (const wave of announced)
    if (wave.size > wave.window && wave.window < budget)
      throw new Error(
        `the wave at ${new Date(wave.at).toISOString()} started ${wave.size} rollouts with a window of ${wave.window}`,
      );
  for (const sample of samples) {
    const window = [...announced].reverse().find((entry) => entry.at <= sample.at)?.window ?? 0;
    if (sample.rolling.length > window)
      throw new Error(
        `at ${new Date(sample.at).toISOString()} ${sample.rolling.length} workloads rolled (${sample.rolling.join(", ")}) with a window of ${window}`,
      );
  }
};

describe("rollout budget on a cluster with pods", { timeout: 900_000 }, () => {
  let bed: PodsBed;
  let follower: InstrumentorProcess | undefined;
  let ns: string;
  beforeAll(async () => {
    bed = await startPodsBed({ args: flags });
    ns = await bed.namespace("mass");
    for (const name of names)
      await bed.cluster.createWorkload("Deployment", ns, name, { replicas: 2 });
    // The second replica: a hot standby that takes over when the leader dies.
    follower = await startInstrumentor({
      kubeconfigPath: bed.controlPlane.kubeconfigPath,
      odigosNamespace: bed.odigosNamespace,
      args: flags,
    });
    await waitFor(
      async () => {
        const list = await bed.cluster.apps.listNamespacedDeployment({ namespace: ns });
        return list.items.filter((d) => d.status?.availableReplicas === 2).length === workloads;
      },
      { timeoutMs: 300_000, intervalMs: 1_000, description: "every workload's first pods Ready" },
    );
  });
  afterAll(async () => {
    await follower?.stop("SIGTERM");
    await bed?.stop();
  });

  /** Device patches per workload by any instrumentor since `since` (from the audit log). */
  const devicePatches = async (since: number) => {
    const events = await bed.controlPlane.readAuditEvents();
    const counts = new Map<string, number>();
    for (const event of events) {
      if (event.stage !== "ResponseComplete" || event.verb !== "patch") continue;
      if (!(event.userAgent ?? "").startsWith("odigos-instrumentor/")) continue;
      if (event.objectRef?.resource !== "deployments" || event.objectRef.namespace !== ns) continue;
      if ((event.responseStatus?.code ?? 0) >= 300) continue;
      if (Date.parse((event as { stageTimestamp?: string }).stageTimestamp ?? "") < since) continue;
      const name = event.objectRef.name ?? "";
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return counts;
  };

  const countWithDevices = async (wanted: boolean) => {
    const list = await bed.cluster.apps.listNamespacedDeployment({ namespace: ns });
    return list.items.filter(
      (d) =>
        Object.keys(d.spec?.template.spec?.containers[0]?.resources?.limits ?? {}).some((r) =>
          r.startsWith("instrumentation.odigos.io"),
        ) === wanted,
    ).length;
  };

  it("opting in 200 workloads at once: waves of 1, 2, 4, 8, never more than 10 rolling, a new leader keeps the bound, no workload written twice", async () => {
    const started = Date.now();
    const leader = bed.instrumentor;
    const sampler: RolloutSampler = sampleRollouts(
      bed.cluster,
      ns,
      started,
      bed.controlPlane.readAuditEvents,
    );
    await bed.cluster.annotateNamespace(ns, { "odigos.io/instrument": "true" });
    // As the node agent does once they are opted in: it reports each workload's language.
    for (const name of names)
      await bed.cluster.putRuntimeDetails("Deployment", ns, name, [
        { containerName: "app", language: "go" },
      ]);
    await waitFor(async () => (await countWithDevices(true)) >= workloads / 2, {
      timeoutMs: 300_000,
      intervalMs: 500,
      description: "half the workloads instrumented",
    });
    expect(await leader.stop("SIGKILL")).toBe("SIGKILL");
    await waitFor(async () => (await countWithDevices(true)) === workloads, {
      timeoutMs: 400_000,
      intervalMs: 1_000,
      description: "every workload instrumented",
    });
    await waitFor(() => sampler.completed.size === workloads, {
      timeoutMs: 300_000,
      intervalMs: 500,
      description: "every rollout complete",
    });
    await sampler.stop();

    // The slow start, from the audit log: the first instrumentor's first waves are 1, 2, 4, 8.
    const first = sampler.waves[0]?.writer;
    expect(
      sampler.waves
        .filter((wave) => wave.writer === first)
        .slice(0, 4)
        .map((wave) => wave.workloads.length),
    ).toEqual([1, 2, 4, 8]);
    // The leader started in beforeAll had rolled nothing out: its first wave starts from 1.
    expectWithinBudget(sampler, (writer) => leader.sent(writer));
    const patches = await devicePatches(started);
    expect([...patches.values()].filter((count) => count !== 1)).toEqual([]);
    expect(patches.size).toBe(workloads);
    // The follower took over and wrote some: the handover happened inside the phase.
    expect(follower?.logs.some((line) => line.msg === "became leader")).toBe(true);
    expect((await bed.cluster.devices("Deployment", ns, names[0] ?? "")).app).toEqual([
      device("go"),
    ]);
  });

  it("opting the 200 out again: the same budget for removals, no workload written twice", async () => {
    const started = Date.now();
    const sampler = sampleRollouts(bed.cluster, ns, started, bed.controlPlane.readAuditEvents);
    await bed.cluster.annotateNamespace(ns, { "odigos.io/instrument": null });
    await waitFor(async () => (await countWithDevices(false)) === workloads, {
      timeoutMs: 400_000,
      intervalMs: 1_000,
      description: "every workload un-instrumented",
    });
    await waitFor(() => sampler.completed.size === workloads, {
      timeoutMs: 300_000,
      intervalMs: 500,
      description: "every rollout complete",
    });
    await sampler.stop();
    // The follower leads now; its slow start grew in the phase before (no minute idle since).
    expectWithinBudget(sampler, () => false);
    const patches = await devicePatches(started);
    // A device patch each; the reported-name removal never applies here (none was set).
    expect([...patches.values()].filter((count) => count !== 1)).toEqual([]);
    expect(patches.size).toBe(workloads);
  });
});
