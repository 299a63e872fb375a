// SPEC section 8 on a cluster with pods: when the pods of a workload's instrumented revision run
// but never become ready, the instrumentor waits for the rollout deadline (`--rollout-timeout`),
// then rolls the instrumentation back: devices removed, the record (reason NotReady, container)
// on the workload, a RolledBack Event and the counter; it does not instrument it again for the
// same inputs. The revision before was healthy and keeps serving meanwhile. Only the instrumented
// revision hangs: the KWOK stage that keeps pods from becoming Ready is keyed on the device.
import { podStageAnnotations } from "@odigos/control-plane";
import { RollbackAnnotation, RolloutAnnotation } from "@odigos/crd-types";
import { parseSamples } from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatedBy } from "../support/evaluated.js";
import { device } from "../support/odigos.js";
import {
  type PodsBed,
  startPodsBed,
  waitForPods,
  waitForRollout,
  waitForTemplateDevices,
  workloadPods,
} from "../support/pods-cluster.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];
const goDevice = device("go");
const optIn = { "odigos.io/instrument": "true" };
const rolloutTimeoutMs = 20_000;

/** The instrumentor's successful patches of one Deployment, from the audit log. */
const patchesOf = async (bed: PodsBed, namespace: string, name: string) =>
  (await bed.controlPlane.readAuditEvents()).filter(
    (event) =>
      event.stage === "ResponseComplete" &&
      event.verb === "patch" &&
      (event.responseStatus?.code ?? 0) < 300 &&
      (event.userAgent ?? "").startsWith("odigos-instrumentor/") &&
      event.objectRef?.resource === "deployments" &&
      event.objectRef.namespace === namespace &&
      event.objectRef.name === name,
  ).length;

const annotationOf = async (bed: PodsBed, namespace: string, name: string, key: string) => {
  const deployment = await bed.cluster.apps.readNamespacedDeployment({ namespace, name });
  const text = deployment.metadata?.annotations?.[key];
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
};

describe("rollback of pods that never become ready, on a cluster with pods", {
  timeout: 240_000,
}, () => {
  let bed: PodsBed;
  beforeAll(async () => {
    bed = await startPodsBed({
      pods: { nodes: 2 },
      args: ["--log-level=debug", `--rollout-timeout=${rolloutTimeoutMs / 1000}s`],
    });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("rolls back at the deadline with the reason NotReady and the container recorded, and removes the devices", async () => {
    const ns = await bed.namespace("hang", optIn);
    await bed.cluster.createWorkload("Deployment", ns, "hang", {
      replicas: 2,
      podAnnotations: { [podStageAnnotations.notReadyResource]: goDevice },
    });
    // The revision before is healthy.
    const healthy = await waitForRollout(bed.cluster, "Deployment", ns, "hang", 120_000);
    expect(healthy).toHaveLength(2);

    await bed.cluster.putRuntimeDetails("Deployment", ns, "hang", go);
    await waitForTemplateDevices(
      bed.cluster,
      "Deployment",
      ns,
      "hang",
      { app: [goDevice] },
      60_000,
    );
    const rollout = await annotationOf(bed, ns, "hang", RolloutAnnotation);
    expect(rollout).toMatchObject({ action: "instrument" });
    // The instrumented pod starts and runs, and is not ready: no crash, no restart. The old pods serve.
    const hanging = await waitForPods(
      bed.cluster,
      ns,
      "hang",
      (pods) =>
        pods.some(
          (pod) =>
            (pod.devices.app ?? []).includes(goDevice) &&
            pod.phase === "Running" &&
            !pod.ready &&
            pod.containers.app?.ready === false &&
            pod.containers.app.restartCount === 0 &&
            pod.containers.app.waitingReason === undefined,
        ),
      "an instrumented pod running, not ready",
    );
    expect(
      hanging.filter((pod) => healthy.some((before) => before.uid === pod.uid && pod.ready)),
    ).toHaveLength(2);

    const record = await waitFor(() => annotationOf(bed, ns, "hang", RollbackAnnotation), {
      timeoutMs: 120_000,
      description: "hang rolled back",
    });
    expect(record).toMatchObject({
      reason: "NotReady",
      container: "app",
      message: expect.stringMatching(/container app of pod hang-\S+ is running but not ready/),
    });
    // Not before the deadline: both times are the instrumentor's own clock.
    expect(Date.parse(String(record.at)) - Date.parse(String(rollout?.at))).toBeGreaterThanOrEqual(
      rolloutTimeoutMs,
    );
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "hang", {}, 60_000);
    const after = await waitForRollout(bed.cluster, "Deployment", ns, "hang", 120_000);
    expect(after.map((pod) => pod.devices)).toEqual([{ app: [] }, { app: [] }]);

    // Rolled back, not merely reported stuck; and not instrumented again for the same inputs.
    await evaluatedBy(bed.instrumentor, bed.cluster, "Deployment", ns, "hang");
    expect(await bed.cluster.devices("Deployment", ns, "hang")).toEqual({});
    expect(await patchesOf(bed, ns, "hang")).toBe(2);
    expect(
      bed.instrumentor.logs.filter(
        (line) => line.workload === "hang" && line.reason === "RolloutStuck",
      ),
    ).toEqual([]);
    expect(
      bed.instrumentor.logs.find((line) => line.workload === "hang" && line.reason === "NotReady"),
    ).toMatchObject({ level: "warn" });
    // Every reason's series exists from the start, at 0: the one counted is NotReady.
    expect(
      parseSamples(await bed.instrumentor.metrics(), "odigos_instrumentor_rollbacks_total").filter(
        (sample) => sample.value > 0,
      ),
    ).toEqual([{ labels: { reason: "NotReady" }, value: 1 }]);
    const events = await waitFor(
      async () => {
        const list = await bed.cluster.core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: "reason=RolledBack",
        });
        return list.items.length > 0 ? list.items : undefined;
      },
      { timeoutMs: 30_000, description: "the RolledBack Event" },
    );
    expect(events.map((event) => [event.type, event.involvedObject.name])).toEqual([
      ["Warning", "hang"],
    ]);
    expect(events[0]?.message).toMatch(/running but not ready/);
    expect((await workloadPods(bed.cluster, ns, "hang")).every((pod) => pod.ready)).toBe(true);
  });
});
