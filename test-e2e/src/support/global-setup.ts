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
  // The Argo Rollouts controller and Prometheus too (built from the Go module proxy on a first
  // run), in the background: only src/argo and src/monitoring need them, and their hooks wait for
  // the build (a lock in the cache), so that the other files run meanwhile. Any failure (no Go,
  // no network, a failed build) only warns here: the file that needs it fails in its own hook.
  const warn = (what: string) => (error: unknown) =>
    console.warn(`[e2e] no ${what}: ${error instanceof Error ? error.message : String(error)}`);
  void ensureArgoRollouts().catch(warn("Argo Rollouts controller"));
  void ensurePrometheus().catch(warn("Prometheus"));
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
