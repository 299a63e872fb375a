/**
 * The core of a control plane: its data dir, certificates and ports, then etcd,
 * kube-apiserver and kube-controller-manager, each started and waited for until it is ready.
 * The cluster with pods adds the scheduler, KWOK and the nodes (`pods.ts`).
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { adminUser, controllerManagerUser, createPki, type Pki } from "./certs.js";
import { exitReason, freePorts, writeKubeconfig } from "./components.js";
import type { Env } from "./layout.js";
import { controllerManagerPodsArgs } from "./pods.js";
import { type SupervisedProcess, spawnSupervised } from "./processes.js";
import { httpGet, httpsGet, pollUntil, type TlsClient } from "./wait.js";

/** Where one control plane's components keep their files, and how they reach each other. */
export interface Site {
  /** Temporary folder holding etcd data, certificates, logs. */
  readonly dataDir: string;
  readonly logsDir: string;
  readonly pidsDir: string;
  readonly pki: Pki;
  readonly etcdUrl: string;
  readonly etcdPeerUrl: string;
  readonly apiserverPort: number;
  /** `https://127.0.0.1:<port>` of kube-apiserver. */
  readonly server: string;
  /** Admin kubeconfig (client certificate in group system:masters). */
  readonly kubeconfigPath: string;
  /** The admin's TLS client, for the readiness checks. */
  readonly tls: TlsClient;
  /** Deadline for each component to become ready. */
  readonly timeoutMs: number;
}

/**
 * The processes started so far. Each start records its process here as soon as it exists, so
 * that a failed start still stops it.
 */
export interface Processes {
  etcd?: SupervisedProcess;
  apiserver?: SupervisedProcess;
  controllerManager?: SupervisedProcess;
  scheduler?: SupervisedProcess;
  kwok?: SupervisedProcess;
}

/** Creates the folders, the PKI and the admin kubeconfig under `dataDir`, on free loopback ports. */
export async function prepareSite(dataDir: string, env: Env, timeoutMs: number): Promise<Site> {
  const logsDir = join(dataDir, "logs");
  const pidsDir = join(dataDir, "pids");
  const pkiDir = join(dataDir, "pki");
  await Promise.all([pkiDir, logsDir, pidsDir].map((dir) => mkdir(dir, { recursive: true })));
  const [pki, ports] = await Promise.all([createPki(pkiDir, env), freePorts(3)]);
  const [etcdClientPort, etcdPeerPort, apiserverPort] = ports as [number, number, number];
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
  return {
    dataDir,
    logsDir,
    pidsDir,
    pki,
    etcdUrl: `http://127.0.0.1:${etcdClientPort}`,
    etcdPeerUrl: `http://127.0.0.1:${etcdPeerPort}`,
    apiserverPort,
    server,
    kubeconfigPath,
    tls,
    timeoutMs,
  };
}

/** The log and pid files of the component `name`. */
const processFiles = (site: Site, name: string) => ({
  logFile: join(site.logsDir, `${name}.log`),
  pidFile: join(site.pidsDir, `${name}.pid`),
});

/** etcd on its loopback ports; resolves once /health says healthy. */
export async function startEtcd(
  site: Site,
  command: string,
  processes: Processes,
): Promise<SupervisedProcess> {
  const { etcdUrl, etcdPeerUrl } = site;
  const etcd = await spawnSupervised({
    name: "etcd",
    command,
    args: [
      "--name=default",
      `--data-dir=${join(site.dataDir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=default=${etcdPeerUrl}`,
      // Test data is thrown away: durability is not worth the fsync latency.
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ],
    ...processFiles(site, "etcd"),
  });
  processes.etcd = etcd;
  await pollUntil(
    async () =>
      (await httpGet(`${etcdUrl}/health`)).body.includes('"health":"true"') ? true : undefined,
    {
      timeoutMs: site.timeoutMs,
      what: `etcd at ${etcdUrl} to be healthy`,
      abortIf: () => exitReason(etcd),
    },
  );
  return etcd;
}

export interface ApiServerConfig {
  readonly command: string;
  /** The etcd it stores in; its exit aborts the wait for /readyz. */
  readonly etcd: SupervisedProcess;
  /** Whether kube-controller-manager runs too. */
  readonly withControllerManager: boolean;
  readonly auditArgs: readonly string[];
  /** Appended to the command line (a later flag wins). */
  readonly extraArgs: readonly string[];
}

