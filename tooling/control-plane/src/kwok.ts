import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { V1Node } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { packageRoot } from "./layout.js";

/** Languages, SDK types and tiers the Odigos node agent's device plugin advertises devices for. */
export const instrumentationLanguages = ["java", "python", "go", "dotnet", "javascript"] as const;
export const instrumentationSdkTypes = ["native", "ebpf"] as const;
export const instrumentationSdkTiers = ["community", "enterprise"] as const;

/** Every `instrumentation.odigos.io/<language>-<sdkType>-<sdkTier>` device, as extended-resource names. */
export const instrumentationDevices: readonly string[] = instrumentationLanguages.flatMap(
  (language) =>
    instrumentationSdkTypes.flatMap((sdkType) =>
      instrumentationSdkTiers.map(
        (tier) => `instrumentation.odigos.io/${language}-${sdkType}-${tier}`,
      ),
    ),
);

/** How many of each device a node advertises: more than a node ever runs pods. */
export const deviceCountPerNode = "1000";

/** The annotation that hands a node to KWOK (the only nodes it manages). */
export const kwokNodeAnnotation = { key: "kwok.x-k8s.io/node", value: "fake" } as const;

/** Node label: `"true"` on nodes that advertise the instrumentation devices, `"false"` on the others. */
export const deviceNodeLabel = "kwok.odigos.io/instrumentation-devices";

/** Pod annotations (in a pod template) that steer the KWOK stages for that pod; see kwok/stages.yaml. */
export const podStageAnnotations = {
  /** Go duration from Running to Ready instead of the cluster's; e.g. `"1h"` for a pod that never gets ready in a test. */
  readyDelay: "pod-ready.stage.kwok.x-k8s.io/delay",
  /** Upper bound of that delay (picked at random in between); default: the delay itself. */
  readyJitterDelay: "pod-ready.stage.kwok.x-k8s.io/jitter-delay",
  /** The container of this name crash-loops. */
  crashLoopContainer: "crash-loop.stage.kwok.x-k8s.io/container",
  /** Every container with this resource name in its `limits` crash-loops (e.g. a device: only an instrumented revision crashes). */
  crashLoopResource: "crash-loop.stage.kwok.x-k8s.io/resource",
  /** Go duration between restarts of a crash-looping container instead of the cluster's. */
  crashLoopDelay: "crash-loop.stage.kwok.x-k8s.io/delay",
  /**
   * A pod with a container that has this resource name in its `limits` runs but never becomes
   * Ready (e.g. a device: only an instrumented revision hangs, as an agent that blocks start-up).
   */
  notReadyResource: "not-ready.stage.kwok.x-k8s.io/resource",
} as const;

/** What `startControlPlane({ pods })` builds; every field optional. */
export interface PodsOptions {
  /** Fake nodes that advertise every instrumentation device. Default 20. */
  readonly nodes?: number;
  /** Fake nodes that advertise none (a node without the Odigos node agent). Default 1. */
  readonly nodesWithoutDevices?: number;
  /** Pods each node can hold. Default 500 (1000 workloads x 2 replicas, with surge, fit on 20 nodes). */
  readonly podsPerNode?: number;
  /** Time from a pod's containers starting (Running) to the pod being Ready. Default 1000 ms. */
  readonly podReadyDelayMs?: number;
  /** Up to this much more, at random per pod, on top of podReadyDelayMs. Default 200 ms. */
  readonly podReadyJitterMs?: number;
  /** Time between restarts of a crash-looping container (the restart count rises by one each). Default 1000 ms. */
  readonly crashLoopIntervalMs?: number;
  /**
   * Extended resources the device nodes advertise. Default {@link instrumentationDevices}; fewer
   * make a cluster where a device the instrumentor writes fits on no node.
   */
  readonly devices?: readonly string[];
}

export type ResolvedPodsOptions = Required<PodsOptions>;

export const defaultPodsOptions: ResolvedPodsOptions = {
  nodes: 20,
  nodesWithoutDevices: 1,
  podsPerNode: 500,
  podReadyDelayMs: 1000,
  podReadyJitterMs: 200,
  crashLoopIntervalMs: 1000,
  devices: instrumentationDevices,
};

/** Fills in the defaults and rejects values that cannot make a cluster, naming the option. */
export function resolvePodsOptions(options: PodsOptions | true): ResolvedPodsOptions {
  const resolved = { ...defaultPodsOptions, ...(options === true ? {} : options) };
  const { devices, ...counts } = resolved;
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`pods.${name} must be a whole number >= 0, got ${value}`);
  }
  const invalid = devices.filter((device) => !/^[a-z0-9.-]+\/[A-Za-z0-9._-]+$/.test(device));
  if (invalid.length > 0)
    throw new RangeError(
      `pods.devices must be extended-resource names (<domain>/<name>), got ${invalid.join(", ")}`,
    );
  if (resolved.nodes < 1)
    throw new RangeError("pods.nodes must be at least 1: no node would advertise the devices");
  if (resolved.podsPerNode < 1) throw new RangeError("pods.podsPerNode must be at least 1");
  return resolved;
}

