import { randomBytes } from "node:crypto";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";

export interface TestNamespace {
  readonly name: string;
  /** Deletes the namespace (without waiting for it to finish terminating). */
  readonly delete: () => Promise<void>;
}

/** A namespace of its own for one test file, e.g. `e2e-rbac-4f2a9c`, so files can run in parallel. */
export async function createTestNamespace(
  kubeConfig: KubeConfig,
  label: string,
): Promise<TestNamespace> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const name = `e2e-${label}-${randomBytes(3).toString("hex")}`.toLowerCase().slice(0, 63);
  await api.createNamespace({ body: { metadata: { name, labels: { "odigos.io/e2e": "true" } } } });
  return {
    name,
    delete: async () => {
      await api.deleteNamespace({ name }).catch(() => {});
    },
  };
}
