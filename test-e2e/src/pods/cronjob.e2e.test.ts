// A CronJob on a cluster with pods (kube-controller-manager's CronJob and Job controllers, KWOK
// nodes running the Jobs' pods): once the instrumentor writes the device into the Job template,
// the next scheduled Job's pods carry it; a Job already running keeps its pods; opting out takes
// the device out of the template; the instrumentor never writes a Job or a pod.
import {
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
} from "@kubernetes/client-node";
import { filterAudit, podStageAnnotations, writeVerbs } from "@odigos/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cronJobDevices } from "../support/cluster.js";
import { defaultSdks, device } from "../support/odigos.js";
import { type PodsBed, podView, startPodsBed } from "../support/pods-cluster.js";
import { waitFor } from "../support/wait-for.js";

const goDevice = device("go");
const template = ["spec", "jobTemplate", "spec", "template"] as const;

describe("a CronJob on a cluster with pods", { timeout: 400_000 }, () => {
  let bed: PodsBed;
  let ns: string;
  let batch: BatchV1Api;
  let core: CoreV1Api;
  beforeAll(async () => {
    bed = await startPodsBed({ pods: { nodes: 2 }, defaultSDKs: defaultSdks });
    ns = await bed.namespace("cron", { "odigos.io/instrument": "true" });
    batch = bed.controlPlane.kubeConfig().makeApiClient(BatchV1Api);
    core = bed.controlPlane.kubeConfig().makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  const jobs = async () => (await batch.listNamespacedJob({ namespace: ns })).items;
  const devicesOf = (job: V1Job) =>
    (job.spec?.template.spec?.containers ?? []).flatMap((container) =>
      Object.keys(container.resources?.limits ?? {}),
    );
  /** The pods of a Job, once one runs. */
  const runningPods = (job: V1Job) =>
    waitFor(
      async () => {
        const pods = (
          await core.listNamespacedPod({
            namespace: ns,
            labelSelector: `batch.kubernetes.io/job-name=${job.metadata?.name}`,
          })
        ).items.map(podView);
        return pods.some((pod) => pod.phase === "Running") ? pods : undefined;
      },
      { timeoutMs: 60_000, description: `a running pod of Job ${job.metadata?.name}` },
    );
  const cronJobTemplateDevices = async () =>
    Object.values(await cronJobDevices(bed.controlPlane.kubeConfig(), ns, "nightly")).flat();

  it("the next Job's pods carry the device; the running Job keeps its pods; opt-out removes it from the template", async () => {
    await batch.createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: "nightly", namespace: ns },
        spec: {
          schedule: "* * * * *",
          concurrencyPolicy: "Allow",
          jobTemplate: {
            spec: {
              template: {
                // Running, never Ready: KWOK completes a Job's pods once they are Ready, and
                // this test needs a Job still running when the instrumentor writes.
                metadata: {
                  labels: { app: "nightly" },
                  annotations: { [podStageAnnotations.readyDelay]: "1h" },
                },
                spec: {
                  restartPolicy: "Never",
                  containers: [{ name: "app", image: "example.invalid/report:1" }],
                },
              },
            },
          },
        },
      },
    });
    // A Job of the template before the instrumentor writes: running when the write comes.
    const [first] = await waitFor(async () => ((await jobs()).length > 0 ? jobs() : undefined), {
      timeoutMs: 90_000,
      intervalMs: 1_000,
      description: "the first scheduled Job",
    });
    if (first === undefined) throw new Error("no Job");
    const firstPods = await runningPods(first);
    expect(devicesOf(first)).toEqual([]);

    const written = Date.now();
    await bed.cluster.putRuntimeDetailsNamed(ns, "cronjob-nightly", {
      languages: [{ containerName: "app", language: "go" }],
    });
    await waitFor(async () => (await cronJobTemplateDevices()).includes(goDevice), {
      timeoutMs: 30_000,
      description: `the device in ${template.join(".")}`,
    });

    // The next scheduled Job (created after the write) runs pods with the device.
    const next = await waitFor(
      async () =>
        (await jobs()).find(
          (job) =>
            Date.parse(String(job.metadata?.creationTimestamp)) > written - 1_000 &&
            job.metadata?.uid !== first.metadata?.uid,
        ),
      { timeoutMs: 90_000, intervalMs: 1_000, description: "a Job scheduled after the write" },
    );
    expect(devicesOf(next)).toEqual([goDevice]);
    const nextPods = await runningPods(next);
    expect(nextPods.every((pod) => pod.devices.app?.includes(goDevice))).toBe(true);

    // The first Job and its pods are as they were.
    const firstNow = await batch.readNamespacedJob({
      namespace: ns,
      name: String(first.metadata?.name),
    });
    expect(firstNow.metadata?.uid).toBe(first.metadata?.uid);
    expect(devicesOf(firstNow)).toEqual([]);
    const firstPodsNow = await runningPods(firstNow);
    expect(firstPodsNow.map((pod) => pod.uid).sort()).toEqual(
      firstPods.map((pod) => pod.uid).sort(),
    );

    // Opted out: the device leaves the template; the Job that has it keeps running as it is.
    await batch.patchNamespacedCronJob(
      {
        namespace: ns,
        name: "nightly",
        body: { metadata: { annotations: { "odigos.io/instrument": "false" } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await waitFor(async () => (await cronJobTemplateDevices()).length === 0, {
      timeoutMs: 30_000,
      description: "the device out of the template",
    });
    const nextNow = await batch.readNamespacedJob({
      namespace: ns,
      name: String(next.metadata?.name),
    });
    expect(devicesOf(nextNow)).toEqual([goDevice]);

    // The instrumentor wrote the CronJob (twice: the device, then its removal) and never a Job
    // or a pod (its other writes: Events, and the opted-out workload's runtime details deleted).
    const writes = filterAudit(await bed.controlPlane.readAuditEvents(), {
      verbs: writeVerbs,
      userAgent: (agent) => bed.instrumentor.sent(agent),
    })
      .filter((event) => event.stage === "ResponseComplete")
      .map((event) => `${event.verb} ${event.objectRef?.resource}/${event.objectRef?.name}`);
    expect(writes.filter((write) => /^\w+ (jobs|pods|cronjobs)\//.test(write))).toEqual([
      "patch cronjobs/nightly",
      "patch cronjobs/nightly",
    ]);
  });
});
