/**
 * The demo's objects: an Odigos namespace with ready collectors, and a namespace with one
 * opted-in Deployment and four without a marker, 2 replicas each, and one opted-in CronJob that
 * runs every minute, whose pods declare their language for the stand-in node agent. No runtime
 * details: the stand-in creates them, as the node agent would.
 */
import {
  DeviceResourcePrefix,
  decodeDeployment,
  InstrumentAnnotation,
  OdigosApiVersion,
  OdigosConfigName,
  OdigosResources,
} from "@odigos/crd-types";
import { rolloutProgress } from "@odigos/instrumentation-rules";
import { KubeClient, type KubeError, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Schedule from "effect/Schedule";
import { demoLanguageAnnotation } from "./stand-in-eligibility.js";

export const demoNamespace = "demo";
export const demoWorkload = "checkout";
export const demoCollectorsGroup = "odigos-data-collection";
/**
 * Deployments of the demo namespace without a marker of their own: opting the namespace in
 * instruments them, which shows the rollout budget at work.
 */
export const demoExtraWorkloads = [
  { name: "cart", language: "java" },
  { name: "catalog", language: "python" },
  { name: "payments", language: "javascript" },
  { name: "frontend", language: "dotnet" },
] as const;

/**
 * The demo's CronJob, opted in by its own annotation: a Job every minute (its pod completes once
 * Ready, by the local cluster's KWOK stages), the last one kept. Its Jobs and their pods carry
 * the label `app=<name>`.
 */
export const demoCronJob = {
  name: "nightly-report",
  language: "go",
  schedule: "* * * * *",
} as const;

const cronJobObject = () => ({
  metadata: {
    name: demoCronJob.name,
    namespace: demoNamespace,
    annotations: { [InstrumentAnnotation]: "true" },
  },
  spec: {
    schedule: demoCronJob.schedule,
    concurrencyPolicy: "Forbid",
    successfulJobsHistoryLimit: 1,
    failedJobsHistoryLimit: 1,
    jobTemplate: {
      metadata: { labels: { app: demoCronJob.name } },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: {
            labels: { app: demoCronJob.name },
            annotations: { [demoLanguageAnnotation]: demoCronJob.language },
          },
          spec: {
            restartPolicy: "Never",
            containers: [{ name: "app", image: `registry.example/${demoCronJob.name}:1.0` }],
          },
        },
      },
    },
  },
});

export const seedDemo = (odigosNamespace: string): Effect.Effect<void, KubeError, KubeClient> =>
  Effect.gen(function* () {
    const client = yield* KubeClient;
    yield* client.create(Resources.Namespace, { metadata: { name: odigosNamespace } });
    yield* client.create(OdigosResources.OdigosConfiguration, {
      apiVersion: OdigosApiVersion,
      kind: "OdigosConfiguration",
      metadata: { name: OdigosConfigName, namespace: odigosNamespace },
      spec: {
        configVersion: 1,
        odigosVersion: "v1.0.0",
        defaultSDKs: {
          go: { sdkType: "ebpf", sdkTier: "community" },
          java: { sdkType: "native", sdkTier: "community" },
          python: { sdkType: "native", sdkTier: "community" },
          javascript: { sdkType: "native", sdkTier: "community" },
          dotnet: { sdkType: "native", sdkTier: "community" },
        },
      },
    });
    yield* client.create(OdigosResources.CollectorsGroup, {
      apiVersion: OdigosApiVersion,
      kind: "CollectorsGroup",
      metadata: { name: demoCollectorsGroup, namespace: odigosNamespace },
      spec: { role: "DATA_COLLECTION" },
    });
    yield* client.patch(
      OdigosResources.CollectorsGroup,
      demoCollectorsGroup,
      { type: "merge", body: { status: { ready: true } } },
      { namespace: odigosNamespace, subresource: "status" },
    );
    yield* client.create(Resources.Namespace, { metadata: { name: demoNamespace } });
    for (const workload of [
      { name: demoWorkload, language: "go", optedIn: true },
      ...demoExtraWorkloads.map((extra) => ({ ...extra, optedIn: false })),
    ])
      yield* client.create(Resources.Deployment, {
        metadata: {
          name: workload.name,
          namespace: demoNamespace,
          ...(workload.optedIn ? { annotations: { [InstrumentAnnotation]: "true" } } : {}),
        },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: workload.name } },
          template: {
            metadata: {
              labels: { app: workload.name },
              annotations: { [demoLanguageAnnotation]: workload.language },
            },
            spec: {
              containers: [{ name: "app", image: `registry.example/${workload.name}:1.0` }],
            },
          },
        },
      });
    yield* client.create(Resources.CronJob, cronJobObject());
  });

/** What the demo says once its Deployment is instrumented. */
export interface Instrumented {
  readonly device: string;
  /** Its pods now, every one carrying the device. */
  readonly pods: ReadonlyArray<string>;
}

const devicesOf = (containers: unknown): string[] =>
  ((containers as Array<{ resources?: { limits?: Record<string, unknown> } }> | undefined) ?? [])
    .flatMap((container) => Object.keys(container.resources?.limits ?? {}))
    .filter((name) => name.startsWith(DeviceResourcePrefix));

/**
 * Polls the demo Deployment until its template carries a device, its rollout is complete (as
 * the instrumentor judges it) and each of its pods carries the device.
 */
export const waitForInstrumented = (
  timeoutMs: number,
): Effect.Effect<Instrumented, KubeError | Error, KubeClient> => {
  let last = "no answer from the API server yet";
  return Effect.gen(function* () {
    const client = yield* KubeClient;
    const raw = yield* client.get(Resources.Deployment, demoWorkload, {
      namespace: demoNamespace,
    });
    const deployment = yield* Either.mapLeft(
      decodeDeployment(raw),
      (error) => new Error(error.message),
    );
    const device = devicesOf(deployment.spec.template.spec.containers)[0];
    if (device === undefined) {
      last = "no device on its pod template";
      return yield* Effect.fail(new Error(last));
    }
    const progress = rolloutProgress(deployment);
    if (progress._tag === "Progressing") {
      last = `rollout: ${progress.detail}`;
      return yield* Effect.fail(new Error(last));
    }
    const pods = (yield* client.list(Resources.Pod, {
      namespace: demoNamespace,
      labelSelector: `app=${demoWorkload}`,
    })).items;
    const without = pods.filter(
      (pod) =>
        !devicesOf((pod.spec as { containers?: unknown } | undefined)?.containers).includes(device),
    );
    if (without.length > 0) {
      last = `pods without the device: ${without.map((pod) => pod.metadata.name).join(", ")}`;
      return yield* Effect.fail(new Error(last));
    }
    return { device, pods: pods.map((pod) => pod.metadata.name).sort() };
  }).pipe(
    Effect.retry(Schedule.spaced("250 millis")),
    Effect.timeoutFail({
      duration: timeoutMs,
      onTimeout: () =>
        new Error(
          `${demoNamespace}/${demoWorkload} not instrumented after ${timeoutMs / 1000} s (${last})`,
        ),
    }),
  );
};
