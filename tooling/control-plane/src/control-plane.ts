import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import {
  type Binaries,
  BinariesUnavailableError,
  ensureBinaries,
  missingForPods,
} from "./binaries.js";
import { adminUser, controllerManagerUser, createPki } from "./certs.js";
import { exitReason, freePorts, logTail, writeKubeconfig } from "./components.js";
import { installCrds } from "./crds.js";
import { type PodsOptions, resolvePodsOptions } from "./kwok.js";
import { defaultCrdDir, type Env } from "./layout.js";
import { controllerManagerPodsArgs, type PodsCluster, startPodsMachinery } from "./pods.js";
import {
  type Janitor,
  type SupervisedProcess,
  spawnSupervised,
  startJanitor,
} from "./processes.js";
import { httpGet, httpsGet, pollUntil, type TlsClient } from "./wait.js";

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

/**
 * Starts etcd and kube-apiserver (and optionally kube-controller-manager) on free loopback ports
 * with a fresh data dir, writes an admin kubeconfig, waits for /readyz and installs the CRDs.
 * The processes die with this Node process even if stop() is never called.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const env = options.env ?? process.env;
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
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const dataDir = await mkdtemp(join(options.baseDir ?? tmpdir(), "odigos-control-plane-"));
  const janitor: Janitor = startJanitor(dataDir);
  const processes: {
    etcd?: SupervisedProcess;
    apiserver?: SupervisedProcess;
    controllerManager?: SupervisedProcess;
    scheduler?: SupervisedProcess;
    kwok?: SupervisedProcess;
  } = {};
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Reverse start order: clients before the server they talk to.
    await Promise.all([processes.kwok?.stop(), processes.scheduler?.stop()]);
    await processes.controllerManager?.stop();
    await processes.apiserver?.stop();
    await processes.etcd?.stop();
    janitor.dismiss();
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const dirs = {
      pki: join(dataDir, "pki"),
      logs: join(dataDir, "logs"),
      pids: join(dataDir, "pids"),
    };
    await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true })));
    const [pki, [etcdClientPort, etcdPeerPort, apiserverPort]] = await Promise.all([
      createPki(dirs.pki, env),
      freePorts(3),
    ]);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const server = `https://127.0.0.1:${apiserverPort}`;
    const kubeconfigPath = join(dataDir, "kubeconfig");
    await writeKubeconfig(kubeconfigPath, server, pki, {
      name: adminUser,
      cert: pki.adminCert,
      key: pki.adminKey,
    });
    const tls: TlsClient = {
      ca: await readFile(pki.caCert, "utf8"),
      cert: await readFile(pki.adminCert, "utf8"),
      key: await readFile(pki.adminKey, "utf8"),
    };

    let auditLogPath: string | undefined;
    const auditArgs: string[] = [];
    if (options.auditLog !== undefined && options.auditLog !== false) {
      auditLogPath = join(dataDir, "audit.log");
      const policyPath = join(dataDir, "audit-policy.yaml");
      await writeFile(
        policyPath,
        options.auditLog === true ? defaultAuditPolicy : options.auditLog,
      );
      auditArgs.push(
        `--audit-policy-file=${policyPath}`,
        `--audit-log-path=${auditLogPath}`,
        "--audit-log-format=json",
        // Every event is on disk before the response is sent, so tests can count right after a call.
        "--audit-log-mode=blocking",
        "--audit-log-maxbackup=0",
      );
    }

    const etcdDataDir = join(dataDir, "etcd");
    processes.etcd = await spawnSupervised({
      name: "etcd",
      command: binaries.etcd,
      args: [
        "--name=default",
        `--data-dir=${etcdDataDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        // Test data is thrown away: durability is not worth the fsync latency.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      logFile: join(dirs.logs, "etcd.log"),
      pidFile: join(dirs.pids, "etcd.pid"),
    });
    const etcd = processes.etcd;
    await pollUntil(
      async () =>
        (await httpGet(`${etcdUrl}/health`)).body.includes('"health":"true"') ? true : undefined,
      { timeoutMs, what: `etcd at ${etcdUrl} to be healthy`, abortIf: () => exitReason(etcd) },
    );

    const apiserverArgs = (extra: readonly string[]): string[] => [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiserverPort}`,
      `--cert-dir=${join(dataDir, "apiserver")}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      "--profiling=false",
      // Without the controller manager nothing creates the `default` ServiceAccount pods would need.
      ...(withControllerManager ? [] : ["--disable-admission-plugins=ServiceAccount"]),
      ...auditArgs,
      ...extra,
    ];
    let currentExtraArgs: readonly string[] = options.extraApiServerArgs ?? [];

    const startApiServer = async (
      startOptions: { extraApiServerArgs?: readonly string[] } = {},
    ) => {
      if (processes.apiserver !== undefined && !processes.apiserver.hasExited()) {
        throw new Error("kube-apiserver is already running");
      }
      currentExtraArgs = startOptions.extraApiServerArgs ?? currentExtraArgs;
      const apiserver = await spawnSupervised({
        name: "kube-apiserver",
        command: binaries.apiserver,
        args: apiserverArgs(currentExtraArgs),
        logFile: join(dirs.logs, "kube-apiserver.log"),
        pidFile: join(dirs.pids, "kube-apiserver.pid"),
      });
      processes.apiserver = apiserver;
      await pollUntil(
        async () => ((await httpsGet(`${server}/readyz`, tls)).status === 200 ? true : undefined),
        {
          timeoutMs,
          what: `kube-apiserver at ${server}/readyz`,
          abortIf: () => exitReason(apiserver) ?? exitReason(etcd),
        },
      );
    };
    const stopApiServer = async () => {
      await processes.apiserver?.stop();
    };
    await startApiServer();

    const kubeConfig = (): KubeConfig => {
      const config = new KubeConfig();
      config.loadFromFile(kubeconfigPath);
      return config;
    };

    const controllerManagerReady: Promise<unknown>[] = [];
    if (withControllerManager && binaries.controllerManager !== undefined) {
      const controllerManagerKubeconfig = join(dataDir, "controller-manager.kubeconfig");
      await writeKubeconfig(controllerManagerKubeconfig, server, pki, {
        name: controllerManagerUser,
        cert: pki.controllerManagerCert,
        key: pki.controllerManagerKey,
      });
      const controllerManager = await spawnSupervised({
        name: "kube-controller-manager",
        command: binaries.controllerManager,
        args: [
          `--kubeconfig=${controllerManagerKubeconfig}`,
          "--leader-elect=false",
          "--secure-port=0",
          `--root-ca-file=${pki.caCert}`,
          `--service-account-private-key-file=${pki.serviceAccountKey}`,
          "--use-service-account-credentials=false",
          "--controllers=*",
          ...(pods === undefined ? [] : controllerManagerPodsArgs),
        ],
        logFile: join(dirs.logs, "kube-controller-manager.log"),
        pidFile: join(dirs.pids, "kube-controller-manager.pid"),
      });
      processes.controllerManager = controllerManager;
      // The serviceaccount controller creating `default` shows the controllers are running.
      controllerManagerReady.push(
        pollUntil(
          async () =>
            (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls))
              .status === 200
              ? true
              : undefined,
          {
            timeoutMs,
            what: "kube-controller-manager to create the default ServiceAccount",
            abortIf: () => exitReason(controllerManager),
          },
        ),
      );
    }
    // With pods, the scheduler, KWOK and the nodes start while the controller manager warms up.
    const [podsCluster] = await Promise.all([
      pods === undefined || binaries.scheduler === undefined || binaries.kwok === undefined
        ? undefined
        : startPodsMachinery({
            scheduler: binaries.scheduler,
            kwok: binaries.kwok,
            options: pods,
            server,
            pki,
            tls,
            kubeConfig,
            dataDir,
            logsDir: dirs.logs,
            pidsDir: dirs.pids,
            env,
            timeoutMs,
            started: (name, process) => {
              processes[name] = process;
            },
          }),
      ...controllerManagerReady,
    ]);

    const crdPaths = options.crds === undefined ? [defaultCrdDir] : options.crds;
    if (crdPaths !== false && crdPaths.length > 0)
      await installCrds(kubeConfig(), crdPaths, { timeoutMs });

    return {
      server,
      kubeconfigPath,
      dataDir,
      auditLogPath,
      binaries,
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
        auditLogPath === undefined
          ? []
          : parseAuditLog(await readFile(auditLogPath, "utf8").catch(() => "")),
      stopApiServer,
      startApiServer,
      restartApiServer: async (restartOptions = {}) => {
        await stopApiServer();
        await startApiServer(restartOptions);
      },
      installCrds: (paths) => installCrds(kubeConfig(), paths, { timeoutMs }),
      stop,
    };
  } catch (error) {
    // A timeout says nothing about why; the component logs do, and stop() is about to delete them.
    if (error instanceof Error && error.message.startsWith("timed out")) {
      for (const started of Object.values(processes)) {
        error.message += `\n--- ${started.name} log (last lines) ---\n${logTail(started.logFile)}`;
      }
    }
    await stop().catch(() => {});
    throw error;
  }
}
