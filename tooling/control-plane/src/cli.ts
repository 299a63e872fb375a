#!/usr/bin/env node
// `cluster:up` / `cluster:down`: a control plane that outlives the command, for people.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startControlPlane } from "./control-plane.js";
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
  console.log(`kubeconfig: ${stableKubeconfig}`);
  console.log(`Try:  kubectl --kubeconfig ${stableKubeconfig} get crds`);
  console.log("Stop: pnpm cluster:down");
}

/** Runs in the background: owns the control plane until SIGTERM/SIGINT. */
async function serve(withControllerManager: boolean): Promise<void> {
  const controlPlane = await startControlPlane({ controllerManager: withControllerManager });
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
  };
  await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  console.log(`ready: ${controlPlane.server}`);
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

async function up(withControllerManager: boolean): Promise<number> {
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
  const args = [cli, "serve", ...(withControllerManager ? [] : ["--no-controller-manager"])];
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

const [command, ...flags] = process.argv.slice(2);
const withControllerManager = !flags.includes("--no-controller-manager");
switch (command) {
  case "up":
    process.exitCode = await up(withControllerManager);
    break;
  case "down":
    process.exitCode = await down();
    break;
  case "serve":
    await serve(withControllerManager);
    break;
  default:
    console.error("usage: odigos-cluster up [--no-controller-manager] | down");
    process.exitCode = 2;
}
