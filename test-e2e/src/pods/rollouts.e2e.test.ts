// SPEC sections 4 and 8: a change to a workload's devices restarts its pods. Here the pods are
// real API objects: scheduled by kube-scheduler onto KWOK nodes that advertise the devices as
// extended resources (as the Odigos device plugin does), and made Running and Ready by KWOK.
import { deviceNodeLabel } from "@odigos/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device, type WorkloadKind } from "../support/odigos.js";
import {
  type PodsBed,
  type PodView,
  startPodsBed,
  waitForRollout,
  waitForTemplateDevices,
} from "../support/pods-cluster.js";

const optIn = { "odigos.io/instrument": "true" };
const optOut = { "odigos.io/instrument": "false" };

// Waits are bounded at 60 s each, inside this longer budget, so a failure says what it waited for.
describe("rollouts on a cluster with pods", { timeout: 180_000 }, () => {
  let bed: PodsBed;
  let ns: string;
  beforeAll(async () => {
    // Four device nodes keep the DaemonSet's one-node-at-a-time rollout short.
    bed = await startPodsBed({ pods: { nodes: 4, nodesWithoutDevices: 1 } });
    ns = await bed.namespace("rollouts");
  });
  afterAll(async () => {
    await bed?.stop();
  });

  /** Every pod runs on a node whose allocatable advertises each device its containers ask for. */
  const expectOnNodesAdvertising = async (pods: readonly PodView[]) => {
    for (const pod of pods) {
      expect(pod.node, `pod ${pod.name} is scheduled`).toBeDefined();
      const node = await bed.cluster.core.readNode({ name: pod.node ?? "" });
      // A positive quantity ("1k" for 1000): the scheduler placed it where the device exists.
      for (const devices of Object.values(pod.devices))
        for (const name of devices)
          expect(node.status?.allocatable?.[name], `${pod.node} advertises ${name}`).toMatch(
            /^[1-9]/,
          );
    }
  };

  it("a Deployment instrumented rolls out a new ReplicaSet with 3 new Ready pods carrying the device; un-instrumented rolls out again", async () => {
    const java = device("java");
    await bed.cluster.createWorkload("Deployment", ns, "web", { replicas: 3, annotations: optIn });
    const before = await waitForRollout(bed.cluster, "Deployment", ns, "web");
    expect(before).toHaveLength(3);
    expect(before.map((pod) => pod.devices)).toEqual(Array(3).fill({ app: [] }));
    const [firstSet] = new Set(before.map((pod) => pod.owner));

    // What the node agent does once the pods run: report their language.
    await bed.cluster.putRuntimeDetails("Deployment", ns, "web", [
      { containerName: "app", language: "java" },
    ]);
    const instrumented = await rolloutWith(bed, "Deployment", ns, "web", { app: [java] });
    expect(instrumented).toHaveLength(3);
    expect(instrumented.map((pod) => pod.devices)).toEqual(Array(3).fill({ app: [java] }));
    expect(instrumented.filter((pod) => before.some((old) => old.uid === pod.uid))).toEqual([]);
    const [secondSet, ...others] = new Set(instrumented.map((pod) => pod.owner));
    expect(others).toEqual([]);
    expect(secondSet).not.toBe(firstSet);
    await expectOnNodesAdvertising(instrumented);
    const sets = await bed.cluster.apps.listNamespacedReplicaSet({
      namespace: ns,
      labelSelector: "app=web",
    });
    const replicasBySet = Object.fromEntries(
      sets.items.map((set) => [set.metadata?.name, set.status?.replicas ?? 0]),
    );
    expect(replicasBySet).toEqual({ [firstSet ?? ""]: 0, [secondSet ?? ""]: 3 });

    await bed.cluster.annotateWorkload("Deployment", ns, "web", optOut);
    const uninstrumented = await rolloutWith(bed, "Deployment", ns, "web", {});
    expect(uninstrumented.map((pod) => pod.devices)).toEqual(Array(3).fill({ app: [] }));
    expect(uninstrumented).toHaveLength(3);
    expect(uninstrumented.filter((pod) => instrumented.some((old) => old.uid === pod.uid))).toEqual(
      [],
    );
    // The Deployment controller goes back to the ReplicaSet of the device-less template.
    expect(new Set(uninstrumented.map((pod) => pod.owner))).toEqual(new Set([firstSet]));
  });

  it("the scheduler keeps instrumented pods off the node without devices", async () => {
    const [noDevices] = bed.pods.nodesWithoutDevices;
    const [withDevices] = bed.pods.nodesWithDevices;
    // Only two nodes are allowed, the one without devices preferred: the un-instrumented pods
    // land there, so the instrumented ones have to be moved by their device request alone.
    await bed.cluster.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "pinned", namespace: ns, annotations: optIn },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "pinned" } },
          template: {
            metadata: { labels: { app: "pinned" } },
            spec: {
              containers: [{ name: "app", image: "example.invalid/app:1" }],
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                      {
                        matchExpressions: [
                          {
                            key: "kubernetes.io/hostname",
                            operator: "In",
                            values: [noDevices ?? "", withDevices ?? ""],
                          },
                        ],
                      },
                    ],
                  },
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                      weight: 100,
                      preference: {
                        matchExpressions: [
                          { key: deviceNodeLabel, operator: "In", values: ["false"] },
                        ],
                      },
                    },
                  ],
                },
              },
            },
          },
        },
      },
    });
    const before = await waitForRollout(bed.cluster, "Deployment", ns, "pinned");
    expect(before.map((pod) => pod.node)).toContain(noDevices);

    await bed.cluster.putRuntimeDetails("Deployment", ns, "pinned", [
      { containerName: "app", language: "go" },
    ]);
    const after = await rolloutWith(bed, "Deployment", ns, "pinned", { app: [device("go")] });
    expect(after.map((pod) => pod.devices)).toEqual(Array(2).fill({ app: [device("go")] }));
    expect(after.map((pod) => pod.node)).toEqual([withDevices, withDevices]);
  });

  it("a StatefulSet instrumented replaces its pods, one revision for all, each with the device", async () => {
    const python = device("python");
    await bed.cluster.createWorkload("StatefulSet", ns, "db", { replicas: 2, annotations: optIn });
    const before = await waitForRollout(bed.cluster, "StatefulSet", ns, "db");
    expect(before.map((pod) => pod.name)).toEqual(["db-0", "db-1"]);

    await bed.cluster.putRuntimeDetails("StatefulSet", ns, "db", [
      { containerName: "app", language: "python" },
    ]);
    const after = await rolloutWith(bed, "StatefulSet", ns, "db", { app: [python] });
    expect(after.map((pod) => pod.name)).toEqual(["db-0", "db-1"]);
    expect(after.map((pod) => pod.devices)).toEqual(Array(2).fill({ app: [python] }));
    expect(after.filter((pod) => before.some((old) => old.uid === pod.uid))).toEqual([]);
    expect(new Set(after.map((pod) => pod.revision)).size).toBe(1);
    expect(after[0]?.revision).not.toBe(before[0]?.revision);
    await expectOnNodesAdvertising(after);
  });

  it("a DaemonSet instrumented rolls on every node that can take it, one new Ready pod per node", async () => {
    const dotnet = device("dotnet");
    // The DaemonSet runs where the node agent runs: on the nodes that advertise devices.
    await bed.cluster.createWorkload("DaemonSet", ns, "agent", {
      annotations: optIn,
      nodeSelector: { [deviceNodeLabel]: "true" },
    });
    const before = await waitForRollout(bed.cluster, "DaemonSet", ns, "agent");
    expect(before.map((pod) => pod.node).sort()).toEqual([...bed.pods.nodesWithDevices].sort());

    await bed.cluster.putRuntimeDetails("DaemonSet", ns, "agent", [
      { containerName: "app", language: "dotnet" },
    ]);
    const after = await rolloutWith(bed, "DaemonSet", ns, "agent", { app: [dotnet] });
    expect(after.map((pod) => pod.node).sort()).toEqual([...bed.pods.nodesWithDevices].sort());
    expect(after.map((pod) => pod.devices)).toEqual(
      Array(bed.pods.nodesWithDevices.length).fill({ app: [dotnet] }),
    );
    expect(after.filter((pod) => before.some((old) => old.uid === pod.uid))).toEqual([]);
    await expectOnNodesAdvertising(after);
  });
});

/** Waits until the instrumentor has written `devices` into the template, then for the rollout it causes. */
async function rolloutWith(
  bed: PodsBed,
  kind: WorkloadKind,
  ns: string,
  name: string,
  devices: Record<string, string[]>,
): Promise<PodView[]> {
  await waitForTemplateDevices(bed.cluster, kind, ns, name, devices);
  return waitForRollout(bed.cluster, kind, ns, name);
}
