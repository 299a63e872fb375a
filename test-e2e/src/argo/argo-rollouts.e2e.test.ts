// Argo Rollouts for real: the release's CRDs and its controller (built from the Go module proxy by
// @odigos/control-plane) on a cluster with pods, and the instrumentor as a process. The
// instrumentor writes the device into a Rollout's inline template and Argo, not the instrumentor,
// rolls it out through its canary steps; the budget counts that rollout until Argo reports it
// done; an instrumented revision that crash-loops is rolled back and Argo returns to a healthy
// revision; an abort by a person (Argo's status only) is waited out, not fought, up to the deadline.
import {
  type ArgoRolloutsController,
  ensureArgoRollouts,
  podStageAnnotations,
  startArgoRolloutsController,
} from "@odigos/control-plane";
import { InstrumentedPodLabel, RollbackAnnotation, RolloutAnnotation } from "@odigos/crd-types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device, devicesOf } from "../support/odigos.js";
import {
  type PodsBed,
  startPodsBed,
  waitForRollout,
  waitForTemplateDevices,
} from "../support/pods-cluster.js";
import { waitFor } from "../support/wait-for.js";
import {
  abortRollout,
  argoComplete,
  createCanaryRollout,
  evaluatedRollout,
  instrumentorWritesTo,
  PodWatch,
  type RolloutObject,
  RolloutSampler,
  readRollout,
  waitForArgoPods,
  waitForRolloutState,
} from "./argo.js";

const goDevice = device("go");
const go = [{ containerName: "app", language: "go" as const }];
const optIn = { "odigos.io/instrument": "true" };
/** Long enough for a canary through its steps on a loaded machine, short enough to wait out once. */
const rolloutTimeoutMs = 90_000;

const templateDevices = (rollout: RolloutObject) =>
  devicesOf(rollout as unknown as Parameters<typeof devicesOf>[0]);
const hasDevice = (rollout: RolloutObject) =>
  (templateDevices(rollout).app ?? []).includes(goDevice);
const observed = (rollout: RolloutObject) =>
  rollout.status?.observedGeneration === String(rollout.metadata.generation);
const recordOf = (rollout: RolloutObject, key: string) => {
  const text = rollout.metadata.annotations?.[key];
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
};

