/**
 * Argo Rollouts without Argo Rollouts, for the benchmark: a minimal `rollouts.argoproj.io` CRD
 * (v1alpha1, namespaced, any fields kept, a status subresource), enough for the instrumentor
 * to see it established and to list, watch and patch Rollouts; and the status Argo Rollouts
 * would give a Rollout once done, so that a rollout the instrumentor starts completes with no
 * controller to finish it. The benchmark installs it on its own control plane unless
 * `--no-rollouts`.
 */
import { ArgoRolloutsCrd, workloadResource } from "@odigos/crd-types";
import { hasStatus, type KubeObject, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import { type BenchClient, pool, send, sleep } from "./meter.js";
import type { WorkloadSpec } from "./workloads.js";

/** The minimal `rollouts.argoproj.io` CRD. */
export const argoRolloutsCrd: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: ArgoRolloutsCrd },
  spec: {
    group: "argoproj.io",
    names: {
      kind: "Rollout",
      listKind: "RolloutList",
      plural: "rollouts",
      singular: "rollout",
      shortNames: ["ro"],
    },
    scope: "Namespaced",
    versions: [
      {
        name: "v1alpha1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
        subresources: { status: {} },
      },
    ],
  },
};

/** Whether a CRD, as read, says it is established (its resources are served). */
export const established = (crd: unknown): boolean =>
  (
    (crd as { status?: { conditions?: ReadonlyArray<{ type?: string; status?: string }> } })?.status
      ?.conditions ?? []
  ).some((condition) => condition.type === "Established" && condition.status === "True");

/** Creates the CRD (a 409 leaves the one there) and waits until it is established. */
export const installArgoRolloutsCrd = async (
  driver: BenchClient,
  timeoutMs: number,
): Promise<void> => {
  await send(
    driver.create(Resources.CustomResourceDefinition, argoRolloutsCrd).pipe(
      Effect.catchIf(
        (error) => hasStatus(error, 409),
        () => Effect.void,
      ),
    ),
  );
  const deadline = Date.now() + timeoutMs;
  while (
    !established(await send(driver.get(Resources.CustomResourceDefinition, ArgoRolloutsCrd)))
  ) {
    if (Date.now() > deadline) throw new Error(`${ArgoRolloutsCrd} not established in time`);
    await sleep(100);
  }
};

/**
 * What Argo Rollouts reports of a Rollout of 0 replicas once it is done with any generation the
 * benchmark makes (`Healthy`, generation 1000 observed; Argo writes `observedGeneration` as a
 * string): `rolloutProgress` finds it complete whatever the instrumentor writes.
 */
export const rolloutStatus = {
  observedGeneration: "1000",
  phase: "Healthy",
  replicas: 0,
  updatedReplicas: 0,
  availableReplicas: 0,
} as const;

/** The status-subresource write that gives a seeded Rollout {@link rolloutStatus}. */
export const rolloutStatusWrite = (driver: BenchClient, spec: WorkloadSpec) =>
  driver.patch(
    workloadResource("Rollout"),
    spec.name,
    { type: "merge", body: { status: rolloutStatus } },
    { namespace: spec.namespace, subresource: "status" },
  );

/** Gives every seeded Rollout {@link rolloutStatus}, `concurrency` at a time; how many there were. */
export const fakeRolloutStatuses = async (
  driver: BenchClient,
  specs: ReadonlyArray<WorkloadSpec>,
  concurrency: number,
): Promise<number> => {
  const rollouts = specs.filter((spec) => spec.kind === "Rollout");
  await pool(rollouts, concurrency, async (spec) => {
    await send(rolloutStatusWrite(driver, spec));
  });
  return rollouts.length;
};
