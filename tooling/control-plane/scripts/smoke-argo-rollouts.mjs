#!/usr/bin/env node
// Smoke check of the Argo Rollouts controller against a control plane with pods (not a test):
// starts a small pods cluster with the Argo CRDs of the pinned release, the controller, creates a
// canary Rollout (2 replicas, inline template), waits for Healthy, changes the image and waits
// for the canary steps to finish and Healthy again. Run after `pnpm --filter @odigos/control-plane build`:
//   node scripts/smoke-argo-rollouts.mjs [--namespaced]   (--namespaced: the controller watches only that namespace)
import { parseArgs } from "node:util";
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import {
  ensureArgoRollouts,
  ensureBinaries,
  startArgoRolloutsController,
  startControlPlane,
} from "../dist/index.js";

const { values } = parseArgs({ options: { namespaced: { type: "boolean", default: false } } });
const namespace = "smoke";
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const say = (line) => console.log(`[smoke ${elapsed()}] ${line}`);

const argo = await ensureArgoRollouts();
say(`argo-rollouts ${argo.version}: ${argo.controller}; CRDs: ${argo.crds.length}`);
const controlPlane = await startControlPlane({
  binaries: await ensureBinaries({ pods: true }),
  pods: { nodes: 2, nodesWithoutDevices: 0 },
  crds: argo.crds,
});
say(`control plane with pods up at ${controlPlane.server}, Argo CRDs Established`);
let controller;
try {
  controller = await startArgoRolloutsController({
    controller: argo.controller,
    kubeconfig: controlPlane.kubeconfigPath,
    dataDir: controlPlane.dataDir,
    ...(values.namespaced ? { namespace } : {}),
  });
  say(
    `controller synced${values.namespaced ? ` (namespaced: ${namespace})` : " (cluster-wide)"} (pid ${controller.process.pid}, log ${controller.logFile})`,
  );

  const kc = controlPlane.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const ref = { group: "argoproj.io", version: "v1alpha1", namespace, plural: "rollouts" };
  await custom.createNamespacedCustomObject({
    ...ref,
    body: {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name: "web", namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
        },
        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: "2s" } }] } },
      },
    },
  });
  say("Rollout smoke/web created");

  const phases = [];
  const waitHealthy = async (what, revision) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const rollout = await custom.getNamespacedCustomObject({ ...ref, name: "web" });
      const s = rollout.status ?? {};
      const line = `${s.phase} ${s.message ?? ""} step=${s.currentStepIndex} ready=${s.readyReplicas}/${s.replicas} updated=${s.updatedReplicas}`;
      if (phases.at(-1) !== line) {
        phases.push(line);
        say(`  ${what}: ${line}`);
      }
      const done =
        s.phase === "Healthy" &&
        s.readyReplicas === 2 &&
        s.stableRS !== undefined &&
        s.stableRS === s.currentPodHash &&
        (revision === undefined || s.currentPodHash !== revision);
      if (done) return s;
      if (Date.now() > deadline) throw new Error(`${what}: not Healthy after 120 s: ${line}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const first = await waitHealthy("create");
  say(`Healthy with 2 replicas, stable ReplicaSet hash ${first.stableRS}`);

  await custom.patchNamespacedCustomObject(
    {
      ...ref,
      name: "web",
      body: {
        spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.28" }] } } },
      },
    },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
  say("image changed to nginx:1.28 (canary: setWeight 50, pause 2s)");
  const second = await waitHealthy("update", first.stableRS);
  say(`Healthy again, stable ReplicaSet hash ${second.stableRS}`);
  const pods = await core.listNamespacedPod({ namespace });
  say(
    `pods: ${pods.items.map((p) => `${p.metadata.name} ${p.status.phase} on ${p.spec.nodeName}`).join(", ")}`,
  );
  say("OK");
} finally {
  await controller?.stop();
  await controlPlane.stop();
}
