import type { Pod, Workload } from "@odigos/crd-types";
import { describe, expect, it } from "vitest";
import {
  instrumentationFingerprint,
  podCarriesDevices,
  podProblem,
  readRollbackRecord,
  readRolloutRecord,
  rolloutProgress,
} from "./rollout.js";

const meta = { name: "w", namespace: "shop", uid: "u", resourceVersion: "1", generation: 2 };
const template = { spec: { containers: [{ name: "app" }] } };
const deployment = (replicas: number | undefined, status: Workload["status"]): Workload => ({
  kind: "Deployment",
  metadata: meta,
  spec: { template, ...(replicas === undefined ? {} : { replicas }) },
  ...(status === undefined ? {} : { status }),
});

describe("rolloutProgress", () => {
  it.each([
    [
      "not observed yet",
      deployment(2, {
        observedGeneration: 1,
        updatedReplicas: 2,
        availableReplicas: 2,
        replicas: 2,
      }),
      "generation 2 not yet observed by its controller",
    ],
    [
      "half updated",
      deployment(2, {
        observedGeneration: 2,
        updatedReplicas: 1,
        availableReplicas: 2,
        replicas: 3,
      }),
      "1/2 replicas updated",
    ],
    [
      "updated, not available",
      deployment(2, {
        observedGeneration: 2,
        updatedReplicas: 2,
        availableReplicas: 1,
        replicas: 2,
      }),
      "1/2 replicas available",
    ],
    [
      "old pods left",
      deployment(2, {
        observedGeneration: 2,
        updatedReplicas: 2,
        availableReplicas: 2,
        replicas: 3,
      }),
      "1 old replicas still running",
    ],
    [
      "replicas default to 1",
      deployment(undefined, { observedGeneration: 2 }),
      "0/1 replicas updated",
    ],
  ])("a Deployment is progressing when %s", (_name, workload, detail) => {
    expect(rolloutProgress(workload)).toEqual({ _tag: "Progressing", detail });
  });

  it("a Deployment is complete when every replica is updated and available, and at once with 0 replicas", () => {
    expect(
      rolloutProgress(
        deployment(2, {
          observedGeneration: 2,
          updatedReplicas: 2,
          availableReplicas: 2,
          replicas: 2,
        }),
      ),
    ).toEqual({ _tag: "Complete" });
    expect(rolloutProgress(deployment(0, { observedGeneration: 2 }))).toEqual({ _tag: "Complete" });
  });

  it("a CronJob has no rollout: its change is complete when written", () => {
    const cronJob: Workload = { kind: "CronJob", metadata: meta, spec: { template } };
    expect(rolloutProgress(cronJob)).toEqual({ _tag: "Complete" });
  });

  it("an Argo Rollout is complete when Argo says Healthy, stable and every replica available", () => {
    const rollout = (status: Workload["status"]): Workload => ({
      kind: "Rollout",
      metadata: meta,
      spec: { template, replicas: 4 },
      ...(status === undefined ? {} : { status }),
    });
    const healthy = {
      observedGeneration: 2,
      phase: "Healthy",
      currentPodHash: "5c8b",
      stableRS: "5c8b",
      replicas: 4,
      updatedReplicas: 4,
      availableReplicas: 4,
    };
    expect(rolloutProgress(rollout(healthy))).toEqual({ _tag: "Complete" });
    const cases: ReadonlyArray<[Workload["status"], string]> = [
      [{ ...healthy, observedGeneration: 1 }, "generation 2 not yet observed by its controller"],
      [undefined, "generation 2 not yet observed by its controller"],
      [{ ...healthy, phase: "Paused" }, "Argo Rollouts phase Paused"],
      [{ ...healthy, phase: "Progressing" }, "Argo Rollouts phase Progressing"],
      [{ ...healthy, phase: "Degraded", abort: true }, "aborted by Argo Rollouts (phase Degraded)"],
      [{ ...healthy, stableRS: "77f4" }, "ReplicaSet 5c8b not yet stable"],
      [{ ...healthy, availableReplicas: 3 }, "3/4 replicas available"],
    ];
    for (const [status, detail] of cases)
      expect(rolloutProgress(rollout(status))).toEqual({ _tag: "Progressing", detail });
  });

  it("a StatefulSet counts ready replicas and needs its update revision current", () => {
    const statefulSet = (status: Workload["status"]): Workload => ({
      kind: "StatefulSet",
      metadata: meta,
      spec: { template, replicas: 2 },
      ...(status === undefined ? {} : { status }),
    });
    expect(
      rolloutProgress(
        statefulSet({
          observedGeneration: 2,
          updatedReplicas: 2,
          readyReplicas: 2,
          replicas: 2,
          currentRevision: "a",
          updateRevision: "b",
        }),
      ),
    ).toEqual({ _tag: "Progressing", detail: "revision b not yet current" });
    expect(
      rolloutProgress(
        statefulSet({ observedGeneration: 2, updatedReplicas: 2, readyReplicas: 1, replicas: 2 }),
      ),
    ).toEqual({ _tag: "Progressing", detail: "1/2 replicas ready" });
    expect(
      rolloutProgress(
        statefulSet({
          observedGeneration: 2,
          updatedReplicas: 2,
          readyReplicas: 2,
          replicas: 2,
          currentRevision: "b",
          updateRevision: "b",
        }),
      ),
    ).toEqual({ _tag: "Complete" });
  });

  it("a DaemonSet counts the nodes it should run on", () => {
    const daemonSet = (status: Workload["status"]): Workload => ({
      kind: "DaemonSet",
      metadata: meta,
      spec: { template },
      ...(status === undefined ? {} : { status }),
    });
    expect(
      rolloutProgress(
        daemonSet({
          observedGeneration: 2,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 2,
          numberAvailable: 3,
        }),
      ),
    ).toEqual({ _tag: "Progressing", detail: "2/3 nodes updated" });
    expect(
      rolloutProgress(
        daemonSet({
          observedGeneration: 2,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 3,
          numberAvailable: 3,
        }),
      ),
    ).toEqual({ _tag: "Complete" });
    expect(
      rolloutProgress(daemonSet({ observedGeneration: 2, desiredNumberScheduled: 0 })),
    ).toEqual({ _tag: "Complete" });
  });
});