/** Names of the fake nodes: `kwok-node-<i>` advertise the devices, `kwok-node-no-devices-<i>` do not. */
export function fakeNodeNames(options: ResolvedPodsOptions): {
  withDevices: string[];
  withoutDevices: string[];
} {
  return {
    withDevices: Array.from({ length: options.nodes }, (_, i) => `kwok-node-${i}`),
    withoutDevices: Array.from(
      { length: options.nodesWithoutDevices },
      (_, i) => `kwok-node-no-devices-${i}`,
    ),
  };
}

/**
 * The Node objects to create. Their `status.capacity`/`allocatable` is what KWOK's
 * node-initialize stage keeps, so the scheduler places a pod that asks for a device only on a
 * node that advertises it, as with the real device plugin.
 */
export function fakeNodes(options: ResolvedPodsOptions): V1Node[] {
  const names = fakeNodeNames(options);
  const node = (name: string, devices: boolean): V1Node => {
    const resources: Record<string, string> = {
      cpu: "64",
      memory: "256Gi",
      pods: String(options.podsPerNode),
      ...(devices
        ? Object.fromEntries(options.devices.map((device) => [device, deviceCountPerNode]))
        : {}),
    };
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: {
          [kwokNodeAnnotation.key]: kwokNodeAnnotation.value,
          // No kubelet caches secrets/configmaps here: nothing to refresh.
          "node.alpha.kubernetes.io/ttl": "0",
        },
        labels: {
          type: "kwok",
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          [deviceNodeLabel]: String(devices),
        },
      },
      status: { capacity: resources, allocatable: resources },
    };
  };
  return [
    ...names.withDevices.map((name) => node(name, true)),
    ...names.withoutDevices.map((name) => node(name, false)),
  ];
}

/** The stage file shipped with this package. */
export const kwokStagesFile = join(packageRoot, "kwok", "stages.yaml");

/**
 * jq: names of the containers chosen to crash-loop (the annotations above); nothing when the pod
 * is healthy. pod-running and pod-ready require it empty, crash-loop non-empty, so exactly one
 * of them matches a pod.
 */
export const crashLoopingContainers = [
  ".metadata.annotations as $a | .spec.containers[]",
  `| select(.name == $a["${podStageAnnotations.crashLoopContainer}"]`,
  `or ((.resources.limits // {}) | has($a["${podStageAnnotations.crashLoopResource}"] // "")))`,
  "| .name",
].join(" ");

/**
 * jq: names of the containers that keep their pod from ever becoming Ready (the annotation
 * above); nothing for a pod that gets ready. pod-ready requires it empty: such a pod stays
 * Running and not Ready (it never crash-loops: pod-running and crash-loop do not read it).
 */
export const neverReadyContainers = [
  ".metadata.annotations as $a | .spec.containers[]",
  `| select((.resources.limits // {}) | has($a["${podStageAnnotations.notReadyResource}"] // ""))`,
  "| .name",
].join(" ");

interface StageDocument {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    selector?: { matchExpressions?: { jq?: { key?: string } }[] };
    delay?: { durationMilliseconds?: number; jitterDurationMilliseconds?: number };
  };
}

/**
 * kwok's flags: manage only the nodes annotated {@link kwokNodeAnnotation}, renew a Lease per
 * node (the node lifecycle controller takes it as the heartbeat), pod IPs from one /16 pool.
 * Flags rather than a KwokConfiguration in the config file: kwok applies its defaults to the
 * other options only when the file has none.
 */
export function kwokArgs(kubeconfig: string, configFile: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--config=${configFile}`,
    `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation.key}=${kwokNodeAnnotation.value}`,
    "--node-lease-duration-seconds=40",
    "--cidr=10.244.0.1/16",
  ];
}

/** The file given to `kwok --config`: the stages of kwok/stages.yaml with the delays of `options` filled in. */
export function kwokConfiguration(
  options: ResolvedPodsOptions,
  stagesYaml: string = readFileSync(kwokStagesFile, "utf8"),
): string {
  const stages = parseAllDocuments(stagesYaml).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`${kwokStagesFile}: ${doc.errors.map((e) => e.message).join("; ")}`);
    return doc.toJS() as StageDocument;
  });
  const byName = new Map(stages.map((stage) => [stage.metadata?.name ?? "", stage]));
  const delayOf = (name: string) => {
    const delay = byName.get(name)?.spec?.delay;
    if (delay === undefined) throw new Error(`${kwokStagesFile}: stage ${name} has no delay`);
    return delay;
  };
  const ready = delayOf("pod-ready");
  ready.durationMilliseconds = options.podReadyDelayMs;
  ready.jitterDurationMilliseconds = options.podReadyDelayMs + options.podReadyJitterMs;
  delayOf("crash-loop").durationMilliseconds = options.crashLoopIntervalMs;
  for (const stage of stages) {
    for (const expression of stage.spec?.selector?.matchExpressions ?? []) {
      if (expression.jq?.key === "CRASH_LOOPING_CONTAINERS")
        expression.jq.key = crashLoopingContainers;
      if (expression.jq?.key === "NEVER_READY_CONTAINERS") expression.jq.key = neverReadyContainers;
    }
  }
  return stages.map((doc) => stringify(doc, { lineWidth: 0 })).join("---\n");
}
