// SPEC section 8 on a cluster with pods: a collectors blip shorter than the grace period writes
// nothing and restarts no pod (a longer one removes every device, within the budget); an agent
// whose instrumented pods crash-loop is rolled back with the reason recorded and the circuit
// breaker stops the rest; a rolled-back workload is tried again once its runtime details change;
// a workload that already crash-loops is never instrumented; a GitOps loop that keeps replacing
// the manifest is answered a few times, then reported by its field manager, and the device comes
// back once the fight window after its last removal ends, not before.
import { podStageAnnotations } from "@odigos/control-plane";
import { credentialsFromKubeconfig, makeKubeClient, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatedBy } from "../support/evaluated.js";
import { device } from "../support/odigos.js";
import {
  type PodsBed,
  rollbackOf,
  startPodsBed,
  waitForRollout,
  waitForTemplateDevices,
  workloadPods,
} from "../support/pods-cluster.js";
import { sampleRollouts } from "../support/rollout-sampler.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];
const goDevice = device("go");
const optIn = { "odigos.io/instrument": "true" };
const debug = "--log-level=debug";

/** Successful patches of Deployments in `namespace` by an instrumentor, per workload, from the audit log. */
const patchesBy = async (bed: PodsBed, namespace: string, since = 0) => {
  const counts = new Map<string, number>();
  for (const event of await bed.controlPlane.readAuditEvents()) {
    if (
      event.stage !== "ResponseComplete" ||
      event.verb !== "patch" ||
      (event.responseStatus?.code ?? 0) >= 300
    )
      continue;
    if (!(event.userAgent ?? "").startsWith("odigos-instrumentor/")) continue;
    if (event.objectRef?.resource !== "deployments" || event.objectRef.namespace !== namespace)
      continue;
    const at = Date.parse((event as { stageTimestamp?: string }).stageTimestamp ?? "");
    if (at < since) continue;
    const name = event.objectRef.name ?? "";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort());
};

const podUids = async (bed: PodsBed, namespace: string, names: readonly string[]) =>
  (await Promise.all(names.map((name) => workloadPods(bed.cluster, namespace, name))))
    .flat()
    .map((pod) => pod.uid)
    .sort();

const eventsWithReason = async (bed: PodsBed, reason: string) =>
  (await bed.cluster.core.listEventForAllNamespaces({ fieldSelector: `reason=${reason}` })).items;

