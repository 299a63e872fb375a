import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import {
  controllerManagerUser,
  issueClientCertificate,
  kwokUser,
  type Pki,
  schedulerUser,
} from "./certs.js";
import { exitReason, freePorts, writeKubeconfig } from "./components.js";
import {
  fakeNodeNames,
  fakeNodes,
  kwokArgs,
  kwokConfiguration,
  type ResolvedPodsOptions,
} from "./kwok.js";
import type { Env } from "./layout.js";
import { type SupervisedProcess, spawnSupervised } from "./processes.js";
import { httpsGet, pollUntil, type TlsClient } from "./wait.js";

/** What a control plane with pods was started with (`ControlPlane.pods`). */
export interface PodsCluster {
  readonly options: ResolvedPodsOptions;
  /** Fake nodes that advertise every device in {@link PodsCluster.devices}. */
  readonly nodesWithDevices: readonly string[];
  /** Fake nodes that advertise none. */
  readonly nodesWithoutDevices: readonly string[];
  /** The extended resources the device nodes advertise. */
  readonly devices: readonly string[];
  /** Who is who in the audit log (`user.username`). */
  readonly users: {
    readonly controllerManager: string;
    readonly scheduler: string;
    readonly kwok: string;
  };
}

/**
 * Client rate limits of kube-scheduler and (in pods mode) kube-controller-manager. Their
 * defaults (50 and 20 requests/s) would make a mass rollout of 1000 workloads wait on the
 * components' own throttling rather than on the API server or the instrumentor.
 */
export const podsClientQps = { qps: 200, burst: 400 } as const;

/** Extra kube-controller-manager flags in pods mode. */
export const controllerManagerPodsArgs: readonly string[] = [
  `--kube-api-qps=${podsClientQps.qps}`,
  `--kube-api-burst=${podsClientQps.burst}`,
];

export interface PodsMachineryContext {
  readonly scheduler: string;
  readonly kwok: string;
  readonly options: ResolvedPodsOptions;
  readonly server: string;
  readonly pki: Pki;
  readonly tls: TlsClient;
  readonly kubeConfig: () => KubeConfig;
  readonly dataDir: string;
  readonly logsDir: string;
  readonly pidsDir: string;
  readonly env: Env;
  readonly timeoutMs: number;
  /** Called as soon as a process exists, so a failed start still stops it. */
  readonly started: (name: "scheduler" | "kwok", process: SupervisedProcess) => void;
}

interface NodeView {
  readonly metadata?: { readonly name?: string };
  readonly spec?: { readonly taints?: readonly { readonly key?: string }[] };
  readonly status?: {
    readonly conditions?: readonly { readonly type?: string; readonly status?: string }[];
    readonly allocatable?: Readonly<Record<string, string>>;
  };
}

