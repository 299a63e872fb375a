import { describe, expect, it } from "vitest";
import { summarizeRequests } from "./requests.js";
import {
  carries,
  daemonSetNodes,
  devicePatch,
  expectedDevices,
  hasAnyDevice,
  kindOf,
  type PatchOperation,
  planWorkloads,
  replicasOf,
  runtimeDetailsManifest,
  seededKinds,
  seedingOf,
  stateOf,
  workloadManifest,
} from "./workloads.js";

describe("the seeded workloads", () => {
  const specs = planWorkloads(1000, 20);

  it("mixes kinds and multi-container pods over every namespace", () => {
    const count = (kind: string) => specs.filter((spec) => spec.kind === kind).length;
    expect(count("Deployment")).toBe(800);
    expect(count("StatefulSet")).toBe(100);
    expect(count("DaemonSet")).toBe(50);
    expect(count("CronJob")).toBe(50);
    expect(count("Rollout")).toBe(0);
    expect(specs.filter((spec) => spec.containers.length > 1).length).toBe(240);
    expect(new Set(specs.map((spec) => spec.namespace)).size).toBe(20);
    expect(new Set(specs.map((spec) => `${spec.kind}/${spec.namespace}/${spec.name}`)).size).toBe(
      1000,
    );
  });

  it("seeds 5 % Rollouts, taken from the Deployments, when their CRD is installed", () => {
    const withRollouts = planWorkloads(1000, 20, true);
    expect(seedingOf(withRollouts, 20, { ms: 0, requests: 0 }).byKind).toEqual({
      Deployment: 750,
      StatefulSet: 100,
      DaemonSet: 50,
      CronJob: 50,
      Rollout: 50,
    });
    // Only the Deployments of slot 3 change kind; everything else is the same plan.
    withRollouts.forEach((spec, index) => {
      const before = specs[index];
      expect({ ...spec, kind: "?" }).toEqual({ ...before, kind: "?" });
      if (spec.kind !== before?.kind)
        expect([before?.kind, spec.kind]).toEqual(["Deployment", "Rollout"]);
    });
    expect(
      withRollouts.filter((spec) => spec.kind === "Rollout" && spec.containers.length === 3),
    ).toHaveLength(10);
    expect(
      specs.filter((spec) => spec.kind === "CronJob" && spec.containers.length === 2),
    ).toHaveLength(50);
    expect(seededKinds(true)).toEqual([
      "Deployment",
      "StatefulSet",
      "DaemonSet",
      "CronJob",
      "Rollout",
    ]);
    expect(seededKinds(false)).not.toContain("Rollout");
    expect(kindOf(11, false)).toBe("CronJob");
    expect(kindOf(3, false)).toBe("Deployment");
  });

  it("seeds CronJobs suspended, their pods in the job template, and Rollouts of no replicas", () => {
    const withRollouts = planWorkloads(20, 2, true);
    const cronJob = withRollouts[11];
    const rollout = withRollouts[3];
    if (cronJob?.kind !== "CronJob" || rollout?.kind !== "Rollout") throw new Error("no kinds");
    const cron = workloadManifest(cronJob) as unknown as {
      apiVersion: string;
      spec: {
        schedule: string;
        suspend: boolean;
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: string; containers: unknown[] } } };
        };
      };
    };
    expect(cron.apiVersion).toBe("batch/v1");
    expect(cron.spec.schedule).toBe("* * * * *");
    expect(cron.spec.suspend).toBe(true);
    expect(cron.spec.jobTemplate.spec.template.spec.restartPolicy).toBe("Never");
    expect(stateOf("CronJob", cron)?.containers.map((container) => container.name)).toEqual([
      "app",
      "worker",
    ]);
    const argo = workloadManifest(rollout, { replicas: 2, nodes: ["n0"] }) as unknown as {
      apiVersion: string;
      spec: { replicas: number; template: unknown; strategy: unknown };
    };
    expect(argo.apiVersion).toBe("argoproj.io/v1alpha1");
    expect(argo.spec.replicas).toBe(0);
    expect(argo.spec.strategy).toEqual({ canary: {} });
    expect(replicasOf(rollout, { replicas: 2, nodes: ["n0"] })).toBe(0);
    expect(replicasOf(cronJob, { replicas: 2, nodes: ["n0"] })).toBe(0);
    expect(runtimeDetailsManifest(cronJob).metadata.name).toBe("cronjob-app-00011");
    expect(runtimeDetailsManifest(rollout).metadata.name).toBe("rollout-app-00003");
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

/** Applies a JSON Patch of the shapes the floor emits (add, remove, replace), as the API server would. */
const applyPatch = (target: unknown, operations: ReadonlyArray<PatchOperation>): void => {
  for (const operation of operations) {
    const keys = operation.path
      .split("/")
      .slice(1)
      .map((key) => key.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = keys.pop() ?? "";
    let node = target as Record<string, unknown>;
    for (const key of keys) node = node[key] as Record<string, unknown>;
    if (operation.op === "remove") delete node[last];
    else node[last] = operation.value;
  }
};

describe("the floor's patch", () => {
  // Every kind, a CronJob's containers in its job template.
  const specs = planWorkloads(30, 2, true);

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
      expect(add.slice(1).every((operation) => operation.op === "add")).toBe(true);
      expect(
        add[1]?.path.startsWith(
          spec.kind === "CronJob" ? "/spec/jobTemplate/spec/template/" : "/spec/template/",
        ),
      ).toBe(true);
      const patched = structuredClone(raw);
      applyPatch(patched, add.slice(1));
      const after = stateOf(spec.kind, patched);
      if (after === undefined) throw new Error("no state");
      expect(carries(after, desired)).toBe(true);
      expect(devicePatch(after, desired)).toBeUndefined();
      const remove = devicePatch(after, {}) ?? [];
      expect(remove.slice(1).every((operation) => operation.op === "remove")).toBe(true);
      expect(remove.length - 1).toBe(Object.keys(desired).length);
      expect(hasAnyDevice(after)).toBe(true);
      applyPatch(patched, remove.slice(1));
      const removed = stateOf(spec.kind, patched);
      expect(removed !== undefined && hasAnyDevice(removed)).toBe(false);
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
