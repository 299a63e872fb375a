import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  crashLoopingContainers,
  defaultPodsOptions,
  deviceNodeLabel,
  fakeNodes,
  instrumentationDevices,
  kwokConfiguration,
  kwokNodeAnnotation,
  neverReadyContainers,
  podStageAnnotations,
  resolvePodsOptions,
} from "./kwok.js";

describe("instrumentationDevices", () => {
  it("has one device per language, SDK type and tier, named as the device plugin names them", () => {
    expect(instrumentationDevices).toHaveLength(5 * 2 * 2);
    expect(instrumentationDevices).toContain("instrumentation.odigos.io/go-ebpf-community");
    expect(instrumentationDevices).toContain("instrumentation.odigos.io/java-native-enterprise");
    expect(new Set(instrumentationDevices).size).toBe(instrumentationDevices.length);
  });
});

describe("resolvePodsOptions", () => {
  it("fills in the defaults", () => {
    expect(resolvePodsOptions(true)).toEqual(defaultPodsOptions);
    expect(resolvePodsOptions({ nodes: 3 })).toEqual({ ...defaultPodsOptions, nodes: 3 });
  });

  it("rejects values that make no cluster, naming the option", () => {
    expect(() => resolvePodsOptions({ nodes: 0 })).toThrow(/pods\.nodes must be at least 1/);
    expect(() => resolvePodsOptions({ podReadyDelayMs: -1 })).toThrow(/pods\.podReadyDelayMs/);
    expect(() => resolvePodsOptions({ nodesWithoutDevices: 1.5 })).toThrow(
      /pods\.nodesWithoutDevices/,
    );
    expect(() => resolvePodsOptions({ devices: ["java"] })).toThrow(
      "pods.devices must be extended-resource names (<domain>/<name>), got java",
    );
  });
});

describe("fakeNodes", () => {
  const nodes = fakeNodes(resolvePodsOptions({ nodes: 3, nodesWithoutDevices: 2, podsPerNode: 7 }));

  it("hands every node to KWOK and labels whether it has devices", () => {
    expect(nodes.map((node) => node.metadata?.name)).toEqual([
      "kwok-node-0",
      "kwok-node-1",
      "kwok-node-2",
      "kwok-node-no-devices-0",
      "kwok-node-no-devices-1",
    ]);
    for (const node of nodes)
      expect(node.metadata?.annotations?.[kwokNodeAnnotation.key]).toBe(kwokNodeAnnotation.value);
    expect(nodes.map((node) => node.metadata?.labels?.[deviceNodeLabel])).toEqual([
      "true",
      "true",
      "true",
      "false",
      "false",
    ]);
  });

  it("advertises every device on device nodes only, and the pod capacity asked for", () => {
    const [withDevices, , , without] = nodes;
    for (const device of instrumentationDevices) {
      expect(withDevices?.status?.allocatable?.[device]).toBe("1000");
      expect(withDevices?.status?.capacity?.[device]).toBe("1000");
    }
    expect(
      Object.keys(without?.status?.allocatable ?? {}).filter((name) =>
        name.startsWith("instrumentation.odigos.io/"),
      ),
    ).toEqual([]);
    expect(without?.status?.allocatable?.pods).toBe("7");
  });

  it("advertises only the devices asked for", () => {
    const [node] = fakeNodes(
      resolvePodsOptions({ nodes: 1, devices: ["instrumentation.odigos.io/go-ebpf-community"] }),
    );
    expect(
      Object.keys(node?.status?.allocatable ?? {}).filter((name) => name.includes("/")),
    ).toEqual(["instrumentation.odigos.io/go-ebpf-community"]);
  });
});

describe("kwokConfiguration", () => {
  const stages = () =>
    parseAllDocuments(
      kwokConfiguration(
        resolvePodsOptions({
          podReadyDelayMs: 1500,
          podReadyJitterMs: 300,
          crashLoopIntervalMs: 700,
        }),
      ),
    ).map(
      (doc) =>
        doc.toJS() as {
          kind: string;
          metadata: { name: string };
          spec: {
            resourceRef: { kind: string };
            selector: { matchExpressions: { jq: { key: string; operator: string } }[] };
            delay?: { durationMilliseconds: number; jitterDurationMilliseconds?: number };
          };
        },
    );

  it("holds the node and pod stages, and nothing else", () => {
    expect(stages().map((stage) => `${stage.kind}/${stage.metadata.name}`)).toEqual([
      "Stage/node-initialize",
      "Stage/node-heartbeat-with-lease",
      "Stage/pod-running",
      "Stage/pod-ready",
      "Stage/crash-loop",
      "Stage/pod-delete",
      "Stage/pod-complete",
    ]);
  });

  it("fills in the delays from the options", () => {
    const byName = new Map(stages().map((stage) => [stage.metadata.name, stage]));
    expect(byName.get("pod-ready")?.spec.delay).toMatchObject({
      durationMilliseconds: 1500,
      jitterDurationMilliseconds: 1800,
    });
    expect(byName.get("crash-loop")?.spec.delay).toMatchObject({ durationMilliseconds: 700 });
  });

  it("makes exactly one of pod-running, pod-ready and crash-loop apply to a pod, by the same expression", () => {
    const byName = new Map(stages().map((stage) => [stage.metadata.name, stage]));
    const crashSelector = (name: string) =>
      byName
        .get(name)
        ?.spec.selector.matchExpressions.filter((e) => e.jq.key === crashLoopingContainers)
        .map((e) => e.jq.operator);
    expect(crashSelector("pod-running")).toEqual(["DoesNotExist"]);
    expect(crashSelector("pod-ready")).toEqual(["DoesNotExist"]);
    expect(crashSelector("crash-loop")).toEqual(["Exists"]);
    expect(JSON.stringify(stages())).not.toContain("CRASH_LOOPING_CONTAINERS");
  });

  it("reads the crash-loop annotations it documents", () => {
    expect(crashLoopingContainers).toContain(podStageAnnotations.crashLoopContainer);
    expect(crashLoopingContainers).toContain(podStageAnnotations.crashLoopResource);
  });

  it("keeps a pod chosen to stay not ready from pod-ready only, by the annotation it documents", () => {
    const byName = new Map(stages().map((stage) => [stage.metadata.name, stage]));
    const neverReadySelector = (name: string) =>
      byName
        .get(name)
        ?.spec.selector.matchExpressions.filter((e) => e.jq.key === neverReadyContainers)
        .map((e) => e.jq.operator);
    expect(neverReadySelector("pod-ready")).toEqual(["DoesNotExist"]);
    // It still starts (Running, not ready) and never crash-loops for it.
    expect(neverReadySelector("pod-running")).toEqual([]);
    expect(neverReadySelector("crash-loop")).toEqual([]);
    expect(JSON.stringify(stages())).not.toContain("NEVER_READY_CONTAINERS");
    expect(neverReadyContainers).toContain(podStageAnnotations.notReadyResource);
  });
});