describe("Argo Rollouts: the real controller rolls out what the instrumentor writes", {
  timeout: 360_000,
}, () => {
  let bed: PodsBed;
  let argo: ArgoRolloutsController | undefined;

  // On a first run the global setup may still be building the controller: this waits for it (the
  // hook's bound is that build's, not the cluster's start).
  beforeAll(async () => {
    const release = await ensureArgoRollouts();
    bed = await startPodsBed({
      pods: { nodes: 2 },
      args: [
        "--log-level=debug",
        "--max-concurrent-rollouts=1",
        `--rollout-timeout=${rolloutTimeoutMs / 1000}s`,
      ],
    });
    await bed.controlPlane.installCrds(release.crds);
    await bed.instrumentor.waitForLog((line) => line.reason === "ArgoRolloutsInstalled", 60_000);
    argo = await startArgoRolloutsController({
      controller: release.controller,
      kubeconfig: bed.controlPlane.kubeconfigPath,
      dataDir: bed.controlPlane.dataDir,
    });
  }, 1_800_000);
  afterAll(async () => {
    // Before the control plane, whose stop() removes the folder of the controller's log.
    await argo?.stop();
    await bed?.stop();
  });

  const putRuntimeDetails = (namespace: string, name: string) =>
    bed.cluster.putRuntimeDetailsNamed(namespace, `rollout-${name}`, { languages: go });

  it("instruments a canary Rollout that Argo takes through its steps to Healthy, and the budget holds a Deployment until then", async () => {
    const ns = await bed.namespace("canary", optIn);
    await createCanaryRollout(bed, ns, "web", {
      replicas: 4,
      steps: [
        { setWeight: 25 },
        { pause: { duration: "5s" } },
        { setWeight: 50 },
        { pause: { duration: "5s" } },
      ],
    });
    await bed.cluster.createWorkload("Deployment", ns, "second", { replicas: 1 });
    // The first revision: Argo makes it stable at once (no steps for a first revision).
    const before = await waitForRolloutState(
      bed,
      ns,
      "web",
      argoComplete,
      "first revision Healthy",
    );
    expect(hasDevice(before)).toBe(false);
    await waitForRollout(bed.cluster, "Deployment", ns, "second", 120_000);

    const sampler = new RolloutSampler(bed, ns, "web");
    const askedAt = Date.now();
    await putRuntimeDetails(ns, "web");
    const instrumented = await waitForRolloutState(
      bed,
      ns,
      "web",
      hasDevice,
      "the device in the template",
      60_000,
    );
    expect(instrumented.spec.template.metadata?.labels?.[InstrumentedPodLabel]).toBe("true");
    expect(recordOf(instrumented, RolloutAnnotation)).toMatchObject({ action: "instrument" });
    const generation = instrumented.metadata.generation;

    // Argo holds the canary at its first pause: the Deployment is given runtime details now,
    // with at least 5 s of pause, a step and another 5 s pause of Argo's rollout to go.
    await waitForRolloutState(
      bed,
      ns,
      "web",
      (r) => hasDevice(r) && observed(r) && r.status?.currentStepIndex === 1,
      "at its first pause step",
      90_000,
    );
    // The canary pods (the new ReplicaSet) carry the device; the stable ones do not.
    const atPause = await waitForArgoPods(
      bed,
      ns,
      "web",
      (pods) => pods.some((pod) => pod.hash !== before.status?.stableRS && pod.ready),
      "a ready canary pod",
    );
    expect(
      atPause
        .filter((pod) => !pod.terminating)
        .map((pod) => [
          pod.hash === before.status?.stableRS ? "stable" : "canary",
          pod.devices.join(),
        ]),
    ).toEqual(
      expect.arrayContaining([
        ["stable", ""],
        ["canary", goDevice],
      ]),
    );
    expect(
      atPause.filter(
        (pod) => (pod.hash === before.status?.stableRS) === pod.devices.includes(goDevice),
      ),
    ).toEqual([]);
    const secondAskedAt = Date.now();
    await bed.cluster.putRuntimeDetails("Deployment", ns, "second", go);

    const after = await waitForRolloutState(
      bed,
      ns,
      "web",
      (r) => hasDevice(r) && argoComplete(r),
      "the instrumented revision Healthy",
      rolloutTimeoutMs,
    );
    await waitForTemplateDevices(
      bed.cluster,
      "Deployment",
      ns,
      "second",
      { app: [goDevice] },
      120_000,
    );
    // The sampler polls on its own: it may not have read the Healthy state the waits above saw
    // (or Argo may have reported Progressing again while old pods went); wait until its latest
    // reading is the instrumented revision complete before it stops.
    await waitFor(
      () => {
        const last = sampler.samples.at(-1)?.rollout;
        return last !== undefined && last.metadata.generation === generation && argoComplete(last);
      },
      { timeoutMs: 60_000, description: "the sampler's latest reading Healthy" },
    );
    const samples = await sampler.stop();
    const writes = await instrumentorWritesTo(bed, "rollouts", ns, "web");
    const secondWrites = await instrumentorWritesTo(bed, "deployments", ns, "second");

    // 1. Argo went through the steps of the instrumented generation, pausing at both pauses.
    expect(after.metadata.generation).toBe(generation);
    const steps = sampler
      .states()
      .filter((state) => state.generation === generation)
      .map((state) => `${state.phase}@${state.step}`);
    const seen = samples
      .filter((s) => s.rollout.metadata.generation === generation && observed(s.rollout))
      .map((s) => s.rollout.status?.currentStepIndex ?? -1);
    expect(seen, `steps seen: ${steps.join(" ")}`).toEqual([...seen].sort((a, b) => a - b));
    expect(steps).toContain("Paused@1");
    expect(steps).toContain("Paused@3");
    expect(steps.at(-1)).toBe("Healthy@4");
    expect(after.status?.currentPodHash).not.toBe(before.status?.stableRS);
    // Every pod is of the new ReplicaSet, ready, with the device; the old ones are gone.
    await waitForArgoPods(
      bed,
      ns,
      "web",
      (pods) =>
        pods.length === 4 &&
        pods.every(
          (pod) =>
            pod.owner === `web-${after.status?.currentPodHash}` &&
            pod.hash === after.status?.currentPodHash &&
            pod.ready &&
            !pod.terminating &&
            pod.devices.join() === goDevice,
        ),
      "4 ready pods of the new ReplicaSet with the device",
    );
    // The instrumentor wrote once; Argo's steps were Argo's own.
    expect(
      writes.map((w) => `${w.verb}${w.subresource === undefined ? "" : `/${w.subresource}`}`),
    ).toEqual(["patch"]);

    // 2. The Deployment's patch came after the last reading of the Rollout still in progress
    // (a reading holds at some moment after it was sent), which came after the Deployment asked.
    const progressing = samples.filter(
      (s) => s.sentAt >= askedAt && hasDevice(s.rollout) && !argoComplete(s.rollout),
    );
    const lastProgressing = progressing.at(-1);
    const firstHealthy = samples.find((s) => hasDevice(s.rollout) && argoComplete(s.rollout));
    const secondPatch = secondWrites[0];
    const timeline = `second asked at +0 ms; Rollout last seen progressing at +${(lastProgressing?.sentAt ?? 0) - secondAskedAt} ms, first seen Healthy at +${(firstHealthy?.sentAt ?? 0) - secondAskedAt} ms; Deployment patched at +${(secondPatch?.at ?? 0) - secondAskedAt} ms`;
    console.log(`[argo] ${timeline}`);
    expect(secondPatch, timeline).toBeDefined();
    expect(lastProgressing, timeline).toBeDefined();
    expect(lastProgressing?.sentAt ?? 0, timeline).toBeGreaterThan(secondAskedAt);
    expect(secondPatch?.at ?? 0, timeline).toBeGreaterThan(lastProgressing?.sentAt ?? 0);
    expect(secondWrites.map((w) => w.verb)).toEqual(["patch"]);
    await waitForRollout(bed.cluster, "Deployment", ns, "second", 120_000);
  });

  it("rolls back a crash-looping instrumented revision, and Argo returns to a healthy revision without the device", async () => {
    const ns = await bed.namespace("crashy", optIn);
    await createCanaryRollout(bed, ns, "crashy", {
      replicas: 2,
      steps: [{ setWeight: 50 }, { pause: { duration: "10s" } }],
      // Only the instrumented revision crash-loops: the KWOK stage is keyed on the device.
      podAnnotations: { [podStageAnnotations.crashLoopResource]: goDevice },
    });
    const before = await waitForRolloutState(bed, ns, "crashy", argoComplete, "first revision");
    const watch = new PodWatch(bed, ns, "crashy");
    await watch.ready();
    await putRuntimeDetails(ns, "crashy");
    await waitForRolloutState(bed, ns, "crashy", hasDevice, "the device in the template", 60_000);
    const rolledBack = await waitForRolloutState(
      bed,
      ns,
      "crashy",
      (r) => recordOf(r, RollbackAnnotation) !== undefined,
      "the rollback record",
    );
    expect(recordOf(rolledBack, RollbackAnnotation)).toMatchObject({
      reason: expect.stringMatching(/^(CrashLoopBackOff|RestartingContainer)$/),
      container: "app",
    });
    expect(templateDevices(rolledBack)).toEqual({});
    // What it rolled back for: Argo's canary pod, with the device, crash-looping.
    const crashing = await waitFor(
      () =>
        watch.seen.find(
          (pod) =>
            pod.hash !== before.status?.stableRS &&
            pod.devices.includes(goDevice) &&
            (pod.restarts > 0 || pod.waiting.includes("CrashLoopBackOff")),
        ),
      { timeoutMs: 10_000, description: "a crash-looping instrumented canary pod on the watch" },
    );
    expect(String(recordOf(rolledBack, RollbackAnnotation)?.message)).toContain(
      `pod ${crashing.name}`,
    );

    const healthy = await waitForRolloutState(
      bed,
      ns,
      "crashy",
      (r) => !hasDevice(r) && argoComplete(r),
      "Healthy again without the device",
      150_000,
    );
    console.log(
      `[argo] crashy: rollback ${rolledBack.metadata.annotations?.[RollbackAnnotation]}; stable ReplicaSet ${before.status?.stableRS} before, ${healthy.status?.stableRS} after`,
    );
    // The rollback restored the template Argo's stable ReplicaSet was made from: Argo went back
    // to that revision (no new one, no canary steps).
    expect(healthy.status?.stableRS).toBe(before.status?.stableRS);
    await waitForArgoPods(
      bed,
      ns,
      "crashy",
      (pods) =>
        pods.length === 2 &&
        pods.every(
          (pod) =>
            pod.hash === healthy.status?.stableRS &&
            pod.ready &&
            !pod.terminating &&
            pod.devices.length === 0,
        ),
      "2 ready pods of the stable ReplicaSet, without the device",
    );
    const pods = await watch.stop();
    console.log(
      `[argo] crashy pods seen: ${[...new Set(pods.map((pod) => `${pod.name}${pod.devices.length > 0 ? " (device)" : ""}`))].join(", ")}`,
    );
    // Not instrumented again for the same inputs: the instrumentation and the rollback, no more.
    await evaluatedRollout(bed, ns, "crashy");
    expect(hasDevice(await readRollout(bed, ns, "crashy"))).toBe(false);
    expect((await instrumentorWritesTo(bed, "rollouts", ns, "crashy")).map((w) => w.verb)).toEqual([
      "patch",
      "patch",
    ]);
  });

  it("waits out a person's abort without writing again, and reports the rollout stuck only at the deadline", async () => {
    const ns = await bed.namespace("held", optIn);
    await createCanaryRollout(bed, ns, "held", {
      replicas: 2,
      steps: [{ setWeight: 50 }, { pause: {} }],
    });
    const before = await waitForRolloutState(bed, ns, "held", argoComplete, "first revision");
    await putRuntimeDetails(ns, "held");
    const paused = await waitForRolloutState(
      bed,
      ns,
      "held",
      (r) =>
        hasDevice(r) &&
        observed(r) &&
        r.status?.phase === "Paused" &&
        r.status.currentStepIndex === 1,
      "paused for good at step 1",
      90_000,
    );
    await waitForArgoPods(
      bed,
      ns,
      "held",
      (pods) => pods.some((pod) => pod.devices.includes(goDevice) && pod.ready),
      "a ready instrumented canary pod",
    );
    const record = recordOf(paused, RolloutAnnotation);
    expect(record).toMatchObject({ action: "instrument" });

    // `kubectl argo rollouts abort held`: Argo scales the canary down and serves the stable revision.
    await abortRollout(bed, ns, "held");
    const aborted = await waitForRolloutState(
      bed,
      ns,
      "held",
      (r) => r.status?.abort === true && r.status.phase === "Degraded",
      "aborted",
    );
    await waitForArgoPods(
      bed,
      ns,
      "held",
      (pods) =>
        pods.length === 2 &&
        pods.every(
          (pod) =>
            pod.hash === before.status?.stableRS &&
            pod.ready &&
            !pod.terminating &&
            pod.devices.length === 0,
        ),
      "only the 2 stable pods",
    );
    console.log(`[argo] held after the abort: ${JSON.stringify(aborted.status)}`);

    // The instrumentor has seen the abort and did nothing: the template as it wrote it, one write.
    await evaluatedRollout(bed, ns, "held");
    const seenAbort = await readRollout(bed, ns, "held");
    expect(seenAbort.status?.abort).toBe(true);
    expect(hasDevice(seenAbort)).toBe(true);
    expect(recordOf(seenAbort, RollbackAnnotation)).toBeUndefined();
    expect((await instrumentorWritesTo(bed, "rollouts", ns, "held")).map((w) => w.verb)).toEqual([
      "patch",
    ]);

    // At the deadline, and not before, it says the rollout is stuck (an Event on the Rollout).
    const stuck = await waitFor(
      async () => {
        const list = await bed.cluster.core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: "reason=RolloutStuck",
        });
        return list.items[0];
      },
      { timeoutMs: rolloutTimeoutMs + 60_000, intervalMs: 500, description: "RolloutStuck" },
    );
    expect([stuck.type, stuck.involvedObject.kind, stuck.involvedObject.name]).toEqual([
      "Warning",
      "Rollout",
      "held",
    ]);
    const stuckAt = Date.parse(String(stuck.eventTime ?? stuck.firstTimestamp));
    expect(stuckAt - Date.parse(String(record?.at))).toBeGreaterThanOrEqual(rolloutTimeoutMs);
    expect(stuck.message).toMatch(/aborted by Argo Rollouts/);

    // And still no write: no rollback, no fight with Argo over the template.
    await evaluatedRollout(bed, ns, "held");
    const last = await readRollout(bed, ns, "held");
    expect(hasDevice(last)).toBe(true);
    expect(recordOf(last, RollbackAnnotation)).toBeUndefined();
    expect((await instrumentorWritesTo(bed, "rollouts", ns, "held")).map((w) => w.verb)).toEqual([
      "patch",
    ]);
    expect(
      bed.instrumentor.logs.filter(
        (line) =>
          line.workload === "held" && line.level === "warn" && line.reason !== "RolloutStuck",
      ),
    ).toEqual([]);
  });
});
