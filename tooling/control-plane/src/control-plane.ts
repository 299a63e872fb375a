import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import {
  type Binaries,
  BinariesUnavailableError,
  ensureBinaries,
  missingForPods,
} from "./binaries.js";
import { logTail } from "./components.js";
import {
  apiServer,
  type Processes,
  prepareSite,
  type Site,
  startControllerManager,
  startEtcd,
} from "./core-components.js";
import { installCrds } from "./crds.js";
import { type PodsOptions, resolvePodsOptions } from "./kwok.js";
import { defaultCrdDir, type Env } from "./layout.js";
import { type PodsCluster, startPodsMachinery } from "./pods.js";
import { type Janitor, startJanitor } from "./processes.js";

/** Audit policy used by `auditLog: true`: metadata (user, verb, object, status) of every request. */
export const defaultAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    nonResourceURLs: ["/healthz*", "/readyz*", "/livez*"]
  - level: Metadata
`;

export interface ControlPlaneOptions {
  /** Executables to run. Default: `ensureBinaries({ env })`. */
  readonly binaries?: Binaries;
  /** Environment for binary lookup and openssl. Default `process.env`. */
  readonly env?: Env;
  /** Also run kube-controller-manager (Deployments get ReplicaSets, namespaces get their default ServiceAccount, deleted namespaces go away). Default false; `pods` implies it. */
  readonly controllerManager?: boolean;
  /**
   * A cluster with pods: kube-controller-manager, kube-scheduler and KWOK managing fake nodes
   * that advertise the instrumentation devices (plus nodes that do not), with pods going
   * Pending -> Running -> Ready. `true` for the defaults of {@link PodsOptions}. Default off.
   */
  readonly pods?: boolean | PodsOptions;
  /** CRD files or folders to install and wait Established; `false` installs none. Default: the Odigos CRDs in ../shared/fixtures/odigos-crds. */
  readonly crds?: readonly string[] | false;
  /** Appended to the kube-apiserver command line (a later flag wins), e.g. `--watch-cache-sizes=...`. */
  readonly extraApiServerArgs?: readonly string[];
  /** Write an audit log to `<dataDir>/audit.log` (JSON lines); `true` uses {@link defaultAuditPolicy}, a string is a policy YAML. */
  readonly auditLog?: boolean | string;
  /** Folder under which the temporary data dir is created. Default `os.tmpdir()`. */
  readonly baseDir?: string;
  /** Deadline for each component to become ready. Default 60 s. */
  readonly startTimeoutMs?: number;
}

/** One line of the audit log (the fields tests count by; the log has more). */
export interface AuditEvent {
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string; readonly groups?: readonly string[] };
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
    readonly subresource?: string;
  };
  readonly responseStatus?: { readonly code?: number };
  readonly userAgent?: string;
}

export interface ControlPlanePids {
  readonly etcd: number;
  readonly apiserver: number | undefined;
  readonly controllerManager: number | undefined;
  /** With `pods` only. */
  readonly scheduler: number | undefined;
  /** With `pods` only. */
  readonly kwok: number | undefined;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>`. */
  readonly server: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfigPath: string;
  /** Temporary folder holding etcd data, certificates, logs; removed by stop(). */
  readonly dataDir: string;
  /** `<dataDir>/audit.log` when the audit log is on. */
  readonly auditLogPath: string | undefined;
  readonly binaries: Binaries;
  /** Set when started with `pods`: the nodes, devices and component users. */
  readonly pods: PodsCluster | undefined;
  /** Loads the admin kubeconfig into a fresh client configuration. */
  readonly kubeConfig: () => KubeConfig;
  readonly pids: () => ControlPlanePids;
  /** Parsed audit events so far (empty when the audit log is off). */
  readonly readAuditEvents: () => Promise<AuditEvent[]>;
  /** Kills kube-apiserver (SIGTERM); etcd keeps the data. */
  readonly stopApiServer: () => Promise<void>;
  /** Starts kube-apiserver on the same port and etcd; `extraApiServerArgs` replaces the ones given at start. */
  readonly startApiServer: (options?: { extraApiServerArgs?: readonly string[] }) => Promise<void>;
  /** stopApiServer() then startApiServer(), waiting for /readyz. */
  readonly restartApiServer: (options?: {
    extraApiServerArgs?: readonly string[];
  }) => Promise<void>;
  /** Installs more CRDs and waits until they are Established. */
  readonly installCrds: (paths: readonly string[]) => Promise<string[]>;
  /** Stops every process and removes the data dir. Safe to call twice. */
  readonly stop: () => Promise<void>;
}