/** Taints the node lifecycle controller keeps on a node until it is Ready. */
const notReadyTaints = new Set(["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]);

/**
 * Why `node` cannot take pods yet (undefined: it can). Throws when a Ready node lacks the
 * devices it was created with: the scheduler would then never place an instrumented pod there.
 */
export function nodeNotSchedulableReason(
  node: NodeView,
  expectedDevices: readonly string[],
): string | undefined {
  const name = node.metadata?.name ?? "(unnamed)";
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  if (!ready) return `node ${name} is not Ready`;
  const taint = node.spec?.taints?.find((t) => notReadyTaints.has(t.key ?? ""));
  if (taint !== undefined) return `node ${name} still has the taint ${taint.key}`;
  const missing = expectedDevices.filter(
    (device) => (node.status?.allocatable?.[device] ?? "0") === "0",
  );
  if (missing.length > 0)
    throw new Error(
      `node ${name} is Ready but does not advertise ${missing.join(", ")} in status.allocatable`,
    );
  return undefined;
}

/** The files and port of kube-scheduler and KWOK, written under the data dir. */
interface PodsComponentFiles {
  readonly schedulerConfig: string;
  readonly schedulerPort: number;
  readonly kwokKubeconfig: string;
  readonly kwokConfig: string;
}

/**
 * Issues the scheduler's and KWOK's client certificates and writes their kubeconfigs and
 * configurations; the scheduler gets a free port for /readyz.
 */
async function writePodsComponentFiles(context: PodsMachineryContext): Promise<PodsComponentFiles> {
  const { options, server, pki, dataDir } = context;
  const [schedulerCert, kwokCert, [schedulerPort]] = await Promise.all([
    issueClientCertificate(pki, "scheduler", { user: schedulerUser }, context.env),
    issueClientCertificate(
      pki,
      "kwok",
      { user: kwokUser, groups: ["system:masters"] },
      context.env,
    ),
    freePorts(1),
  ]);
  const schedulerKubeconfig = join(dataDir, "scheduler.kubeconfig");
  const schedulerConfig = join(dataDir, "scheduler-config.yaml");
  const kwokKubeconfig = join(dataDir, "kwok.kubeconfig");
  const kwokConfig = join(dataDir, "kwok.yaml");
  await Promise.all([
    writeKubeconfig(schedulerKubeconfig, server, pki, { name: schedulerUser, ...schedulerCert }),
    writeKubeconfig(kwokKubeconfig, server, pki, { name: kwokUser, ...kwokCert }),
    writeFile(
      schedulerConfig,
      stringify({
        apiVersion: "kubescheduler.config.k8s.io/v1",
        kind: "KubeSchedulerConfiguration",
        clientConnection: { kubeconfig: schedulerKubeconfig, ...podsClientQps },
        leaderElection: { leaderElect: false },
      }),
    ),
    writeFile(kwokConfig, kwokConfiguration(options)),
  ]);
  return { schedulerConfig, schedulerPort: schedulerPort as number, kwokKubeconfig, kwokConfig };
}

async function startScheduler(
  context: PodsMachineryContext,
  files: PodsComponentFiles,
): Promise<SupervisedProcess> {
  const scheduler = await spawnSupervised({
    name: "kube-scheduler",
    command: context.scheduler,
    args: [
      `--config=${files.schedulerConfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${files.schedulerPort}`,
      // Our serving certificate (SAN 127.0.0.1), so /readyz can be checked against our CA.
      `--tls-cert-file=${context.pki.servingCert}`,
      `--tls-private-key-file=${context.pki.servingKey}`,
    ],
    logFile: join(context.logsDir, "kube-scheduler.log"),
    pidFile: join(context.pidsDir, "kube-scheduler.pid"),
  });
  context.started("scheduler", scheduler);
  return scheduler;
}

async function startKwok(
  context: PodsMachineryContext,
  files: PodsComponentFiles,
): Promise<SupervisedProcess> {
  const kwok = await spawnSupervised({
    name: "kwok",
    command: context.kwok,
    args: kwokArgs(files.kwokKubeconfig, files.kwokConfig),
    logFile: join(context.logsDir, "kwok.log"),
    pidFile: join(context.pidsDir, "kwok.pid"),
    // KWOK also loads ~/.kwok/kwok.yaml when it exists; its work dir is ours instead.
    env: { ...process.env, KWOK_WORKDIR: join(context.dataDir, "kwok") },
  });
  context.started("kwok", kwok);
  return kwok;
}

function waitForScheduler(
  context: PodsMachineryContext,
  port: number,
  scheduler: SupervisedProcess,
): Promise<unknown> {
  return pollUntil(
    async () =>
      (await httpsGet(`https://127.0.0.1:${port}/readyz`, context.tls)).status === 200
        ? true
        : undefined,
    {
      timeoutMs: context.timeoutMs,
      what: `kube-scheduler at https://127.0.0.1:${port}/readyz`,
      abortIf: () => exitReason(scheduler),
    },
  );
}

/**
 * Waits until every fake node is Ready, without a not-ready taint, and advertises the devices
 * it was created with; a timeout names the first nodes still waited for.
 */
async function waitForNodes(
  context: PodsMachineryContext,
  expected: ReadonlyMap<string, readonly string[]>,
  kwok: SupervisedProcess,
): Promise<void> {
  let waitingFor = "";
  let misconfigured: string | undefined;
  await pollUntil(
    async () => {
      const response = await httpsGet(
        `${context.server}/api/v1/nodes?labelSelector=${encodeURIComponent("type=kwok")}`,
        context.tls,
      );
      const items = (JSON.parse(response.body) as { items?: NodeView[] }).items ?? [];
      const byName = new Map(items.map((node) => [node.metadata?.name ?? "", node]));
      const reasons = [...expected].flatMap(([name, devices]) => {
        const node = byName.get(name);
        if (node === undefined) return [`node ${name} does not exist`];
        try {
          const reason = nodeNotSchedulableReason(node, devices);
          return reason === undefined ? [] : [reason];
        } catch (error) {
          misconfigured = (error as Error).message;
          return [misconfigured];
        }
      });
      waitingFor = reasons.slice(0, 3).join("; ");
      return reasons.length === 0 ? true : undefined;
    },
    {
      timeoutMs: context.timeoutMs,
      intervalMs: 200,
      what: `${expected.size} KWOK nodes to be Ready and schedulable`,
      abortIf: () => exitReason(kwok) ?? misconfigured,
    },
  ).catch((error: Error) => {
    error.message += waitingFor === "" ? "" : ` (still: ${waitingFor})`;
    throw error;
  });
}

/**
 * Starts kube-scheduler and kwok, creates the fake nodes, and waits until the scheduler is ready
 * and every node is Ready without a not-ready taint, advertising what it should.
 */
export async function startPodsMachinery(context: PodsMachineryContext): Promise<PodsCluster> {
  const { options } = context;
  const files = await writePodsComponentFiles(context);
  const scheduler = await startScheduler(context, files);
  const kwok = await startKwok(context, files);

  const nodes = fakeNodes(options);
  const core = context.kubeConfig().makeApiClient(CoreV1Api);
  await Promise.all(nodes.map((body) => core.createNode({ body })));

  const names = fakeNodeNames(options);
  const expected = new Map<string, readonly string[]>([
    ...names.withDevices.map((name) => [name, options.devices] as const),
    ...names.withoutDevices.map((name) => [name, [] as const] as const),
  ]);
  await Promise.all([
    waitForScheduler(context, files.schedulerPort, scheduler),
    waitForNodes(context, expected, kwok),
  ]);
  return {
    options,
    nodesWithDevices: names.withDevices,
    nodesWithoutDevices: names.withoutDevices,
    devices: options.devices,
    users: { controllerManager: controllerManagerUser, scheduler: schedulerUser, kwok: kwokUser },
  };
}
