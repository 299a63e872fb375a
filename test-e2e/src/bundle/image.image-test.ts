// Issue 14: the image built from the Dockerfile (`make image` builds it, then runs this file with
// ODIGOS_IMAGE set; `pnpm test` does not collect it). Its user, entrypoint and size, and that it
// runs with a read-only root file system as the chart runs it, with host networking against the
// local control plane: ready, converges the standard scenario, exits 0 on SIGTERM.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  type InstrumentorProcess,
  productionEnv,
  productionNodeFlags,
  startInstrumentor,
} from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChartInstall,
  convergeStandardScenario,
  installChart,
  leaseHolder,
  rbacDenial,
} from "../support/chart-install.js";
import { adminKubeConfig } from "../support/cluster.js";
import { processView, serviceAccountMountPath } from "../support/pod-sandbox.js";
import { readRenderedManifests } from "../support/rbac-manifests.js";

const image = process.env.ODIGOS_IMAGE;
if (image === undefined || image === "")
  throw new Error(
    "ODIGOS_IMAGE is not set: run `make image`, which builds the image and this test",
  );
/** podman and its global flags (tooling/image/build.sh passes what this machine needs). */
const podman = (process.env.ODIGOS_PODMAN ?? "podman").split(" ").filter((word) => word !== "");
/** Flags of every `podman run` (ulimits this machine can grant). */
const runFlags = (process.env.ODIGOS_PODMAN_RUN_FLAGS ?? "")
  .split(" ")
  .filter((word) => word !== "");

