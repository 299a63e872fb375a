import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root; `src/` and `dist/` both sit one level below it. */
export const packageRoot = fileURLToPath(new URL("..", import.meta.url));

/** The monorepo root (this package lives at `tooling/control-plane`). */
export const repoRoot = join(packageRoot, "..", "..");

/** The Go module that builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and etcd. */
export const goBuildModuleDir = join(repoRoot, "tooling", "k8s-binaries");

/** The Go module that builds kwok (fake nodes and pod lifecycles for `pods: true`). */
export const kwokBuildModuleDir = join(repoRoot, "tooling", "kwok-binary");

/** The Go module that builds the Argo Rollouts controller (`ensureArgoRollouts`). */
export const argoRolloutsBuildModuleDir = join(repoRoot, "tooling", "argo-rollouts-binary");

/** The Go module that builds Prometheus and promtool (`ensurePrometheus`). */
export const prometheusBuildModuleDir = join(repoRoot, "tooling", "prometheus-binary");

/** The real Odigos CRDs shared by the project, beside the repo checkout. */
export const defaultCrdDir = join(repoRoot, "..", "shared", "fixtures", "odigos-crds");

export type Env = Readonly<Record<string, string | undefined>>;

/** Root of everything this package caches: `$XDG_CACHE_HOME/odigos-ts` (or `~/.cache/odigos-ts`). */
export function cacheRoot(env: Env = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".cache"), "odigos-ts");
}

/** Where built binaries live, one folder per cache key; `ODIGOS_K8S_CACHE_DIR` overrides. */
export function binaryCacheDir(env: Env = process.env): string {
  const override = env.ODIGOS_K8S_CACHE_DIR;
  return override !== undefined && override !== ""
    ? override
    : join(cacheRoot(env), "k8s-binaries");
}

/** The state file `cluster:up` writes and `cluster:down` reads. */
export function clusterStateFile(env: Env = process.env): string {
  return join(cacheRoot(env), "cluster", "state.json");
}
