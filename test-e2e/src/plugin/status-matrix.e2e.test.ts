// SPEC section 9 on a cluster with pods: one workload driven into each state and reason, and each
// seen the same way in the operator's `/status`, its gauge `odigos_instrumentor_workloads`, and
// `kubectl odigos-instrumentor status -o json` and `explain` run as a read-only user (with the
// leader's live facts through the pods proxy): the choices (not opted in, opted out), waiting for
// runtime details, no default SDK, instrumented with its pods, collectors in their grace, waiting
// for the one rollout slot behind a stuck rollout, the stuck rollout itself, a fight, a rollback,
// the circuit breaker, and odigos-config gone.
import { podStageAnnotations } from "@odigos/control-plane";
import { credentialsFromKubeconfig, makeKubeClient, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  communityDevices,
  defaultSdks,
  device,
  javaEnterprise,
  type Language,
} from "../support/odigos.js";
import { type PodsBed, startPodsBed, waitForTemplateDevices } from "../support/pods-cluster.js";
import { leaderProcessOptions, type StatusViews, statusViews } from "../support/status-views.js";

const podName = "odigos-instrumentor-6f9c4-matrix";
const goDevice = device("go");
const optIn = { "odigos.io/instrument": "true" };
const rolloutTimeoutS = 30;

