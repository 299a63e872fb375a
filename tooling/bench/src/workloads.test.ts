import { describe, expect, it } from "vitest";
import { summarizeRequests } from "./requests.js";
import {
  carries,
  daemonSetNodes,
  devicePatch,
  expectedDevices,
  hasAnyDevice,
  planWorkloads,
  replicasOf,
  stateOf,
  workloadManifest,
} from "./workloads.js";

describe("the seeded workloads", () => {
  const specs = planWorkloads(1000, 20);

  it("mixes kinds and multi-container pods over every namespace", () => {
    const count = (kind: string) => specs.filter((spec) => spec.kind === kind).length;
    expect(count("Deployment")).toBe(850);
    expect(count("StatefulSet")).toBe(100);
    expect(count("DaemonSet")).toBe(50);
    expect(specs.filter((spec) => spec.containers.length > 1).length).toBe(240);
    expect(new Set(specs.map((spec) => spec.namespace)).size).toBe(20);
    expect(new Set(specs.map((spec) => `${spec.kind}/${spec.namespace}/${spec.name}`)).size).toBe(
      1000,
    );
  });

  it("gives a device to every container with a language, none to the sidecar", () => {
    const spec = specs[3];
    expect(spec?.containers.map((container) => container.name)).toEqual(["app", "worker", "proxy"]);
    expect(spec === undefined ? {} : expectedDevices(spec)).toEqual({
      app: ["instrumentation.odigos.io/dotnet-native-community"],
      worker: ["instrumentation.odigos.io/javascript-native-community"],
    });
  });
});

describe("the seeded workloads on a cluster with pods", () => {
  const specs = planWorkloads(40, 20);
  const nodes = ["n0", "n1", "n2"];
  const shape = { replicas: 2, nodes };
  const find = (kind: string) => specs.find((spec) => spec.kind === kind);

  it("gives Deployments and StatefulSets their replicas", () => {
    for (const kind of ["Deployment", "StatefulSet"]) {
      const spec = find(kind);
      if (spec === undefined) throw new Error(`no ${kind}`);
      expect((workloadManifest(spec, shape).spec as { replicas?: number }).replicas).toBe(2);
      expect(replicasOf(spec, shape)).toBe(2);
      // Without pods, as before: no replicas field (the plain control plane runs no pod).
      expect((workloadManifest(spec).spec as { replicas?: number }).replicas).toBeUndefined();
    }
  });

  it("keeps each DaemonSet to as many nodes as replicas, in turn", () => {
    expect(daemonSetNodes(0, nodes, 2)).toEqual(["n0", "n1"]);
    expect(daemonSetNodes(2, nodes, 2)).toEqual(["n2", "n0"]);
    expect(daemonSetNodes(1, nodes, 5)).toEqual(["n1", "n2", "n0"]);
    expect(daemonSetNodes(1, [], 2)).toEqual([]);
    const spec = find("DaemonSet");
    if (spec === undefined) throw new Error("no DaemonSet");
    const manifest = workloadManifest(spec, shape) as unknown as {
      spec: {
        replicas?: number;
        template: {
          spec: {
            affinity?: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: Array<{
                    matchExpressions: Array<{ key: string; values: string[] }>;
                  }>;
                };
              };
            };
          };
        };
      };
    };
    expect(manifest.spec.replicas).toBeUndefined();
    const term =
      manifest.spec.template.spec.affinity?.nodeAffinity
        .requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]?.matchExpressions[0];
    expect(term?.key).toBe("kubernetes.io/hostname");
    expect(term?.values).toEqual(daemonSetNodes(spec.index, nodes, 2));
    expect(replicasOf(spec, shape)).toBe(2);
    expect(replicasOf(spec, { replicas: 2, nodes: ["only"] })).toBe(1);
  });
});

describe("the floor's patch", () => {
  const specs = planWorkloads(30, 2);

  it("adds devices to each resources shape and removes them again", () => {
    for (const spec of specs) {
      const manifest = workloadManifest(spec) as { metadata: Record<string, unknown> };
      const raw = { ...manifest, metadata: { ...manifest.metadata, resourceVersion: "7" } };
      const state = stateOf(spec.kind, raw);
      if (state === undefined) throw new Error("no state");
      const desired = expectedDevices(spec);
      expect(carries(state, desired)).toBe(false);
      const add = devicePatch(state, desired) ?? [];
      expect(add[0]).toEqual({ op: "replace", path: "/metadata/resourceVersion", value: "7" });
      // Apply the patch the way the API server would, for the shapes it emits.
      const patched = structuredClone(raw) as unknown as {
        spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
      };
      for (const operation of add.slice(1)) {
        const [, , , , , index, , list, device] = operation.path.split("/");
        const container = patched.spec.template.spec.containers[Number(index)] ?? {};
        if (operation.op !== "add") throw new Error(`unexpected ${operation.op}`);
        if (list === undefined) container.resources = operation.value;
        else {
          const resources = container.resources as Record<string, Record<string, unknown>>;
          if (device === undefined) resources[list] = operation.value as Record<string, unknown>;
          else {
            const entries = resources[list] ?? {};
            entries[device.replaceAll("~1", "/")] = operation.value;
            resources[list] = entries;
          }
        }
      }
      const after = stateOf(spec.kind, patched);
      if (after === undefined) throw new Error("no state");
      expect(carries(after, desired)).toBe(true);
      expect(devicePatch(after, desired)).toBeUndefined();
      const remove = devicePatch(after, {}) ?? [];
      expect(remove.slice(1).every((operation) => operation.op === "remove")).toBe(true);
      expect(remove.length - 1).toBe(Object.keys(desired).length);
      expect(hasAnyDevice(after)).toBe(true);
    }
  });
});

describe("audit summaries", () => {
  it("counts watches when they start, the rest when they complete, and workload GETs", () => {
    const summary = summarizeRequests([
      { stage: "ResponseStarted", verb: "watch", objectRef: { resource: "deployments" } },
      { stage: "ResponseComplete", verb: "watch", objectRef: { resource: "deployments" } },
      {
        stage: "ResponseComplete",
        verb: "get",
        objectRef: { resource: "statefulsets", name: "a" },
      },
      { stage: "ResponseComplete", verb: "list", objectRef: { resource: "daemonsets" } },
      {
        stage: "ResponseComplete",
        verb: "patch",
        objectRef: { resource: "deployments", namespace: "n", name: "a" },
        responseStatus: { code: 409 },
      },
      {
        stage: "ResponseComplete",
        verb: "patch",
        objectRef: { resource: "deployments", namespace: "n", name: "a" },
        responseStatus: { code: 200 },
      },
      {
        stage: "ResponseComplete",
        verb: "delete",
        objectRef: { resource: "instrumentedapplications", namespace: "n", name: "deployment-a" },
      },
    ]);
    expect(summary.total).toBe(6);
    expect(summary.workloadGets).toBe(1);
    expect(summary.writes).toBe(3);
    expect(summary.workloadWrites).toBe(2);
    expect(summary.workloadsWritten).toBe(1);
    expect(summary.maxWritesPerWorkload).toBe(2);
    expect(summary.conflicts).toBe(1);
    expect(summary.byVerbResource).toEqual({
      "patch deployments": 2,
      "delete instrumentedapplications": 1,
      "get statefulsets": 1,
      "list daemonsets": 1,
      "watch deployments": 1,
    });
  });
});
