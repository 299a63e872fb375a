#!/usr/bin/env node
// `cluster:up` / `cluster:down`: a control plane that outlives the command, for people.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startControlPlane } from "./control-plane.js";
import { type PodsOptions, resolvePodsOptions } from "./kwok.js";
import { clusterStateFile } from "./layout.js";
import { pollUntil } from "./wait.js";

interface ClusterState {
  /** The background Node process that owns the control plane. */
  readonly supervisorPid: number;
  readonly status: "starting" | "ready";
  readonly kubeconfigPath?: string;
  readonly server?: string;
  readonly dataDir?: string;
  readonly pids?: Readonly<Record<string, number | undefined>>;
  /** Fake nodes, when started with --pods. */
  readonly nodes?: { readonly withDevices: number; readonly withoutDevices: number };
}

/** What `up` was asked for; passed on to the background `serve`. */
interface UpFlags {
  readonly controllerManager: boolean;
  readonly pods: PodsOptions | undefined;
}

const stateFile = clusterStateFile();
const stateDir = dirname(stateFile);
const supervisorLog = join(stateDir, "supervisor.log");
/** A stable kubeconfig path, so `export KUBECONFIG=...` survives down/up cycles. */
const stableKubeconfig = join(stateDir, "kubeconfig");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readState(): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile, "utf8")) as ClusterState;
  } catch {
    return undefined;
  }
}

function printReady(state: ClusterState): void {
  console.log(`Control plane running at ${state.server} (data in ${state.dataDir}).`);
  if (state.nodes !== undefined)
    console.log(
      `KWOK nodes: ${state.nodes.withDevices} with the instrumentation devices, ${state.nodes.withoutDevices} without.`,
    );
  console.log(`kubeconfig: ${stableKubeconfig}`);
  console.log(
    `Try:  kubectl --kubeconfig ${stableKubeconfig} get ${state.nodes === undefined ? "crds" : "nodes"}`,
  );
  console.log("Stop: pnpm cluster:down");
}