describe("every state and reason, in every view (SPEC 9)", { timeout: 600_000 }, () => {
  let bed: PodsBed;
  let views: StatusViews;
  let ns: string;
  const leader = leaderProcessOptions(podName);
  const ref = (name: string) => ({ kind: "Deployment", namespace: ns, name });
  /** What the node agent reports: the language of the workload's one container, `app`. */
  const detect = (name: string, language: Language) =>
    bed.cluster.putRuntimeDetails("Deployment", ns, name, [{ containerName: "app", language }]);

  beforeAll(async () => {
    const { dotnet: _none, ...sdks } = defaultSdks;
    bed = await startPodsBed({
      pods: { nodes: 3, devices: communityDevices },
      // No default SDK for dotnet; java's is one no node has.
      defaultSDKs: { ...sdks, java: { sdkType: "native", sdkTier: "enterprise" } },
      args: [
        "--log-level=debug",
        ...leader.args,
        "--max-concurrent-rollouts=1",
        `--rollout-timeout=${rolloutTimeoutS}s`,
        "--collectors-unready-grace=120s",
        "--breaker-threshold=1",
        "--rollback-restarts=2",
        "--fight-limit=2",
        "--fight-window=120s",
      ],
      env: leader.env,
    });
    views = await statusViews(
      bed.controlPlane.kubeConfig(),
      bed.odigosNamespace,
      podName,
      () => bed.instrumentor,
    );
    ns = await bed.namespace("matrix");
  });
  afterAll(async () => {
    await views?.teardown();
    await bed?.stop();
  });

  it("a person's choices, the inputs the rules wait for, and an instrumented workload with its pods", async () => {
    const { cluster } = bed;
    await cluster.createWorkload("Deployment", ns, "plain", { replicas: 1 });
    await cluster.createWorkload("Deployment", ns, "legacy", {
      replicas: 1,
      annotations: { "odigos.io/instrument": "false" },
    });
    await cluster.createWorkload("Deployment", ns, "fresh", { replicas: 1, annotations: optIn });
    await cluster.createWorkload("Deployment", ns, "dotnet", { replicas: 1, annotations: optIn });
    await detect("dotnet", "dotnet");
    await cluster.createWorkload("Deployment", ns, "ok", { replicas: 2, annotations: optIn });
    await detect("ok", "go");

    const plain = await views.expectStatus(ref("plain"), {
      state: "NotInstrumented",
      reason: "NotOptedIn",
    });
    expect(plain.plugin.remedy).toBe(
      `kubectl annotate -n ${ns} deployment plain odigos.io/instrument=true`,
    );
    const legacy = await views.expectStatus(ref("legacy"), {
      state: "NotInstrumented",
      reason: "OptedOutByWorkload",
    });
    expect(legacy.explain).toContain("workload: disabled (annotation");
    await views.expectStatus(ref("fresh"), {
      state: "NotInstrumented",
      reason: "WaitingForRuntimeDetails",
    });
    const dotnet = await views.expectStatus(ref("dotnet"), {
      state: "NotInstrumented",
      reason: "NoDefaultSdk",
    });
    expect(dotnet.plugin.message).toMatch(/dotnet/);
    const ok = await views.expectStatus(
      ref("ok"),
      { state: "Instrumented", reason: "Instrumented" },
      180_000,
    );
    expect(ok.plugin.pods).toEqual({ withDevice: 2, desired: 2 });
    expect(ok.explain).toMatch(/pods: {7}2 of 2 wanted carry a device \(ok-/);
    expect(ok.explain).toContain("next:       nothing: it carries its devices");
  });

  it("collectors not ready: devices kept through the grace, said with the time left; back when ready", async () => {
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    const held = await views.expectStatus(ref("ok"), {
      state: "Held",
      reason: "CollectorsNotReady",
    });
    expect(held.operator.message).toMatch(/devices kept for \d+ s more of the grace period/);
    expect(held.plugin.message).toMatch(/devices kept for \d+ s more of the grace period/);
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await views.expectStatus(ref("ok"), { state: "Instrumented", reason: "Instrumented" });
  });

  it("one rollout slot: a rollout that cannot complete holds it, the next waits in line, then the stuck one is reported and frees it", async () => {
    const { cluster } = bed;
    await cluster.createWorkload("Deployment", ns, "stuck", { replicas: 2, annotations: optIn });
    await cluster.createWorkload("Deployment", ns, "next", { replicas: 1, annotations: optIn });
    await views.expectStatus(ref("next"), {
      state: "NotInstrumented",
      reason: "WaitingForRuntimeDetails",
    });
    await detect("stuck", "java");
    await waitForTemplateDevices(cluster, "Deployment", ns, "stuck", { app: [javaEnterprise] });
    await views.expectStatus(ref("stuck"), { state: "RollingOut", reason: "RollingOut" });
    await detect("next", "python");
    const waiting = await views.expectStatus(ref("next"), {
      state: "Waiting",
      reason: "WaitingForRolloutSlot",
    });
    expect(waiting.plugin.message).toContain("position 1 (1 rolling, 1 allowed)");
    expect(waiting.explain).toContain("next:       writes the change when a rollout slot frees");
    const stuck = await views.expectStatus(
      ref("stuck"),
      { state: "RollingOut", reason: "RolloutStuck" },
      rolloutTimeoutS * 1000 + 60_000,
    );
    expect(stuck.plugin.message).toContain("is not complete after the rollout timeout");
    await views.expectStatus(
      ref("next"),
      { state: "Instrumented", reason: "Instrumented" },
      180_000,
    );
  });

  it("a fight: after the limit of put-backs the device stays off, and the other writer is named", async () => {
    const gitops = makeKubeClient(
      await Effect.runPromise(credentialsFromKubeconfig(bed.controlPlane.kubeconfigPath)),
      { userAgent: "gitops-loop/1.0", fieldManager: "gitops-loop" },
    );
    const manifest = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "fought", namespace: ns, annotations: optIn },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "fought" } },
        template: {
          metadata: { labels: { app: "fought" } },
          spec: { containers: [{ name: "app", image: "example.invalid/app:1" }] },
        },
      },
    };
    await Effect.runPromise(gitops.create(Resources.Deployment, manifest));
    await detect("fought", "go");
    let looping = true;
    const loop = (async () => {
      while (looping) {
        await waitForTemplateDevices(bed.cluster, "Deployment", ns, "fought", {
          app: [goDevice],
        }).catch(() => undefined);
        if (!looping) break;
        const current = await Effect.runPromise(
          gitops.get(Resources.Deployment, "fought", { namespace: ns }),
        );
        await Effect.runPromise(
          Effect.either(
            gitops.replace(Resources.Deployment, {
              ...manifest,
              metadata: { ...manifest.metadata, resourceVersion: current.metadata.resourceVersion },
            }),
          ),
        );
      }
    })();
    try {
      const fight = await views.expectStatus(
        ref("fought"),
        { state: "Held", reason: "FightPaused" },
        120_000,
      );
      // A replace of an otherwise identical manifest leaves no managedFields entry of its own:
      // the loop is named as the writer, or as the candidate when its write is not recorded.
      expect(fight.plugin.message).toMatch(
        /^(gitops-loop|an unrecorded writer \(candidates: gitops-loop[^)]*\)) keeps removing the devices: not put back before /,
      );
      expect(fight.explain).toContain(
        "next:       puts the devices back when the fight pause ends",
      );
    } finally {
      looping = false;
      await loop;
      gitops.close();
    }
  });

  it("a crash-looping instrumented revision is rolled back; the breaker then holds every new instrumentation", async () => {
    const { cluster } = bed;
    await cluster.createWorkload("Deployment", ns, "crashy", {
      replicas: 2,
      annotations: optIn,
      podAnnotations: { [podStageAnnotations.crashLoopResource]: goDevice },
    });
    await detect("crashy", "go");
    const rolledBack = await views.expectStatus(
      ref("crashy"),
      { state: "Held", reason: "RolledBack" },
      180_000,
    );
    expect(rolledBack.plugin.message).toMatch(
      /rolled back .*: container app (CrashLoopBackOff|RestartingContainer)/,
    );
    expect(rolledBack.plugin.remedy).toContain(
      `kubectl annotate -n ${ns} deployment crashy odigos.io/rollback-`,
    );
    await cluster.createWorkload("Deployment", ns, "late", { replicas: 1, annotations: optIn });
    await detect("late", "python");
    const breaker = await views.expectStatus(ref("late"), {
      state: "Held",
      reason: "CircuitBreakerOpen",
    });
    expect(breaker.plugin.remedy).toContain("odigos.io/reset-breaker=");
    expect(breaker.explain).toContain("next:       starts no new instrumentation");
    // What a person sees of the whole namespace now (printed for the README's example).
    const { stdout: table } = await views.plugin("status", "-n", ns);
    expect(table.split("\n")[0]).toMatch(/^10 workloads: /);
    console.log(`[e2e] kubectl odigos-instrumentor status -n ${ns}\n${table}`);
    const { stdout: crashy } = await views.plugin("explain", `${ns}/deployment/crashy`);
    console.log(`[e2e] kubectl odigos-instrumentor explain ${ns}/deployment/crashy\n${crashy}`);
  });

  it("odigos-config gone: devices neither added nor removed, and said so", async () => {
    await bed.cluster.custom.deleteNamespacedCustomObject({
      group: "odigos.io",
      version: "v1alpha1",
      namespace: bed.odigosNamespace,
      plural: "odigosconfigurations",
      name: "odigos-config",
    });
    const held = await views.expectStatus(ref("ok"), {
      state: "Held",
      reason: "ConfigUnavailable",
    });
    expect(held.plugin.devices.present).toEqual({ app: [goDevice] });
  });

  it("Events: one per change of state, none for a workload nothing changed, none from reading", async () => {
    const events = (await bed.cluster.core.listNamespacedEvent({ namespace: ns })).items;
    const byObject = new Map<string, Array<string>>();
    for (const event of events) {
      if (event.reportingComponent !== "odigos.io/instrumentor") continue;
      const name = event.involvedObject.name ?? "";
      byObject.set(name, [...(byObject.get(name) ?? []), `${event.reason}x${event.count ?? 1}`]);
    }
    const of = (name: string) => byObject.get(name) ?? [];
    // Never acted on: no Event, however often the status was read.
    for (const name of ["plain", "legacy", "fresh"]) expect(of(name)).toEqual([]);
    expect(of("stuck").filter((entry) => entry.startsWith("RolloutStuck"))).toEqual([
      "RolloutStuckx1",
    ]);
    expect(of("fought").filter((entry) => entry.startsWith("FightDetected"))).toEqual([
      "FightDetectedx1",
    ]);
    expect(of("crashy").filter((entry) => entry.startsWith("RolledBack"))).toEqual([
      "RolledBackx1",
    ]);
  });
});
