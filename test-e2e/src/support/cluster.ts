import { BatchV1Api, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import { devicesOf } from "./odigos.js";

/** Admin access to the shared control plane started by the global setup. */
export function adminKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(inject("kubeconfigPath"));
  return config;
}

/** A minimal `batch/v1` CronJob, suspended (no Job ever starts): one container "app". */
export async function createCronJob(
  admin: KubeConfig,
  namespace: string,
  name: string,
  annotations: Record<string, string>,
): Promise<void> {
  await admin.makeApiClient(BatchV1Api).createNamespacedCronJob({
    namespace,
    body: {
      metadata: { name, namespace, annotations },
      spec: {
        schedule: "* * * * *",
        suspend: true,
        jobTemplate: {
          spec: {
            template: {
              metadata: { labels: { app: name } },
              spec: {
                restartPolicy: "Never",
                containers: [{ name: "app", image: "example.invalid/app:1" }],
              },
            },
          },
        },
      },
    },
  });
}

/** Device names per container of the CronJob's pod template (its Job template's). */
export async function cronJobDevices(
  admin: KubeConfig,
  namespace: string,
  name: string,
): Promise<Record<string, string[]>> {
  const cronJob = await admin.makeApiClient(BatchV1Api).readNamespacedCronJob({ namespace, name });
  return devicesOf({ spec: cronJob.spec?.jobTemplate.spec ?? {} });
}
