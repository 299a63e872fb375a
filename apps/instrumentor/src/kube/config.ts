/** Kubernetes credentials, in SPEC order: in-cluster service account, else KUBECONFIG, else ~/.kube/config. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

const serviceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** Where the credentials came from, for the start-up log line. */
export type CredentialSource = "in-cluster" | "KUBECONFIG" | "~/.kube/config";

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  readonly source: CredentialSource;
}

/** True when any credential source of {@link loadKubeConfig} is present. */
export const clusterConfigured = (env: NodeJS.ProcessEnv = process.env): boolean =>
  (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(serviceAccountToken)) ||
  (env.KUBECONFIG !== undefined && env.KUBECONFIG !== "") ||
  existsSync(join(homedir(), ".kube", "config"));

/** Loads credentials; throws with a readable message when none is available. */
export const loadKubeConfig = (env: NodeJS.ProcessEnv = process.env): LoadedKubeConfig => {
  const kubeConfig = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(serviceAccountToken)) {
    kubeConfig.loadFromCluster();
    return { kubeConfig, source: "in-cluster" };
  }
  if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== "") {
    kubeConfig.loadFromDefault();
    return { kubeConfig, source: "KUBECONFIG" };
  }
  const home = join(homedir(), ".kube", "config");
  if (existsSync(home)) {
    kubeConfig.loadFromFile(home);
    return { kubeConfig, source: "~/.kube/config" };
  }
  throw new Error(
    "no Kubernetes credentials: not running in a cluster, KUBECONFIG is unset and ~/.kube/config does not exist",
  );
};