/** Parses JSON-lines audit output, skipping a last line still being written. */
export function parseAuditLog(text: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      events.push(JSON.parse(line) as AuditEvent);
    } catch {
      // A partially written trailing line.
    }
  }
  return events;
}

/** What to start: the pods options, the binaries, and whether kube-controller-manager runs. */
async function planComponents(options: ControlPlaneOptions, env: Env) {
  const pods =
    options.pods === undefined || options.pods === false
      ? undefined
      : resolvePodsOptions(options.pods);
  if (pods !== undefined && options.controllerManager === false)
    throw new Error("pods needs kube-controller-manager: drop controllerManager: false");
  const binaries = options.binaries ?? (await ensureBinaries({ env, pods: pods !== undefined }));
  if (pods !== undefined) {
    const missing = missingForPods(binaries);
    if (missing.length > 0)
      throw new BinariesUnavailableError(
        `pods needs ${missing.join(", ")}, which the binaries given do not include; get them with ensureBinaries({ pods: true })`,
      );
  }
  const withControllerManager = pods !== undefined || (options.controllerManager ?? false);
  if (withControllerManager && binaries.controllerManager === undefined) {
    throw new Error(
      "controllerManager: true needs kube-controller-manager, which KUBEBUILDER_ASSETS does not provide; add it there or unset KUBEBUILDER_ASSETS to build it",
    );
  }
  return { pods, binaries, withControllerManager };
}

type Plan = Awaited<ReturnType<typeof planComponents>>;

/** The kube-apiserver flags of the audit log, whose policy it writes (none when it is off). */
async function auditLogArgs(
  dataDir: string,
  auditLog: ControlPlaneOptions["auditLog"],
): Promise<{ readonly path: string | undefined; readonly args: readonly string[] }> {
  if (auditLog === undefined || auditLog === false) return { path: undefined, args: [] };
  const path = join(dataDir, "audit.log");
  const policyPath = join(dataDir, "audit-policy.yaml");
  await writeFile(policyPath, auditLog === true ? defaultAuditPolicy : auditLog);
  const args = [
    `--audit-policy-file=${policyPath}`,
    `--audit-log-path=${path}`,
    "--audit-log-format=json",
    // Every event is on disk before the response is sent, so tests can count right after a call.
    "--audit-log-mode=blocking",
    "--audit-log-maxbackup=0",
  ];
  return { path, args };
}

const loadKubeConfig = (path: string): KubeConfig => {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return config;
};

/**
 * The components that talk to kube-apiserver: kube-controller-manager and, with pods, the
 * scheduler, KWOK and the nodes, which start while the controller manager warms up.
 */
async function startApiClients(
  site: Site,
  plan: Plan,
  env: Env,
  kubeConfig: () => KubeConfig,
  processes: Processes,
): Promise<PodsCluster | undefined> {
  const { pods, binaries } = plan;
  const controllerManager =
    plan.withControllerManager && binaries.controllerManager !== undefined
      ? await startControllerManager(
          site,
          binaries.controllerManager,
          pods !== undefined,
          processes,
        )
      : undefined;
  const [podsCluster] = await Promise.all([
    pods === undefined || binaries.scheduler === undefined || binaries.kwok === undefined
      ? undefined
      : startPodsMachinery({
          scheduler: binaries.scheduler,
          kwok: binaries.kwok,
          options: pods,
          server: site.server,
          pki: site.pki,
          tls: site.tls,
          kubeConfig,
          dataDir: site.dataDir,
          logsDir: site.logsDir,
          pidsDir: site.pidsDir,
          env,
          timeoutMs: site.timeoutMs,
          started: (name, process) => {
            processes[name] = process;
          },
        }),
    controllerManager?.ready,
  ]);
  return podsCluster;
}