describe("collectors grace on a cluster with pods", { timeout: 300_000 }, () => {
  let bed: PodsBed;
  beforeAll(async () => {
    bed = await startPodsBed({
      pods: { nodes: 4 },
      args: [debug, "--collectors-unready-grace=20s", "--max-concurrent-rollouts=2"],
    });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("a blip shorter than the grace writes nothing and restarts no pod; a longer one removes every device, within the budget", async () => {
    const ns = await bed.namespace("blip", optIn);
    const names = ["a", "b", "c"];
    for (const name of names) {
      await bed.cluster.createWorkload("Deployment", ns, name, { replicas: 2 });
      await bed.cluster.putRuntimeDetails("Deployment", ns, name, go);
    }
    for (const name of names)
      await waitForTemplateDevices(
        bed.cluster,
        "Deployment",
        ns,
        name,
        { app: [goDevice] },
        120_000,
      );
    for (const name of names) await waitForRollout(bed.cluster, "Deployment", ns, name, 120_000);
    const patches = await patchesBy(bed, ns);
    const pods = await podUids(bed, ns, names);
    const evaluated = () =>
      evaluatedBy(
        bed.instrumentor,
        bed.cluster,
        "CollectorsGroup",
        bed.odigosNamespace,
        "data-collection",
      );

    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    await evaluated();
    expect(bed.instrumentor.logs.some((line) => line.reason === "CollectorsUnreadyGrace")).toBe(
      true,
    );
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await evaluated();
    expect(await patchesBy(bed, ns)).toEqual(patches);
    expect(await podUids(bed, ns, names)).toEqual(pods);

    const notReadyAt = Date.now();
    const sampler = sampleRollouts(bed.cluster, ns, notReadyAt, bed.controlPlane.readAuditEvents);
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    for (const name of names)
      await waitForTemplateDevices(bed.cluster, "Deployment", ns, name, {}, 120_000);
    await waitFor(() => sampler.completed.size === names.length, {
      timeoutMs: 120_000,
      description: "the removals rolled out",
    });
    await sampler.stop();
    const removals = bed.instrumentor.logs.filter((line) =>
      String(line.msg).startsWith("un-instrumented"),
    );
    expect(removals).toHaveLength(names.length);
    for (const line of removals)
      expect(Date.parse(String(line.time)) - notReadyAt).toBeGreaterThanOrEqual(19_000);
    expect(Math.max(...sampler.samples.map((sample) => sample.rolling.length))).toBeLessThanOrEqual(
      2,
    );
  });
});

describe("rollback and the circuit breaker on a cluster with pods", { timeout: 300_000 }, () => {
  let bed: PodsBed;
  beforeAll(async () => {
    bed = await startPodsBed({
      pods: { nodes: 4 },
      args: [
        debug,
        "--max-concurrent-rollouts=10",
        "--breaker-threshold=2",
        "--rollback-restarts=2",
      ],
    });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("an agent that crash-loops is rolled back with the reason recorded, and the breaker stops every workload outside the waves already started", async () => {
    const ns = await bed.namespace("crashy");
    const names = ["a", "b", "c", "d", "e", "f"];
    for (const name of names) {
      // Only the instrumented revision crash-loops: the stage is keyed on the device.
      await bed.cluster.createWorkload("Deployment", ns, name, {
        replicas: 2,
        podAnnotations: { [podStageAnnotations.crashLoopResource]: goDevice },
      });
    }
    for (const name of names) await waitForRollout(bed.cluster, "Deployment", ns, name, 120_000);
    // Opted in all at once; the node agent then reports each one's language.
    await bed.cluster.annotateNamespace(ns, optIn);
    for (const name of names) await bed.cluster.putRuntimeDetails("Deployment", ns, name, go);
    await bed.instrumentor.waitForLog((line) => line.reason === "CircuitBreakerOpen", 240_000);
    const rolledBack: string[] = [];
    for (const name of names)
      if ((await rollbackOf(bed, ns, name)) !== undefined) rolledBack.push(name);
    expect(rolledBack).toHaveLength(2);
    for (const name of rolledBack) {
      expect(await rollbackOf(bed, ns, name)).toMatchObject({
        container: "app",
        reason: expect.stringMatching(/^(CrashLoopBackOff|RestartingContainer)$/),
      });
      await waitForTemplateDevices(bed.cluster, "Deployment", ns, name, {}, 60_000);
    }
    // Every other workload was evaluated with the breaker open, and never touched.
    for (const name of names)
      await evaluatedBy(bed.instrumentor, bed.cluster, "Deployment", ns, name);
    expect(await patchesBy(bed, ns)).toEqual(
      Object.fromEntries(rolledBack.map((name) => [name, 2])),
    );
    const [open] = await eventsWithReason(bed, "CircuitBreakerOpen");
    expect(open?.involvedObject).toMatchObject({
      kind: "OdigosConfiguration",
      name: "odigos-config",
    });
    expect(
      (await eventsWithReason(bed, "RolledBack")).map((event) => event.involvedObject.name).sort(),
    ).toEqual(rolledBack.sort());
  });
});

describe("rollback on a cluster with pods: tried again, and never the already crash-looping", {
  timeout: 300_000,
}, () => {
  let bed: PodsBed;
  beforeAll(async () => {
    bed = await startPodsBed({
      pods: { nodes: 4 },
      args: [debug, "--breaker-threshold=0", "--rollback-restarts=2"],
    });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("a rolled-back workload stays un-instrumented until its runtime details change, then is tried again", async () => {
    const ns = await bed.namespace("retry", optIn);
    await bed.cluster.createWorkload("Deployment", ns, "x", {
      replicas: 2,
      podAnnotations: { [podStageAnnotations.crashLoopResource]: goDevice },
    });
    await bed.cluster.putRuntimeDetails("Deployment", ns, "x", go);
    await waitFor(async () => (await rollbackOf(bed, ns, "x")) !== undefined, {
      timeoutMs: 120_000,
      description: "x rolled back",
    });
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "x", {}, 60_000);
    await waitForRollout(bed.cluster, "Deployment", ns, "x", 120_000);
    await evaluatedBy(bed.instrumentor, bed.cluster, "Deployment", ns, "x");
    expect(await bed.cluster.devices("Deployment", ns, "x")).toEqual({});
    // The node agent reports another language: new inputs, tried again (this device does not crash).
    await bed.cluster.putRuntimeDetails("Deployment", ns, "x", [
      { containerName: "app", language: "java" },
    ]);
    await waitForTemplateDevices(
      bed.cluster,
      "Deployment",
      ns,
      "x",
      { app: [device("java")] },
      60_000,
    );
    await waitForRollout(bed.cluster, "Deployment", ns, "x", 120_000);
    expect(await rollbackOf(bed, ns, "x")).toBeUndefined();
  });

  it("a workload whose pods already crash-loop is never instrumented, and it says so", async () => {
    const ns = await bed.namespace("sick", optIn);
    await bed.cluster.createWorkload("Deployment", ns, "y", {
      replicas: 2,
      podAnnotations: { [podStageAnnotations.crashLoopContainer]: "app" },
    });
    await waitFor(
      async () =>
        (await workloadPods(bed.cluster, ns, "y")).some(
          (pod) => pod.containers.app?.waitingReason === "CrashLoopBackOff",
        ),
      { timeoutMs: 60_000, description: "y crash-looping" },
    );
    await bed.cluster.putRuntimeDetails("Deployment", ns, "y", go);
    await bed.instrumentor.waitForLog(
      (line) => line.reason === "UnhealthyBeforeInstrumentation" && line.workload === "y",
      60_000,
    );
    await evaluatedBy(bed.instrumentor, bed.cluster, "InstrumentedApplication", ns, "deployment-y");
    expect(await bed.cluster.devices("Deployment", ns, "y")).toEqual({});
    expect(await patchesBy(bed, ns)).toEqual({});
    expect(
      (await eventsWithReason(bed, "UnhealthyBeforeInstrumentation")).map(
        (event) => event.involvedObject.name,
      ),
    ).toContain("y");
  });
});

/**
 * Successful writes (`verb`: `update` for a PUT, `patch`) of Deployment `namespace/name` whose
 * User-Agent starts with `agent`, as the audit log times them (ms since the epoch), oldest first:
 * when the API server received them, as nothing can see a write before that (a watch event can
 * reach the instrumentor before the server logs the response).
 */
const writeTimes = async (
  bed: PodsBed,
  namespace: string,
  name: string,
  agent: string,
  verb: "update" | "patch",
) =>
  (await bed.controlPlane.readAuditEvents())
    .filter(
      (event) =>
        event.stage === "ResponseComplete" &&
        event.verb === verb &&
        (event.responseStatus?.code ?? 0) < 300 &&
        (event.userAgent ?? "").startsWith(agent) &&
        event.objectRef?.resource === "deployments" &&
        event.objectRef.namespace === namespace &&
        event.objectRef.name === name,
    )
    .map((event) =>
      Date.parse((event as { requestReceivedTimestamp?: string }).requestReceivedTimestamp ?? ""),
    )
    .sort((a, b) => a - b);

describe("a fight with a GitOps loop on a cluster with pods", { timeout: 300_000 }, () => {
  const windowMs = 60_000;
  let bed: PodsBed;
  beforeAll(async () => {
    bed = await startPodsBed({
      pods: { nodes: 4 },
      args: [debug, "--fight-limit=3", `--fight-window=${windowMs / 1000}s`],
    });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("puts the devices back at most 3 times, then names the other writer; not again before the window ends, and once after it", async () => {
    const ns = await bed.namespace("gitops", optIn);
    // The GitOps tool created the workload from its manifest, and keeps re-syncing it.
    const gitops = makeKubeClient(
      await Effect.runPromise(credentialsFromKubeconfig(bed.controlPlane.kubeconfigPath)),
      { userAgent: "gitops-loop/1.0", fieldManager: "gitops-loop" },
    );
    const original = {
      replicas: 2,
      selector: { matchLabels: { app: "z" } },
      template: {
        metadata: { labels: { app: "z" } },
        spec: { containers: [{ name: "app", image: "example.invalid/app:1" }] },
      },
    };
    await Effect.runPromise(
      gitops.create(Resources.Deployment, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "z", namespace: ns },
        spec: original,
      }),
    );
    await bed.cluster.putRuntimeDetails("Deployment", ns, "z", go);
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "z", { app: [goDevice] }, 60_000);
    // The loop replaces the workload with its manifest every 3 s, as a GitOps tool with
    // replace-style syncs does (server-side apply would leave fields another manager owns
    // alone), stamping the revision it synced: that stamp is a field it takes, so managedFields
    // records its writes. (A replace or patch that changes nothing but removals is recorded
    // nowhere: fight-attribution.e2e.test.ts.) It goes on for two syncs after the report.
    const loopStart = Date.now();
    let fight: Record<string, unknown> | undefined;
    try {
      let afterReport = 0;
      for (let sync = 1; afterReport < 2 && Date.now() - loopStart < 120_000; sync++) {
        const current = await Effect.runPromise(
          gitops.get(Resources.Deployment, "z", { namespace: ns }),
        );
        const manifest = {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: {
            name: "z",
            namespace: ns,
            annotations: { "gitops.example/revision": String(sync) },
            resourceVersion: current.metadata.resourceVersion,
          },
          spec: original,
        };
        await Effect.runPromise(Effect.either(gitops.replace(Resources.Deployment, manifest)));
        if (fight !== undefined) afterReport++;
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        fight ??= bed.instrumentor.logs.find((line) => line.reason === "FightDetected");
      }
    } finally {
      gitops.close();
    }
    expect(fight).toMatchObject({
      level: "warn",
      writer: "gitops-loop",
      writerRecorded: true,
      workload: "z",
    });
    expect(String(fight?.msg)).toMatch(
      /^gitops-loop keeps removing the instrumentation devices.*Remedy: make gitops-loop ignore resources\.limits\["instrumentation\.odigos\.io\/\*"\]/,
    );
    expect(String(fight?.msg)).not.toMatch(/not recorded/);
    const reportedAt = Date.parse(String(fight?.time));
    const duringLoop = (await patchesBy(bed, ns, loopStart)).z ?? 0;
    expect(duringLoop).toBeLessThanOrEqual(3);
    expect(duringLoop).toBeGreaterThanOrEqual(1);
    expect(
      (await eventsWithReason(bed, "FightDetected")).map((event) => event.involvedObject.name),
    ).toEqual(["z"]);
    // The pause starts at the removal the report answers: the last sync before the report.
    const pausedFrom = (await writeTimes(bed, ns, "z", "gitops-loop/", "update"))
      .filter((at) => at <= reportedAt)
      .at(-1);
    expect(pausedFrom).toBeDefined();
    const windowEnd = (pausedFrom ?? 0) + windowMs;

    // Inside the window, once the instrumentor has seen the last sync and is idle: no device.
    await evaluatedBy(bed.instrumentor, bed.cluster, "Deployment", ns, "z");
    const checkedAt = Date.now();
    expect(await bed.cluster.devices("Deployment", ns, "z")).toEqual({});
    expect(checkedAt, "the check inside the window came too late to prove anything").toBeLessThan(
      windowEnd,
    );

    // After the window: the device comes back (quiet since), with the first write since the report.
    await waitForTemplateDevices(
      bed.cluster,
      "Deployment",
      ns,
      "z",
      { app: [goDevice] },
      windowEnd - Date.now() + 60_000,
    );
    const putBacks = (await writeTimes(bed, ns, "z", "odigos-instrumentor/", "patch")).filter(
      (at) => at > reportedAt,
    );
    expect(putBacks.length).toBeGreaterThanOrEqual(1);
    const putBackAt = putBacks[0] ?? 0;
    console.log(
      `[e2e] fight: paused ${new Date(pausedFrom ?? 0).toISOString()}, checked ${((windowEnd - checkedAt) / 1000).toFixed(1)} s before the window's end, put back ${putBackAt - windowEnd} ms after it`,
    );
    expect(putBackAt).toBeGreaterThanOrEqual(windowEnd);
    // Promptly once the window ends, not a window after the instrumentor last looked.
    expect(putBackAt).toBeLessThan(windowEnd + 20_000);
  });
});
