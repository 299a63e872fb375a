import {
  BinariesUnavailableError,
  ensureArgoRollouts,
  ensureBinaries,
  ensurePrometheus,
  startControlPlane,
} from "@odigos/control-plane";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin kubeconfig of the shared control plane. */
    kubeconfigPath: string;
    /** JSON-lines audit log of every request (metadata level). */
    auditLogPath: string;
  }
}

/** One control plane for the whole run: etcd, kube-apiserver, kube-controller-manager, the Odigos CRDs. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binaries = await ensureBinaries();
  // kwok too: a first run builds it here, where nothing times out, not in a pods file's hook.
  // Without what pods need (KUBEBUILDER_ASSETS with no kube-scheduler, say) only src/pods fails.
  await ensureBinaries({ pods: true }).catch((error: unknown) => {
    if (!(error instanceof BinariesUnavailableError)) throw error;
    console.warn(`[e2e] no cluster with pods: ${error.message}`);
  });
  // The Argo Rollouts controller too (built from the Go module proxy on a first run). Any failure
  // (no Go, no network, a failed build) only warns: src/argo, which needs it, fails in its own hook.
  await ensureArgoRollouts().catch((error: unknown) => {
    console.warn(
      `[e2e] no Argo Rollouts controller: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  // Prometheus too, for src/monitoring (the same way: a failure only warns here).
  await ensurePrometheus().catch((error: unknown) => {
    console.warn(`[e2e] no Prometheus: ${error instanceof Error ? error.message : String(error)}`);
  });
  const started = Date.now();
  const controlPlane = await startControlPlane({
    binaries,
    controllerManager: true,
    auditLog: true,
  });
  console.log(`[e2e] control plane up at ${controlPlane.server} in ${Date.now() - started} ms`);
  project.provide("kubeconfigPath", controlPlane.kubeconfigPath);
  project.provide("auditLogPath", controlPlane.auditLogPath ?? "");
  return () => controlPlane.stop();
}