/** Stops the processes in reverse start order: clients before the server they talk to. */
async function stopProcesses(processes: Processes): Promise<void> {
  await Promise.all([processes.kwok?.stop(), processes.scheduler?.stop()]);
  await processes.controllerManager?.stop();
  await processes.apiserver?.stop();
  await processes.etcd?.stop();
}

/**
 * A timeout says nothing about why; the component logs do, and stop() is about to delete them:
 * their last lines go into the error's message.
 */
function appendLogTails(error: unknown, processes: Processes): void {
  if (error instanceof Error && error.message.startsWith("timed out")) {
    for (const started of Object.values(processes)) {
      error.message += `\n--- ${started.name} log (last lines) ---\n${logTail(started.logFile)}`;
    }
  }
}

/**
 * Starts etcd and kube-apiserver (and optionally kube-controller-manager) on free loopback ports
 * with a fresh data dir, writes an admin kubeconfig, waits for /readyz and installs the CRDs.
 * The processes die with this Node process even if stop() is never called.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const env = options.env ?? process.env;
  const plan = await planComponents(options, env);
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const dataDir = await mkdtemp(join(options.baseDir ?? tmpdir(), "odigos-control-plane-"));
  const janitor: Janitor = startJanitor(dataDir);
  const processes: Processes = {};
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopProcesses(processes);
    janitor.dismiss();
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const site = await prepareSite(dataDir, env, timeoutMs);
    const audit = await auditLogArgs(dataDir, options.auditLog);
    const etcd = await startEtcd(site, plan.binaries.etcd, processes);
    const apiserver = apiServer(
      site,
      {
        command: plan.binaries.apiserver,
        etcd,
        withControllerManager: plan.withControllerManager,
        auditArgs: audit.args,
        extraArgs: options.extraApiServerArgs ?? [],
      },
      processes,
    );
    await apiserver.start();
    const kubeConfig = () => loadKubeConfig(site.kubeconfigPath);
    const podsCluster = await startApiClients(site, plan, env, kubeConfig, processes);
    const crdPaths = options.crds === undefined ? [defaultCrdDir] : options.crds;
    if (crdPaths !== false && crdPaths.length > 0)
      await installCrds(kubeConfig(), crdPaths, { timeoutMs });

    return {
      server: site.server,
      kubeconfigPath: site.kubeconfigPath,
      dataDir,
      auditLogPath: audit.path,
      binaries: plan.binaries,
      pods: podsCluster,
      kubeConfig,
      pids: () => ({
        etcd: etcd.pid,
        apiserver: processes.apiserver?.hasExited() === false ? processes.apiserver.pid : undefined,
        controllerManager: processes.controllerManager?.pid,
        scheduler: processes.scheduler?.pid,
        kwok: processes.kwok?.pid,
      }),
      readAuditEvents: async () =>
        audit.path === undefined
          ? []
          : parseAuditLog(await readFile(audit.path, "utf8").catch(() => "")),
      stopApiServer: apiserver.stop,
      startApiServer: apiserver.start,
      restartApiServer: async (restartOptions = {}) => {
        await apiserver.stop();
        await apiserver.start(restartOptions);
      },
      installCrds: (paths) => installCrds(kubeConfig(), paths, { timeoutMs }),
      stop,
    };
  } catch (error) {
    appendLogTails(error, processes);
    await stop().catch(() => {});
    throw error;
  }
}
