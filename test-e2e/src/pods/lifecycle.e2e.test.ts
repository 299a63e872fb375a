// The control plane with pods leaves nothing behind, as the plain one does: not after stop(), and
// not when the process that owns it is SIGKILLed (kube-scheduler and kwok run under the same
// watchdogs as etcd, kube-apiserver and kube-controller-manager).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { VersionApi } from "@kubernetes/client-node";
import {
  ensureBinaries,
  goBuildModuleDir,
  readPinnedVersions,
  startControlPlane,
} from "@odigos/control-plane";
import { describe, expect, it } from "vitest";
import { isRunning } from "../support/processes.js";
import { waitFor } from "../support/wait-for.js";

const components = ["etcd", "apiserver", "controllerManager", "scheduler", "kwok"];

describe("a control plane with pods", { timeout: 120_000 }, () => {
  it("reports the pinned Kubernetes version; stop() leaves none of its five processes and no data dir", async () => {
    const controlPlane = await startControlPlane({
      binaries: await ensureBinaries({ pods: true }),
      pods: { nodes: 1 },
      crds: false,
    });
    const pids = controlPlane.pids();
    expect(Object.keys(pids).sort()).toEqual([...components].sort());
    const all = Object.values(pids).filter((pid) => pid !== undefined);
    expect(all).toHaveLength(components.length);
    expect(all.every(isRunning)).toBe(true);
    // Stamped at build time: without it the API server says v0.0.0-master+$Format:%H$.
    const pinned = readPinnedVersions(readFileSync(join(goBuildModuleDir, "go.mod"), "utf8"));
    const version = await controlPlane.kubeConfig().makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(pinned.kubernetes);

    await controlPlane.stop();
    expect(all.filter(isRunning)).toEqual([]);
    expect(existsSync(controlPlane.dataDir)).toBe(false);
  });

  it("whose owning process is SIGKILLed leaves none of them and no data dir", async () => {
    await ensureBinaries({ pods: true });
    const fixture = fileURLToPath(new URL("./start-pods-and-wait.mjs", import.meta.url));
    const owner = spawn(process.execPath, [fixture], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((resolve) => owner.once("exit", resolve));
    let output = "";
    owner.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const started = await waitFor(
      () => {
        if (owner.exitCode !== null) throw new Error(`fixture exited early with ${owner.exitCode}`);
        const line = output.split("\n")[0];
        return output.includes("\n") && line !== undefined
          ? (JSON.parse(line) as { dataDir: string; pids: Record<string, number | undefined> })
          : undefined;
      },
      { timeoutMs: 60_000, description: "the fixture to start a control plane with pods" },
    );
    const pids = Object.values(started.pids).filter((pid) => pid !== undefined);
    expect(pids).toHaveLength(components.length);
    expect(pids.every(isRunning)).toBe(true);

    owner.kill("SIGKILL");
    await exited;

    await waitFor(() => pids.every((pid) => !isRunning(pid)) && !existsSync(started.dataDir), {
      timeoutMs: 30_000,
      description: `processes ${pids.join(", ")} to die and ${started.dataDir} to be removed`,
    });
  });
});