/** Runs in the background: owns the control plane until SIGTERM/SIGINT. */
async function serve(flags: UpFlags): Promise<void> {
  const controlPlane = await startControlPlane({
    controllerManager: flags.controllerManager,
    ...(flags.pods === undefined ? {} : { pods: flags.pods }),
  });
  const shutdown = async () => {
    await controlPlane.stop();
    await rm(stateFile, { force: true });
    await rm(stableKubeconfig, { force: true });
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
  await copyFile(controlPlane.kubeconfigPath, stableKubeconfig);
  const state: ClusterState = {
    supervisorPid: process.pid,
    status: "ready",
    kubeconfigPath: stableKubeconfig,
    server: controlPlane.server,
    dataDir: controlPlane.dataDir,
    pids: { ...controlPlane.pids() },
    ...(controlPlane.pods === undefined
      ? {}
      : {
          nodes: {
            withDevices: controlPlane.pods.nodesWithDevices.length,
            withoutDevices: controlPlane.pods.nodesWithoutDevices.length,
          },
        }),
  };
  await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  console.log(`ready: ${controlPlane.server}`);
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

async function up(serveArgs: readonly string[]): Promise<number> {
  const existing = await readState();
  if (existing !== undefined && isAlive(existing.supervisorPid)) {
    if (existing.status === "ready") {
      console.log("Already up.");
      printReady(existing);
      return 0;
    }
    console.error(
      `A control plane is still starting (pid ${existing.supervisorPid}); see ${supervisorLog}.`,
    );
    return 1;
  }
  await mkdir(stateDir, { recursive: true });
  const logFd = openSync(supervisorLog, "w");
  const cli = fileURLToPath(import.meta.url);
  const args = [cli, "serve", ...serveArgs];
  const supervisor = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  const supervisorPid = supervisor.pid;
  if (supervisorPid === undefined) throw new Error("could not start the background control plane");
  await writeFile(
    stateFile,
    `${JSON.stringify({ supervisorPid, status: "starting" } satisfies ClusterState)}\n`,
  );
  let exitCode: number | null = null;
  supervisor.on("exit", (code) => {
    exitCode = code ?? 1;
  });
  console.log(
    `Starting the control plane in the background (log: ${supervisorLog}); a first run builds the binaries.`,
  );
  try {
    // No short deadline: a cold first run compiles Kubernetes, which takes minutes.
    const state = await pollUntil(
      async () => {
        const current = await readState();
        return current?.status === "ready" ? current : undefined;
      },
      {
        timeoutMs: 60 * 60_000,
        intervalMs: 250,
        what: "the control plane to start",
        abortIf: () => (exitCode === null ? undefined : `it exited with code ${exitCode}`),
      },
    );
    supervisor.unref();
    printReady(state);
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    console.error(readFileSync(supervisorLog, "utf8").split("\n").slice(-40).join("\n"));
    if (exitCode === null) process.kill(supervisorPid, "SIGTERM");
    await rm(stateFile, { force: true });
    return 1;
  }
}

async function down(): Promise<number> {
  const state = await readState();
  if (state === undefined) {
    console.log("No control plane is running.");
    return 0;
  }
  if (isAlive(state.supervisorPid)) {
    process.kill(state.supervisorPid, "SIGTERM");
    try {
      await pollUntil(async () => (isAlive(state.supervisorPid) ? undefined : true), {
        timeoutMs: 30_000,
        what: `the control plane (pid ${state.supervisorPid}) to stop`,
      });
    } catch {
      // Its watchdogs kill the components and delete the data dir once it is gone.
      process.kill(state.supervisorPid, "SIGKILL");
    }
  }
  await rm(stateFile, { force: true });
  await rm(stableKubeconfig, { force: true });
  if (state.dataDir !== undefined) {
    const dataDir = state.dataDir;
    await pollUntil(
      async () => {
        try {
          readFileSync(join(dataDir, "kubeconfig"));
          return undefined;
        } catch {
          return true;
        }
      },
      { timeoutMs: 15_000, what: `${dataDir} to be removed` },
    ).catch(() => rm(dataDir, { recursive: true, force: true }));
  }
  console.log("Control plane stopped.");
  return 0;
}

const usage = `usage: odigos-cluster up [--no-controller-manager] [--pods [--nodes N] [--nodes-without-devices N] [--pod-ready-delay-ms N]] | down

  --pods                      kube-scheduler and KWOK nodes too: pods are scheduled and become Ready
  --nodes N                   KWOK nodes advertising the instrumentation devices (default 20)
  --nodes-without-devices N   KWOK nodes advertising none (default 1)
  --pod-ready-delay-ms N      time from a pod's containers starting to the pod being Ready (default 1000)`;

/** Parses up/serve flags; throws with the usage on anything else. */
function parseUpFlags(args: readonly string[]): UpFlags {
  const { values } = parseArgs({
    args: [...args],
    options: {
      "no-controller-manager": { type: "boolean" },
      pods: { type: "boolean" },
      nodes: { type: "string" },
      "nodes-without-devices": { type: "string" },
      "pod-ready-delay-ms": { type: "string" },
    },
    strict: true,
  });
  const count = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`--${flag} must be a whole number, got ${value}`);
    return Number(value);
  };
  const podOptions = Object.fromEntries(
    Object.entries({
      nodes: count("nodes", values.nodes),
      nodesWithoutDevices: count("nodes-without-devices", values["nodes-without-devices"]),
      podReadyDelayMs: count("pod-ready-delay-ms", values["pod-ready-delay-ms"]),
    }).filter(([, value]) => value !== undefined),
  ) as PodsOptions;
  const pods = values.pods === true;
  if (!pods && Object.keys(podOptions).length > 0)
    throw new Error("--nodes, --nodes-without-devices and --pod-ready-delay-ms need --pods");
  if (pods && values["no-controller-manager"] === true)
    throw new Error("--pods needs the controller manager: drop --no-controller-manager");
  if (pods) resolvePodsOptions(podOptions);
  return {
    controllerManager: values["no-controller-manager"] !== true,
    pods: pods ? podOptions : undefined,
  };
}

const [command, ...args] = process.argv.slice(2);
try {
  switch (command) {
    case "up":
      // Checked here, so a typo fails at once rather than in the background process.
      parseUpFlags(args);
      process.exitCode = await up(args);
      break;
    case "down":
      process.exitCode = await down();
      break;
    case "serve":
      await serve(parseUpFlags(args));
      break;
    default:
      console.error(usage);
      process.exitCode = 2;
  }
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
  process.exitCode = 2;
}
