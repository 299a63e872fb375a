import { ensureBinaries, startControlPlane } from "@odigos/control-plane";
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
  // With pods: true, kwok is built too (first run only), so the pods files' beforeAll never builds.
  const binaries = await ensureBinaries({ pods: true });
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