describe("records", () => {
  it("reads back what the instrumentor writes, and nothing malformed", () => {
    const rollout = { action: "instrument", at: "2026-11-26T10:00:00.000Z", generation: 3 };
    expect(readRolloutRecord({ "odigos.io/rollout": JSON.stringify(rollout) })).toEqual(rollout);
    expect(readRolloutRecord({ "odigos.io/rollout": "{" })).toBeUndefined();
    expect(
      readRolloutRecord({ "odigos.io/rollout": JSON.stringify({ ...rollout, action: "dance" }) }),
    ).toBeUndefined();
    expect(readRolloutRecord(undefined)).toBeUndefined();
    const rollback = {
      reason: "CrashLoopBackOff",
      container: "app",
      at: "t",
      fingerprint: "abc",
      configVersion: "7",
    };
    expect(readRollbackRecord({ "odigos.io/rollback": JSON.stringify(rollback) })).toEqual(
      rollback,
    );
    expect(
      readRollbackRecord({
        "odigos.io/rollback": JSON.stringify({ ...rollback, reason: "Bored" }),
      }),
    ).toBeUndefined();
  });

  it("fingerprints the inputs whatever their order, and tells different inputs apart", () => {
    const base = {
      runtimeDetailsUid: "u1",
      languages: [
        { containerName: "a", language: "go" },
        { containerName: "b", language: "java" },
      ],
      devices: { a: ["x", "y"], b: ["z"] },
    };
    const same = instrumentationFingerprint({
      runtimeDetailsUid: "u1",
      languages: [
        { containerName: "b", language: "java" },
        { containerName: "a", language: "go" },
      ],
      devices: { b: ["z"], a: ["y", "x"] },
    });
    expect(instrumentationFingerprint(base)).toBe(same);
    expect(instrumentationFingerprint(base)).toMatch(/^[0-9a-f]{8}$/);
    expect(instrumentationFingerprint({ ...base, runtimeDetailsUid: "u2" })).not.toBe(same);
    expect(instrumentationFingerprint({ ...base, devices: { a: ["x", "y"], b: ["w"] } })).not.toBe(
      same,
    );
  });
});

describe("pod health", () => {
  const pod = (
    status: Pod["status"],
    limits: Record<string, string> = { "instrumentation.odigos.io/go-ebpf-community": "1" },
  ): Pod => ({
    metadata: { name: "p", namespace: "shop", uid: "u", resourceVersion: "1" },
    spec: { containers: [{ name: "app", resources: { limits } }] },
    ...(status === undefined ? {} : { status }),
  });

  it("tells pods with devices apart", () => {
    expect(podCarriesDevices(pod(undefined))).toBe(true);
    expect(podCarriesDevices(pod(undefined, { cpu: "1" }))).toBe(false);
  });

  it("names a crash loop, by its waiting reason or by restarts past the threshold", () => {
    expect(
      podProblem(
        pod({
          phase: "Running",
          containerStatuses: [
            {
              name: "app",
              restartCount: 1,
              state: { waiting: { reason: "CrashLoopBackOff" } },
              lastState: { terminated: { reason: "Error", exitCode: 1 } },
            },
          ],
        }),
        3,
      ),
    ).toEqual({
      _tag: "CrashLoop",
      container: "app",
      reason: "CrashLoopBackOff",
      restarts: 1,
      detail: "container app of pod p: CrashLoopBackOff, 1 restarts (last: Error)",
    });
    expect(
      podProblem(
        pod({
          phase: "Running",
          containerStatuses: [{ name: "app", restartCount: 3, ready: true }],
        }),
        3,
      ),
    ).toMatchObject({ _tag: "CrashLoop", reason: "RestartingContainer" });
    expect(
      podProblem(
        pod({
          phase: "Running",
          containerStatuses: [{ name: "app", restartCount: 2, ready: true }],
        }),
        3,
      ),
    ).toBeUndefined();
  });

  it("tells an unschedulable pod (not the agent's fault) from a running one that is not ready", () => {
    expect(
      podProblem(
        pod({
          phase: "Pending",
          conditions: [
            {
              type: "PodScheduled",
              status: "False",
              reason: "Unschedulable",
              message: "0/21 nodes are available",
            },
          ],
        }),
        3,
      ),
    ).toEqual({
      _tag: "Unschedulable",
      detail: "pod p is not scheduled: Unschedulable 0/21 nodes are available",
    });
    expect(
      podProblem(
        pod({
          phase: "Running",
          containerStatuses: [{ name: "app", ready: false, restartCount: 0 }],
        }),
        3,
      ),
    ).toMatchObject({ _tag: "NotReady", container: "app" });
    expect(podProblem(pod({ phase: "Pending" }), 3)).toBeUndefined();
  });
});