const run = (args: readonly string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const [file = "podman", ...prefix] = podman;
    const child = spawn(file, [...prefix, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });

const podmanOk = async (args: readonly string[]) => {
  const result = await run(args);
  if (result.code !== 0)
    throw new Error(`podman ${args.join(" ")} exited with ${result.code}:\n${result.stderr}`);
  return result.stdout;
};

interface ImageConfig {
  readonly Size: number;
  readonly Config: {
    readonly User?: string;
    readonly Entrypoint?: string[];
    readonly Cmd?: string[];
    readonly WorkingDir?: string;
    readonly Env?: string[];
  };
}

describe(`the image ${image}`, () => {
  const chart = readRenderedManifests().deployment.spec?.template.spec;
  const runAsUser = chart?.securityContext?.runAsUser;
  const runAsGroup = chart?.securityContext?.runAsGroup;
  const workDir = mkdtempSync(join(tmpdir(), "odigos-image-"));
  const container = `odigos-image-test-${process.pid}`;
  let config: ImageConfig;
  let install: ChartInstall | undefined;
  let instrumentor: InstrumentorProcess | undefined;

  beforeAll(async () => {
    chmodSync(workDir, 0o755);
    const [inspected] = JSON.parse(await podmanOk(["image", "inspect", image])) as ImageConfig[];
    if (inspected === undefined) throw new Error(`podman image inspect ${image}: no image`);
    config = inspected;
  });

  afterAll(async () => {
    await instrumentor?.stop("SIGKILL");
    await run(["rm", "--force", "--ignore", container]);
    await install?.teardown();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("runs node instrumentor.mjs (the bundle) with the production flags and environment in /app as the chart's user, and holds files only root can change", async () => {
    expect(config.Config.User).toBe(`${runAsUser}:${runAsGroup}`);
    expect(config.Config.Entrypoint).toEqual([
      "/usr/local/bin/node",
      ...productionNodeFlags,
      "instrumentor.mjs",
    ]);
    // The environment the tests and the benchmark run the instrumentor with (productionEnv).
    expect(config.Config.Env).toEqual(
      expect.arrayContaining(
        Object.entries(productionEnv).map(([name, value]) => `${name}=${value}`),
      ),
    );
    expect(config.Config.WorkingDir).toBe("/app");

    // Inside the image, as its user: every file of /app is root's and not writable.
    const check = `
      const { lstatSync, readdirSync, writeFileSync } = require("node:fs");
      const bad = [];
      const walk = (dir) => { for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = dir + "/" + e.name; const s = lstatSync(path);
        if (!e.isSymbolicLink() && (s.uid !== 0 || (s.mode & 0o022) !== 0)) bad.push(path);
        if (e.isDirectory()) walk(path); } };
      walk("/app");
      let write = "written";
      try { writeFileSync("/app/x", ""); } catch (error) { write = error.code; }
      const top = readdirSync("/app").sort();
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), bad, write, top }));`;
    const out = await podmanOk([
      "run",
      "--rm",
      ...runFlags,
      "--network",
      "none",
      "--entrypoint",
      "/usr/local/bin/node",
      image,
      "-e",
      check,
    ]);
    // The bundle (tooling/bundle): esbuild's modules, no node_modules.
    expect(JSON.parse(out)).toEqual({
      uid: runAsUser,
      gid: runAsGroup,
      bad: [],
      write: "EACCES",
      top: ["LICENSE", "THIRD-PARTY-NOTICES", "chunks", "instrumentor.mjs", "package.json"],
    });
    const help = await podmanOk(["run", "--rm", ...runFlags, "--network", "none", image, "--help"]);
    expect(help).toMatch(/^Usage: odigos-instrumentor/);
    console.log(`[image] ${image}: ${(config.Size / 1_000_000).toFixed(1)} MB`);
  });

  it("runs with a read-only root file system as the chart runs it: ready, converges, exits 0 on SIGTERM", async () => {
    install = await installChart(adminKubeConfig(), "image", workDir);
    const { apiServer } = install;
    const env = {
      ...install.container.env,
      KUBERNETES_SERVICE_HOST: apiServer.host,
      KUBERNETES_SERVICE_PORT: apiServer.port,
    };
    const started = performance.now();
    instrumentor = await startInstrumentor({
      odigosNamespace: install.odigosNamespace,
      command: [
        ...podman,
        "run",
        "--rm",
        "--name",
        container,
        ...runFlags,
        "--network",
        "host",
        "--hostname",
        install.podName,
        // securityContext: readOnlyRootFilesystem (and no tmpfs podman would add), runAsUser,
        // runAsGroup, capabilities drop ALL, allowPrivilegeEscalation false.
        "--read-only",
        "--read-only-tmpfs=false",
        "--user",
        `${install.container.runAsUser}:${install.container.runAsGroup}`,
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--volume",
        `${install.serviceAccountDir}:${serviceAccountMountPath}:ro`,
        ...Object.entries(env).flatMap(([name, value]) => ["--env", `${name}=${value}`]),
        image,
      ],
      args: install.container.args,
    });
    const readyMs = performance.now() - started;

    const pid = Number(
      (await podmanOk(["inspect", "--format", "{{.State.Pid}}", container])).trim(),
    );
    const view = processView(pid);
    const uid = install.container.runAsUser;
    const gid = install.container.runAsGroup;
    expect(view.uid).toEqual([uid, uid, uid, uid]);
    expect(view.gid).toEqual([gid, gid, gid, gid]);
    expect(view.capabilities.CapEff).toBe("0000000000000000");
    expect(view.noNewPrivs).toBe(true);
    expect(view.cwd).toBe("/app");
    expect(view.mounts.find(([target]) => target === "/")?.[1].split(",")).toContain("ro");
    expect(instrumentor.logs.find((line) => line.msg === "instrumentor started")).toMatchObject({
      credentials: "in-cluster",
      odigosNamespace: install.odigosNamespace,
    });

    await convergeStandardScenario(install);
    expect(await leaseHolder(adminKubeConfig(), install)).toMatch(
      new RegExp(`^${install.podName}_`),
    );
    expect(
      instrumentor.logs.filter((line) => line.level === "error" || line.level === "fatal"),
    ).toEqual([]);
    // No RBAC denial (a 403 for a namespace being deleted is not one).
    expect(instrumentor.logs.filter((line) => rbacDenial.test(JSON.stringify(line)))).toEqual([]);
    // podman run forwards SIGTERM to the container's process and exits with its code.
    expect(await instrumentor.stop("SIGTERM")).toBe(0);
    expect(instrumentor.unstructured).toEqual([]);
    expect(await leaseHolder(adminKubeConfig(), install)).toBeNull();
    console.log(
      `[image] ready (/readyz 200) ${readyMs.toFixed(0)} ms after podman run, as uid ${uid}`,
    );
  });
});
