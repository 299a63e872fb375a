import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import { type ControlPlane, ensureBinaries, startControlPlane } from "@odigos/control-plane";
import { afterAll, describe, expect, it } from "vitest";
import { isRunning } from "./support/processes.js";
import { waitFor } from "./support/wait-for.js";

// These tests run control planes of their own: they restart and kill them.

describe("a control plane started in this process", () => {
  let controlPlane: ControlPlane | undefined;
  afterAll(async () => {
    await controlPlane?.stop();
  });

  it("keeps its data across an apiserver restart, audits writes, and stop() leaves nothing behind", async () => {
    const started = Date.now();
    controlPlane = await startControlPlane({
      binaries: await ensureBinaries(),
      auditLog: true,
      extraApiServerArgs: ["--watch-cache-sizes=configmaps#0"],
    });
    // Warm start budget from the issue; generous because CI machines vary.
    expect(Date.now() - started).toBeLessThan(30_000);
    const { dataDir } = controlPlane;
    const before = controlPlane.pids();

    const core = controlPlane.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "survives-restart" }, data: { answer: "42" } },
    });

    await controlPlane.restartApiServer();
    const after = controlPlane.pids();
    expect(after.etcd).toBe(before.etcd);
    expect(after.apiserver).not.toBe(before.apiserver);
    expect(before.apiserver !== undefined && isRunning(before.apiserver)).toBe(false);
    const read = await core.readNamespacedConfigMap({
      namespace: "default",
      name: "survives-restart",
    });
    expect(read.data).toEqual({ answer: "42" });

    const creates = (await controlPlane.readAuditEvents()).filter(
      (event) =>
        event.stage === "ResponseComplete" &&
        event.verb === "create" &&
        event.user.username === "odigos-admin" &&
        event.objectRef?.resource === "configmaps",
    );
    expect(creates).toHaveLength(1);

    const pids = [after.etcd, after.apiserver].filter((pid) => pid !== undefined);
    await controlPlane.stop();
    expect(pids.filter(isRunning)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe("a control plane whose owning process is SIGKILLed", () => {
  it("leaves no etcd, kube-apiserver or controller manager and no data dir behind", async () => {
    await ensureBinaries();
    const fixture = fileURLToPath(new URL("../fixtures/start-and-wait.mjs", import.meta.url));
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
      { timeoutMs: 60_000, description: "the fixture to start a control plane" },
    );
    const pids = Object.values(started.pids).filter((pid) => pid !== undefined);
    expect(pids).toHaveLength(3);
    expect(pids.every(isRunning)).toBe(true);
    expect(existsSync(started.dataDir)).toBe(true);

    owner.kill("SIGKILL");
    await exited;

    await waitFor(() => pids.every((pid) => !isRunning(pid)) && !existsSync(started.dataDir), {
      timeoutMs: 20_000,
      description: `processes ${pids.join(", ")} to die and ${started.dataDir} to be removed`,
    });
  });
});
