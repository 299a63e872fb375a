// Issue 14: the production bundle, made by the one script the Dockerfile runs
// (tooling/bundle), holds production code only, and runs as the image holds it: read-only,
// owned by root, as the chart's unprivileged user with only the environment the chart and the
// kubelet set and the service-account token and CA where Kubernetes mounts them, against the
// local control plane with exactly the chart's RBAC. It becomes ready, converges the standard
// scenario and exits 0 on SIGTERM.
import { spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { type InstrumentorProcess, startInstrumentor } from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChartInstall,
  convergeStandardScenario,
  installChart,
  leaseHolder,
  rbacDenial,
} from "../support/chart-install.js";
import { adminKubeConfig } from "../support/cluster.js";
import {
  containerPath,
  processView,
  sandboxCommand,
  sandboxUnavailable,
  serviceAccountMountPoint,
} from "../support/pod-sandbox.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const bundleScript = join(repoRoot, "tooling/bundle/src/bundle.mjs");
const app = "@odigos/instrumentor";

const unavailable = sandboxUnavailable();
const sandboxRequired = process.env.ODIGOS_BUNDLE_SANDBOX === "required";
if (unavailable !== undefined) {
  console.warn(
    `[bundle] cannot run the bundle as the image would on this machine: ${unavailable}. ` +
      `That test is skipped${sandboxRequired ? " (no: ODIGOS_BUNDLE_SANDBOX=required, it fails)" : "; set ODIGOS_BUNDLE_SANDBOX=required to make it fail instead"}.`,
  );
}

/** Every regular file under `dir` (symbolic links not followed), path relative to it. */
const filesUnder = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      const stat = lstatSync(path);
      return { path: relative(dir, path), size: stat.size, uid: stat.uid, mode: stat.mode };
    });

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const run = (file: string, args: readonly string[], cwd = repoRoot): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
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

/** pnpm: the one running these tests (npm_execpath), else the one on PATH. */
const pnpm = (args: readonly string[]) => {
  const execPath = process.env.npm_execpath;
  return execPath !== undefined && /pnpm/.test(execPath)
    ? run(/\.c?js$/.test(execPath) ? process.execPath : execPath, [
        ...(/\.c?js$/.test(execPath) ? [execPath] : []),
        ...args,
      ])
    : run("pnpm", args);
};

interface LsNode {
  readonly dependencies?: Record<string, LsNode>;
  readonly devDependencies?: Record<string, LsNode>;
  readonly optionalDependencies?: Record<string, LsNode>;
}

/** Every package name in a `pnpm ls --json --depth Infinity` tree, below its roots. */
const namesIn = (roots: readonly LsNode[]): Set<string> => {
  const names = new Set<string>();
  const visit = (node: LsNode) => {
    const children = {
      ...node.dependencies,
      ...node.devDependencies,
      ...node.optionalDependencies,
    };
    for (const [name, child] of Object.entries(children)) {
      if (names.has(name)) continue;
      names.add(name);
      visit(child);
    }
  };
  for (const root of roots) visit(root);
  return names;
};

const closure = async (kind: "--prod" | "--dev") => {
  const result = await pnpm(["ls", "--filter", app, kind, "--depth", "Infinity", "--json"]);
  if (result.code !== 0) throw new Error(`pnpm ls ${kind} failed:\n${result.stderr}`);
  return namesIn(JSON.parse(result.stdout) as LsNode[]);
};

