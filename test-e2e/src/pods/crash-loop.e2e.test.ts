// The crash-loop stage of the cluster with pods: containers a test chooses (by name, or by a
// resource in their limits, such as an instrumentation device) go into CrashLoopBackOff with a
// restart count that keeps rising, as a crash-looping container does; the pod stays Running and
// not Ready. This is what SPEC section 8's rollback is tested against. No instrumentor runs here
// (it would roll the crashing revision back): the device goes into the template directly.
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { podStageAnnotations } from "@odigos/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import {
  type PodsCluster,
  type PodView,
  startPodsCluster,
  waitForPods,
  waitForRollout,
} from "../support/pods-cluster.js";

const containers = [
  { name: "app", image: "example.invalid/app:1" },
  { name: "sidecar", image: "example.invalid/proxy:1" },
];

/** The restart count of `container` in the one pod that matches, once it is crash-looping. */
const crashLooping = (pod: PodView | undefined, container: string) =>
  pod?.containers[container]?.waitingReason === "CrashLoopBackOff" &&
  pod.containers[container]?.ready === false &&
  pod.ready === false;

describe("crash-looping containers", { timeout: 180_000 }, () => {
  let bed: PodsCluster;
  let ns: string;
  beforeAll(async () => {
    bed = await startPodsCluster({ nodes: 2 });
    ns = await bed.namespace("crash");
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("a container chosen by name crash-loops with a rising restart count; its neighbours and other pods are fine", async () => {
    await bed.cluster.createWorkload("Deployment", ns, "chosen", {
      containers,
      podAnnotations: { [podStageAnnotations.crashLoopContainer]: "sidecar" },
    });
    await bed.cluster.createWorkload("Deployment", ns, "healthy", { containers });

    const [first] = await waitForPods(
      bed.cluster,
      ns,
      "chosen",
      (pods) => pods.length === 1 && crashLooping(pods[0], "sidecar"),
      "sidecar in CrashLoopBackOff",
    );
    const restarts = first?.containers.sidecar?.restartCount ?? 0;
    expect(restarts).toBeGreaterThanOrEqual(1);
    expect(first).toMatchObject({ phase: "Running", ready: false });
    expect(first?.containers.app).toMatchObject({ ready: true, restartCount: 0 });
    const [later] = await waitForPods(
      bed.cluster,
      ns,
      "chosen",
      ([pod]) =>
        crashLooping(pod, "sidecar") &&
        (pod?.containers.sidecar?.restartCount ?? 0) >= restarts + 2,
      `sidecar restarted at least twice more than ${restarts} times`,
    );
    expect(later?.uid).toBe(first?.uid);

    const [healthy] = await waitForRollout(bed.cluster, "Deployment", ns, "healthy");
    expect(healthy?.containers).toEqual({
      app: { ready: true, restartCount: 0, waitingReason: undefined },
      sidecar: { ready: true, restartCount: 0, waitingReason: undefined },
    });
  });

  it("containers chosen by a device crash-loop only in the revision that carries it; the old pods keep serving", async () => {
    const go = device("go");
    await bed.cluster.createWorkload("Deployment", ns, "crashy", {
      replicas: 2,
      containers,
      podAnnotations: { [podStageAnnotations.crashLoopResource]: go },
    });
    const before = await waitForRollout(bed.cluster, "Deployment", ns, "crashy");

    // The template change an instrumentor would make: the device in app's limits.
    await bed.cluster.apps.patchNamespacedDeployment(
      {
        namespace: ns,
        name: "crashy",
        body: [
          {
            op: "add",
            path: "/spec/template/spec/containers/0/resources",
            value: { limits: { [go]: "1" } },
          },
        ],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    const isNew = (pod: PodView) => !before.some((old) => old.uid === pod.uid);
    const pods = await waitForPods(
      bed.cluster,
      ns,
      "crashy",
      (all) => all.some((pod) => isNew(pod) && crashLooping(pod, "app")),
      "the new revision's app container in CrashLoopBackOff",
    );
    const [crashing, ...more] = pods.filter(isNew);
    expect(more).toEqual([]);
    expect(crashing?.devices).toEqual({ app: [go], sidecar: [] });
    expect(crashing?.containers.sidecar).toMatchObject({ ready: true, restartCount: 0 });
    expect(pods.filter((pod) => !isNew(pod)).map((pod) => pod.ready)).toEqual([true, true]);

    const restarts = crashing?.containers.app?.restartCount ?? 0;
    await waitForPods(
      bed.cluster,
      ns,
      "crashy",
      (all) =>
        all.some(
          (pod) =>
            pod.uid === crashing?.uid &&
            crashLooping(pod, "app") &&
            (pod.containers.app?.restartCount ?? 0) >= restarts + 2,
        ),
      `app restarted at least twice more than ${restarts} times`,
    );
  });
});