/** The kube-apiserver command line, before the extra flags. */
const apiServerArgs = (site: Site, config: ApiServerConfig): string[] => [
  `--etcd-servers=${site.etcdUrl}`,
  "--bind-address=127.0.0.1",
  "--advertise-address=127.0.0.1",
  `--secure-port=${site.apiserverPort}`,
  `--cert-dir=${join(site.dataDir, "apiserver")}`,
  `--tls-cert-file=${site.pki.servingCert}`,
  `--tls-private-key-file=${site.pki.servingKey}`,
  `--client-ca-file=${site.pki.caCert}`,
  "--authorization-mode=RBAC",
  "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
  `--service-account-key-file=${site.pki.serviceAccountPublicKey}`,
  `--service-account-signing-key-file=${site.pki.serviceAccountKey}`,
  "--service-cluster-ip-range=10.0.0.0/24",
  "--allow-privileged=true",
  "--profiling=false",
  // Without the controller manager nothing creates the `default` ServiceAccount pods would need.
  ...(config.withControllerManager ? [] : ["--disable-admission-plugins=ServiceAccount"]),
  ...config.auditArgs,
];

/** kube-apiserver, which a test may stop and start again on the same port and etcd. */
export interface ApiServer {
  /** Resolves once /readyz answers 200; extra flags given here stay for the next starts. */
  readonly start: (options?: { extraApiServerArgs?: readonly string[] }) => Promise<void>;
  readonly stop: () => Promise<void>;
}

export function apiServer(site: Site, config: ApiServerConfig, processes: Processes): ApiServer {
  let currentExtraArgs = config.extraArgs;
  const start = async (startOptions: { extraApiServerArgs?: readonly string[] } = {}) => {
    if (processes.apiserver !== undefined && !processes.apiserver.hasExited()) {
      throw new Error("kube-apiserver is already running");
    }
    currentExtraArgs = startOptions.extraApiServerArgs ?? currentExtraArgs;
    const apiserver = await spawnSupervised({
      name: "kube-apiserver",
      command: config.command,
      args: [...apiServerArgs(site, config), ...currentExtraArgs],
      ...processFiles(site, "kube-apiserver"),
    });
    processes.apiserver = apiserver;
    await pollUntil(
      async () =>
        (await httpsGet(`${site.server}/readyz`, site.tls)).status === 200 ? true : undefined,
      {
        timeoutMs: site.timeoutMs,
        what: `kube-apiserver at ${site.server}/readyz`,
        abortIf: () => exitReason(apiserver) ?? exitReason(config.etcd),
      },
    );
  };
  const stop = async () => {
    await processes.apiserver?.stop();
  };
  return { start, stop };
}

/**
 * kube-controller-manager with a user of its own. Its `ready` settles once the serviceaccount
 * controller has created `default`, which shows the controllers are running.
 */
export async function startControllerManager(
  site: Site,
  command: string,
  withPods: boolean,
  processes: Processes,
): Promise<{ readonly ready: Promise<unknown> }> {
  const kubeconfig = join(site.dataDir, "controller-manager.kubeconfig");
  await writeKubeconfig(kubeconfig, site.server, site.pki, {
    name: controllerManagerUser,
    cert: site.pki.controllerManagerCert,
    key: site.pki.controllerManagerKey,
  });
  const controllerManager = await spawnSupervised({
    name: "kube-controller-manager",
    command,
    args: [
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--secure-port=0",
      `--root-ca-file=${site.pki.caCert}`,
      `--service-account-private-key-file=${site.pki.serviceAccountKey}`,
      "--use-service-account-credentials=false",
      "--controllers=*",
      ...(withPods ? controllerManagerPodsArgs : []),
    ],
    ...processFiles(site, "kube-controller-manager"),
  });
  processes.controllerManager = controllerManager;
  const ready = pollUntil(
    async () =>
      (await httpsGet(`${site.server}/api/v1/namespaces/default/serviceaccounts/default`, site.tls))
        .status === 200
        ? true
        : undefined,
    {
      timeoutMs: site.timeoutMs,
      what: "kube-controller-manager to create the default ServiceAccount",
      abortIf: () => exitReason(controllerManager),
    },
  );
  return { ready };
}