describe("the production bundle (tooling/bundle)", () => {
  const workDir = mkdtempSync(join(tmpdir(), "odigos-bundle-"));
  const appDir = join(workDir, "app");
  let summary = "";
  let install: ChartInstall | undefined;
  let instrumentor: InstrumentorProcess | undefined;

  beforeAll(async () => {
    // What the image holds must be readable by the pod's user: mkdtemp makes 0700 folders.
    chmodSync(workDir, 0o755);
    // turbo built the app and its workspace dependencies (^build) before this test runs.
    const result = await run(process.execPath, [bundleScript, appDir, "--no-build"]);
    if (result.code !== 0)
      throw new Error(
        `the bundle script exited with ${result.code}:\n${result.stderr}${result.stdout}`,
      );
    summary = result.stdout.trim();
  }, 120_000);

  afterAll(async () => {
    await instrumentor?.stop("SIGKILL");
    await install?.teardown();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("holds the app's production dependencies, and none of its devDependencies, tests, dev code, declarations or maps", async () => {
    const files = filesUnder(appDir);
    const paths = files.map((file) => file.path);
    expect(paths).toContain("dist/main.js");
    expect(paths.filter((path) => /\.(d\.[cm]?ts|map|[cm]?ts)$/.test(path))).toEqual([]);
    // Our code: the app's own files and the workspace packages' (registry packages ship their
    // own tests at times, pino's for one: what their authors publish is theirs).
    const workspace = await pnpm(["ls", "-r", "--depth", "-1", "--json"]);
    const workspaceNames = (JSON.parse(workspace.stdout) as Array<{ name?: string }>).flatMap(
      (project) => (project.name === undefined ? [] : [project.name]),
    );
    const ours = paths.filter(
      (path) =>
        !path.startsWith("node_modules/") ||
        workspaceNames.some((name) => path.includes(`/node_modules/${name}/`)),
    );
    expect(ours.filter((path) => path.startsWith("dist/"))).not.toEqual([]);
    expect(ours.some((path) => path.includes("/node_modules/@odigos/crd-types/dist/"))).toBe(true);
    expect(ours.filter((path) => /(^|\/)dist\/dev\//.test(path))).toEqual([]);
    expect(ours.filter((path) => /\.(test|spec)\.|(^|\/)test-support\//.test(path))).toEqual([]);

    const bundled = new Set(
      files
        .filter((file) => file.path.endsWith("/package.json"))
        .map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(file.path)?.[1])
        .filter((name): name is string => name !== undefined),
    );
    const production = await closure("--prod");
    const development = await closure("--dev");
    const devOnly = [...development].filter((name) => !production.has(name)).sort();
    expect(devOnly.length).toBeGreaterThan(0); // vitest, @odigos/control-plane, ...
    expect([...production].filter((name) => !bundled.has(name)).sort()).toEqual([]);
    expect(devOnly.filter((name) => bundled.has(name))).toEqual([]);

    const bytes = files.reduce((sum, file) => sum + file.size, 0);
    console.log(
      `[bundle] ${summary}\n[bundle] ${(bytes / 1_000_000).toFixed(1)} MB in ${files.length} files, ${bundled.size} packages`,
    );
  });

  describe.skipIf(unavailable !== undefined && !sandboxRequired)(
    `run as the image would (read-only, root-owned, the chart's user, environment and RBAC)${unavailable === undefined ? "" : `: ${unavailable}`}`,
    () => {
      const admin = adminKubeConfig();

      it("becomes ready, converges the standard scenario and exits 0 on SIGTERM", async () => {
        if (unavailable !== undefined)
          throw new Error(`cannot run the bundle as the image would: ${unavailable}`);

        // Owned by root, writable by no one else: what `COPY` puts in the image.
        const writable = filesUnder(appDir).filter(
          (file) => file.uid !== 0 || (file.mode & 0o022) !== 0,
        );
        expect(writable.map((file) => file.path)).toEqual([]);

        install = await installChart(admin, "bundle", workDir);
        const { container, apiServer } = install;
        expect(apiServer.host).toBe("127.0.0.1"); // the serving certificate's IP SAN
        const env = {
          // the image: no ENV of its own but the base's PATH
          PATH: containerPath,
          // the container runtime and the kubelet
          HOME: "/",
          HOSTNAME: install.podName,
          KUBERNETES_SERVICE_HOST: apiServer.host,
          KUBERNETES_SERVICE_PORT: apiServer.port,
          // the chart
          ...container.env,
        };
        expect(Object.keys(container.env).sort()).toEqual(["CURRENT_NS", "POD_NAME"]);

        const started = performance.now();
        instrumentor = await startInstrumentor({
          odigosNamespace: install.odigosNamespace,
          command: sandboxCommand({
            appDir,
            serviceAccountDir: install.serviceAccountDir,
            uid: container.runAsUser,
            gid: container.runAsGroup,
            env,
            command: [process.execPath, "dist/main.js"],
          }),
          args: container.args,
        });
        const readyMs = performance.now() - started;

        // The kernel's view of the process: the chart's user, nothing more.
        const view = processView(instrumentor.pid);
        expect(view.uid).toEqual([
          container.runAsUser,
          container.runAsUser,
          container.runAsUser,
          container.runAsUser,
        ]);
        expect(view.gid).toEqual([
          container.runAsGroup,
          container.runAsGroup,
          container.runAsGroup,
          container.runAsGroup,
        ]);
        expect(view.groups).toEqual([]);
        expect(Object.values(view.capabilities)).toEqual(Array(5).fill("0000000000000000"));
        expect(view.noNewPrivs).toBe(true);
        expect(view.env).toEqual(env);
        expect(view.cwd).toBe(appDir);
        const writableMounts = view.mounts.filter(
          ([target, options]) =>
            !/^\/(proc|sys|dev)(\/|$)/.test(target) && !options.split(",").includes("ro"),
        );
        expect(writableMounts).toEqual([]);
        expect(view.mounts.some(([target]) => target === "/")).toBe(true);
        expect(view.mounts.some(([target]) => target === appDir)).toBe(true);
        expect(view.mounts.some(([target]) => target === serviceAccountMountPoint())).toBe(true);

        const startLine = instrumentor.logs.find((line) => line.msg === "instrumentor started");
        expect(startLine).toMatchObject({
          credentials: "in-cluster",
          server: `https://${apiServer.host}:${apiServer.port}`,
          odigosNamespace: install.odigosNamespace,
          leaderElect: true,
        });

        await convergeStandardScenario(install);
        expect(await leaseHolder(admin, install)).toMatch(new RegExp(`^${install.podName}_`));
        // No RBAC denial anywhere (a 403 for a namespace being deleted, another file's, is not one).
        expect(instrumentor.logs.filter((line) => rbacDenial.test(JSON.stringify(line)))).toEqual(
          [],
        );
        expect(
          instrumentor.logs.filter((line) => line.level === "error" || line.level === "fatal"),
        ).toEqual([]);

        expect(await instrumentor.stop("SIGTERM")).toBe(0);
        expect(instrumentor.unstructured).toEqual([]);
        expect(await leaseHolder(admin, install)).toBeNull();
        console.log(
          `[bundle] ready (/readyz 200) ${readyMs.toFixed(0)} ms after the start, as uid ${container.runAsUser}`,
        );
      });
    },
  );
});
