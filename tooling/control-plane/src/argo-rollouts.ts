import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { exitReason, freePorts } from "./components.js";
import { type SupervisedProcess, spawnSupervised } from "./processes.js";
import { pollUntil } from "./wait.js";

/** The log line the controller prints once its informers have synced and its workers run. */
export const argoRolloutsStartedLine = "Started controller";

/** Namespace the controller reads its notification ConfigMap/Secret from (POD_NAMESPACE) by default. */
export const argoRolloutsDefaultNamespace = "argo-rollouts";

export interface StartArgoRolloutsOptions {
  /** The `rollouts-controller` executable (`ensureArgoRollouts().controller`). */
  readonly controller: string;
  /** Kubeconfig of a user allowed everything the controller does (the control plane's admin one). */
  readonly kubeconfig: string;
  /**
   * Folder whose `logs/` and `pids/` get `argo-rollouts.log` and `.pid`: the control plane's
   * `dataDir`, so its janitor also waits for this process. Stop the controller before the
   * control plane (whose stop() deletes the folder).
   */
  readonly dataDir: string;
  /** Watch only this namespace (`--namespaced`); default: every namespace. */
  readonly namespace?: string;
  /** `--loglevel`. Default `info`. */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /** Appended to the command line (a later flag wins), e.g. `--rollout-resync=60`. */
  readonly extraArgs?: readonly string[];
  /** Deadline for the informers to sync (the log says {@link argoRolloutsStartedLine}). Default 60 s. */
  readonly startTimeoutMs?: number;
}

export interface ArgoRolloutsController {
  readonly process: SupervisedProcess;
  readonly logFile: string;
  /** The ports it listens on (all interfaces), picked free so parallel controllers do not clash. */
  readonly metricsPort: number;
  readonly healthzPort: number;
  /** SIGTERM, then SIGKILL after a grace period. */
  readonly stop: () => Promise<void>;
}

/**
 * The controller's flags: the given kubeconfig, no leader election (one instance, no Lease to
 * wait for), the metrics and healthz ports given (the defaults 8090/8080 would clash between
 * parallel runs), and `--namespaced --namespace=<ns>` when limited to one namespace.
 */
export function argoRolloutsArgs(options: {
  readonly kubeconfig: string;
  readonly metricsPort: number;
  readonly healthzPort: number;
  readonly namespace?: string;
  readonly logLevel?: string;
  readonly extraArgs?: readonly string[];
}): string[] {
  return [
    `--kubeconfig=${options.kubeconfig}`,
    "--leader-elect=false",
    `--metricsPort=${options.metricsPort}`,
    `--healthzPort=${options.healthzPort}`,
    `--loglevel=${options.logLevel ?? "info"}`,
    ...(options.namespace === undefined
      ? []
      : ["--namespaced", `--namespace=${options.namespace}`]),
    ...(options.extraArgs ?? []),
  ];
}

/**
 * Starts the Argo Rollouts controller as a supervised child (it dies with this Node process) and
 * waits until its informers have synced. The Argo CRDs must be installed first
 * (`ensureArgoRollouts().crds`): the controller waits for every one of its informers.
 */
export async function startArgoRolloutsController(
  options: StartArgoRolloutsOptions,
): Promise<ArgoRolloutsController> {
  const [metricsPort, healthzPort] = (await freePorts(2)) as [number, number];
  const logFile = join(options.dataDir, "logs", "argo-rollouts.log");
  const process_ = await spawnSupervised({
    name: "argo-rollouts",
    command: options.controller,
    args: argoRolloutsArgs({ ...options, metricsPort, healthzPort }),
    logFile,
    pidFile: join(options.dataDir, "pids", "argo-rollouts.pid"),
    // Where it reads its notification ConfigMap and Secret (none is fine).
    env: { ...process.env, POD_NAMESPACE: options.namespace ?? argoRolloutsDefaultNamespace },
  });
  try {
    await pollUntil(
      async () =>
        (await readFile(logFile, "utf8")).includes(argoRolloutsStartedLine) ? true : undefined,
      {
        timeoutMs: options.startTimeoutMs ?? 60_000,
        intervalMs: 200,
        what: `argo-rollouts to sync its informers (log: ${logFile})`,
        abortIf: () => exitReason(process_),
      },
    );
  } catch (error) {
    await process_.stop(2_000);
    throw error;
  }
  return { process: process_, logFile, metricsPort, healthzPort, stop: () => process_.stop() };
}
