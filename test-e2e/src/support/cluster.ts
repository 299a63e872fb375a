import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

/** Admin access to the shared control plane started by the global setup. */
export function adminKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(inject("kubeconfigPath"));
  return config;
}
