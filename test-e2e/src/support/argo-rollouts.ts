/**
 * Argo Rollouts without Argo Rollouts: a minimal CRD for `rollouts.argoproj.io` (v1alpha1,
 * namespaced, any fields kept, a status subresource), enough for the instrumentor to see it
 * established and to list, watch and patch Rollouts. The real CRD of an Argo release is not
 * needed for that, and no Argo controller runs.
 */
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { devicesOf, mergePatch } from "./odigos.js";
import { waitFor } from "./wait-for.js";

export const argoRolloutsCrdName = "rollouts.argoproj.io";
const group = "argoproj.io";
const version = "v1alpha1";
const plural = "rollouts";

/** The minimal `rollouts.argoproj.io` CRD. */
export const argoRolloutsCrd: V1CustomResourceDefinition = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: argoRolloutsCrdName },
  spec: {
    group,
    names: {
      kind: "Rollout",
      listKind: "RolloutList",
      plural,
      singular: "rollout",
      shortNames: ["ro"],
    },
    scope: "Namespaced",
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true },
        },
        subresources: { status: {} },
      },
    ],
  },
};

const established = (crd: V1CustomResourceDefinition): boolean =>
  crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") === true;

/**
 * Creates the CRD (unless it is there) and waits until it is established. Says whether it
 * created it: only then should {@link uninstallArgoRolloutsCrd} remove it.
 */
export async function installArgoRolloutsCrd(admin: KubeConfig): Promise<boolean> {
  const api = admin.makeApiClient(ApiextensionsV1Api);
  let created = true;
  await api.createCustomResourceDefinition({ body: argoRolloutsCrd }).catch((error: unknown) => {
    if (!(error instanceof ApiException) || error.code !== 409) throw error;
    created = false;
  });
  await waitFor(
    async () => established(await api.readCustomResourceDefinition({ name: argoRolloutsCrdName })),
    { timeoutMs: 30_000, description: `${argoRolloutsCrdName} established` },
  );
  return created;
}

export async function uninstallArgoRolloutsCrd(admin: KubeConfig): Promise<void> {
  await admin
    .makeApiClient(ApiextensionsV1Api)
    .deleteCustomResourceDefinition({ name: argoRolloutsCrdName })
    .catch(() => undefined);
}

/**
 * A Rollout with no replicas, and the status Argo Rollouts would give it once done with any
 * generation the test makes (`Healthy`, generation 1000 observed): with no controller to finish
 * it, a rollout the instrumentor starts completes at once and holds no slot of its budget.
 */
export async function createRollout(
  admin: KubeConfig,
  namespace: string,
  name: string,
  annotations: Record<string, string>,
): Promise<void> {
  const custom = admin.makeApiClient(CustomObjectsApi);
  await custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural,
    body: {
      apiVersion: `${group}/${version}`,
      kind: "Rollout",
      metadata: { name, namespace, annotations },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: "app", image: "example.invalid/app:1" }] },
        },
        strategy: { canary: {} },
      },
    },
  });
  await custom.patchNamespacedCustomObjectStatus(
    {
      group,
      version,
      namespace,
      plural,
      name,
      body: { status: { observedGeneration: "1000", phase: "Healthy", replicas: 0 } },
    },
    mergePatch,
  );
}

/** Device names per container of the Rollout's pod template. */
export async function rolloutDevices(
  admin: KubeConfig,
  namespace: string,
  name: string,
): Promise<Record<string, string[]>> {
  const rollout = await admin
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ group, version, namespace, plural, name });
  return devicesOf(rollout as Parameters<typeof devicesOf>[0]);
}
