#!/usr/bin/env node
// Measures the control plane with pods at scale: start-up, N Deployments x R replicas to Ready,
// then one mass rollout (every template changed at once), with CPU and memory of each component.
//   node scripts/measure-pods.mjs [--workloads 1000] [--replicas 2] [--nodes 20]
// Run after `pnpm --filter @odigos/control-plane build`. Prints one JSON object.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { ensureBinaries, instrumentationDevices, startControlPlane } from "../dist/index.js";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: "1000" },
    replicas: { type: "string", default: "2" },
    nodes: { type: "string", default: "20" },
  },
});
const workloads = Number(values.workloads);
const replicas = Number(values.replicas);
const nodes = Number(values.nodes);

const ticksPerSecond = 100; // USER_HZ on Linux
/** CPU seconds (user + system) a process has used so far. */
const cpuSeconds = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
};
/** Resident and peak resident memory in MiB. */
const memory = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kib("VmRSS") / 1024), peakMiB: Math.round(kib("VmHWM") / 1024) };
};
const sample = (pids) =>
  Object.fromEntries(
    Object.entries(pids)
      .filter(([, pid]) => pid !== undefined)
      .map(([name, pid]) => [name, { cpuSeconds: cpuSeconds(pid), ...memory(pid) }]),
  );
const cpuBetween = (before, after) =>
  Object.fromEntries(
    Object.keys(after).map((name) => [
      name,
      Math.round((after[name].cpuSeconds - (before[name]?.cpuSeconds ?? 0)) * 10) / 10,
    ]),
  );
const poll = async (probe, what, timeoutMs = 30 * 60_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
};
/** Runs `task` over `items` with at most `limit` at once. */
const eachLimited = async (items, limit, task) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
};

const binaries = await ensureBinaries({ pods: true });
let started = Date.now();
const controlPlane = await startControlPlane({ binaries, pods: { nodes }, crds: false });
const startMs = Date.now() - started;
try {
  const config = controlPlane.kubeConfig();
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);
  const namespace = "scale";
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const names = Array.from({ length: workloads }, (_, i) => `w-${i}`);
  const expected = workloads * replicas;
  const idle = sample(controlPlane.pids());

  // Counted from the Deployments' status (1000 objects) rather than by listing every pod: the
  // measurement should load the API server as little as it can.
  const deployments = async () =>
    (await apps.listNamespacedDeployment({ namespace, resourceVersion: "0" })).items;
  const readyPods = async () =>
    (await deployments()).reduce((sum, d) => sum + (d.status?.readyReplicas ?? 0), 0);
  const rolledOut = async () =>
    (await deployments()).filter(
      (d) =>
        (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
        d.status?.updatedReplicas === replicas &&
        d.status?.availableReplicas === replicas &&
        d.status?.replicas === replicas,
    ).length;

  started = Date.now();
  await eachLimited(names, 20, (name) =>
    apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name },
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: "app", image: "example.invalid/app:1" }] },
          },
        },
      },
    }),
  );
  const createMs = Date.now() - started;
  await poll(async () => ((await readyPods()) === expected ? true : undefined), "pods Ready");
  const readyMs = Date.now() - started;
  const atReady = sample(controlPlane.pids());

  // Every template changed at once, as a first instrumentation of everything would.
  const device = instrumentationDevices[0];
  const patch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
  started = Date.now();
  await eachLimited(names, 20, (name) =>
    apps.patchNamespacedDeployment(
      {
        name,
        namespace,
        body: [
          {
            op: "add",
            path: "/spec/template/spec/containers/0/resources",
            value: { limits: { [device]: "1" } },
          },
        ],
      },
      patch,
    ),
  );
  const patchMs = Date.now() - started;
  await poll(async () => ((await rolledOut()) === workloads ? true : undefined), "rollouts");
  const rolloutMs = Date.now() - started;
  const atRollout = sample(controlPlane.pids());

  console.log(
    JSON.stringify(
      {
        nodes,
        workloads,
        replicas,
        startMs,
        createMs,
        podsReadyMs: readyMs,
        patchMs,
        massRolloutMs: rolloutMs,
        cpuSecondsToReady: cpuBetween(idle, atReady),
        cpuSecondsMassRollout: cpuBetween(atReady, atRollout),
        memoryAtEnd: Object.fromEntries(
          Object.entries(atRollout).map(([name, s]) => [
            name,
            { rssMiB: s.rssMiB, peakMiB: s.peakMiB },
          ]),
        ),
      },
      null,
      2,
    ),
  );
} finally {
  await controlPlane.stop();
}
