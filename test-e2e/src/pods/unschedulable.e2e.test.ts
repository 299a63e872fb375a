import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { communityDevices, defaultSdks, device, javaEnterprise } from "../support/odigos.js";
import {
  type PodsBed,
  startPodsBed,
  waitForPods,
  waitForRollout,
  waitForTemplateDevices,
} from "../support/pods-cluster.js";
import { isRunning } from "../support/processes.js";
import { waitFor } from "../support/wait-for.js";

const optIn = { "odigos.io/instrument": "true" };

describe("a device no node advertises", { timeout: 180_000 }, () => {
  let bed: PodsBed;
  let ns: string;
  beforeAll(async () => {
    bed = await startPodsBed({
      pods: { nodes: 2, devices: communityDevices },
      defaultSDKs: { ...defaultSdks, java: { sdkType: "native", sdkTier: "enterprise" } },
    });
    ns = await bed.namespace("stuck");
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("leaves the new pods Pending (Unschedulable) while the old ones serve, and the instrumentor goes on with other workloads", async () => {
    expect(communityDevices).not.toContain(javaEnterprise);
    for (const name of ["stuck", "fine"])
      await bed.cluster.createWorkload("Deployment", ns, name, { replicas: 3, annotations: optIn });
    const oldStuck = await waitForRollout(bed.cluster, "Deployment", ns, "stuck");
    await waitForRollout(bed.cluster, "Deployment", ns, "fine");

    await bed.cluster.putRuntimeDetails("Deployment", ns, "stuck", [
      { containerName: "app", language: "java" },
    ]);
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "stuck", { app: [javaEnterprise] });
    // maxSurge 25% of 3 rounds up to 1 new pod; maxUnavailable rounds down to 0 old pods taken away.
    const pods = await waitForPods(
      bed.cluster,
      ns,
      "stuck",
      (all) =>
        all.some(
          (pod) =>
            pod.devices.app?.includes(javaEnterprise) === true &&
            pod.unschedulable?.reason === "Unschedulable",
        ),
      "a new pod Unschedulable",
    );
    const fresh = pods.filter((pod) => !oldStuck.some((old) => old.uid === pod.uid));
    expect(fresh).toHaveLength(1);
    for (const pod of fresh) {
      expect(pod).toMatchObject({ phase: "Pending", node: undefined, ready: false });
      expect(pod.devices).toEqual({ app: [javaEnterprise] });
      expect(pod.unschedulable?.message).toContain(`Insufficient ${javaEnterprise}`);
    }
    const serving = pods.filter((pod) => oldStuck.some((old) => old.uid === pod.uid));
    expect(serving.map((pod) => [pod.name, pod.ready])).toEqual(
      oldStuck.map((pod) => [pod.name, true]),
    );
    // The Deployment's own status, once its controller has counted the new ReplicaSet (it writes
    // it after the scheduler has marked the pod; on a loaded machine, a moment later).
    const stuck = await waitFor(
      async () => {
        const read = await bed.cluster.apps.readNamespacedDeployment({
          namespace: ns,
          name: "stuck",
        });
        const counted =
          (read.status?.observedGeneration ?? 0) >= (read.metadata?.generation ?? 1) &&
          (read.status?.updatedReplicas ?? 0) > 0;
        return counted ? read : undefined;
      },
      { timeoutMs: 60_000, description: "the stuck Deployment's status counting its new pod" },
    );
    expect(stuck.status).toMatchObject({ updatedReplicas: 1, availableReplicas: 3 });

    // Alive, healthy, and still doing its job for everything else.
    expect(isRunning(bed.instrumentor.pid)).toBe(true);
    const health = await fetch(`http://127.0.0.1:${bed.instrumentor.healthPort}/healthz`);
    expect(health.status).toBe(200);
    await bed.cluster.putRuntimeDetails("Deployment", ns, "fine", [
      { containerName: "app", language: "python" },
    ]);
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "fine", {
      app: [device("python")],
    });
    const fine = await waitForRollout(bed.cluster, "Deployment", ns, "fine");
    expect(fine.map((pod) => pod.devices)).toEqual(Array(3).fill({ app: [device("python")] }));
    // The stuck one is as it was: the new pod still cannot be placed.
    const still = await waitForPods(bed.cluster, ns, "stuck", () => true, "listed");
    expect(still.filter((pod) => pod.unschedulable?.reason === "Unschedulable")).toHaveLength(1);
  });
});
