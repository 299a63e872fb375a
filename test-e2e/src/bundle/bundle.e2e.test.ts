// Issue 14: the production bundle, made by the one script the Dockerfile runs
// (tooling/bundle): the app's esbuild bundle, no node_modules. It holds production code only,
// keeps @kubernetes/client-node in a chunk loaded only for credential plugins (and loads it for
// a kubeconfig with an exec plugin), and runs as the image holds it: read-only,
// owned by root, as the chart's unprivileged user with only the environment the chart and the
// kubelet set and the service-account token and CA where Kubernetes mounts them, against the
// local control plane with exactly the chart's RBAC. It becomes ready, converges the standard
// scenario and exits 0 on SIGTERM.
import { spawn } from "node:child_process";
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import {
  type InstrumentorProcess,
  productionEnv,
  productionNodeFlags,
  startInstrumentor,
} from "@odigos/harness";
import { init, parse } from "es-module-lexer";
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
/** The bundle's entry (package.json's bin), what the image's ENTRYPOINT runs. */
const entry = "instrumentor.mjs";

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

describe("the production bundle (tooling/bundle)", () => {
  const workDir = mkdtempSync(join(tmpdir(), "odigos-bundle-"));
  const appDir = join(workDir, "app");
  let summary = "";
  let install: ChartInstall | undefined;
  let instrumentor: InstrumentorProcess | undefined;
  let pluginInstall: ChartInstall | undefined;
  let pluginInstrumentor: InstrumentorProcess | undefined;

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
    await pluginInstrumentor?.stop("SIGKILL");
    await install?.teardown();
    await pluginInstall?.teardown();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("holds the esbuild bundle and its notices only: no node_modules, maps, declarations, tests or dev code; the client library in a chunk of its own", async () => {
    const files = filesUnder(appDir);
    const paths = files.map((file) => file.path).sort();
    const modules = paths.filter((path) => path.endsWith(".mjs"));
    expect(paths.filter((path) => !path.endsWith(".mjs"))).toEqual([
      "LICENSE",
      "THIRD-PARTY-NOTICES",
      "package.json",
    ]);
    expect(modules).toContain(entry);
    expect(modules.filter((path) => path !== entry && !/^chunks\/[^/]+\.mjs$/.test(path))).toEqual(
      [],
    );
    expect(JSON.parse(readFileSync(join(appDir, "package.json"), "utf8"))).toMatchObject({
      name: app,
      type: "module",
      bin: { "odigos-instrumentor": `./${entry}` },
    });
    const sources = new Map(
      modules.map((path) => [path, readFileSync(join(appDir, path), "utf8")] as const),
    );
    // No dev code (the local demo's control plane) and no test code made it in.
    for (const [path, source] of sources) {
      expect({
        path,
        dev: /@odigos\/control-plane|startControlPlane|from"vitest"/.test(source),
      }).toEqual({ path, dev: false });
    }

    // @kubernetes/client-node (credential plugins only) is a chunk that nothing imports
    // statically: a start with in-cluster credentials never loads it.
    const clientChunks = [...sources].filter(([, source]) =>
      /\bKubeConfig\s*=\s*class\b/.test(source),
    );
    expect(clientChunks.map(([path]) => path)).toHaveLength(1);
    const clientChunk = clientChunks[0]?.[0] ?? "";
    await init;
    const staticClosure = new Set<string>();
    const visit = (path: string) => {
      if (staticClosure.has(path)) return;
      staticClosure.add(path);
      const [imports] = parse(sources.get(path) ?? "", path);
      for (const { n, d } of imports) {
        if (d === -1 && n?.startsWith(".")) visit(join(dirname(path), n));
      }
    };
    visit(entry);
    expect(staticClosure.has(clientChunk)).toBe(false);
    const dynamicallyImported = [...staticClosure].flatMap((path) =>
      parse(sources.get(path) ?? "", path)[0]
        .filter(({ d, n }) => d >= 0 && n !== undefined)
        .map(({ n }) => join(dirname(path), n ?? "")),
    );
    expect(dynamicallyImported).toContain(clientChunk);

    const bytes = files.reduce((sum, file) => sum + file.size, 0);
    const clientBytes = files.find((file) => file.path === clientChunk)?.size ?? 0;
    console.log(
      `[bundle] ${summary}\n[bundle] ${(bytes / 1_000_000).toFixed(1)} MB in ${files.length} files (${modules.length} modules; the client-node chunk ${(clientBytes / 1_000_000).toFixed(1)} MB)`,
    );
  });

  it("loads the client library's chunk for a kubeconfig with an exec credential plugin, and becomes ready through it", async () => {
    const admin = adminKubeConfig();
    pluginInstall = await installChart(admin, "bundle-exec", workDir);
    const { serviceAccountDir, apiServer } = pluginInstall;
    // The plugin prints the service account's token as an ExecCredential and counts its calls.
    const calls = join(workDir, "exec-plugin-calls");
    const plugin = [
      'const { appendFileSync, readFileSync } = require("node:fs");',
      `appendFileSync(${JSON.stringify(calls)}, "called\\n");`,
      `const token = readFileSync(${JSON.stringify(join(serviceAccountDir, "token"))}, "utf8").trim();`,
      'console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token } }));',
    ].join("\n");
    const kubeconfigPath = join(workDir, "exec-kubeconfig.yaml");
    writeFileSync(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "plugin",
        contexts: [{ name: "plugin", context: { cluster: "local", user: "plugin" } }],
        clusters: [
          {
            name: "local",
            cluster: {
              server: `https://${apiServer.host}:${apiServer.port}`,
              "certificate-authority": join(serviceAccountDir, "ca.crt"),
            },
          },
        ],
        users: [
          {
            name: "plugin",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1",
                command: process.execPath,
                args: ["-e", plugin],
                interactiveMode: "Never",
              },
            },
          },
        ],
      }),
    );

    pluginInstrumentor = await startInstrumentor({
      kubeconfigPath,
      odigosNamespace: pluginInstall.odigosNamespace,
      command: [process.execPath, ...productionNodeFlags, join(appDir, entry)],
      args: pluginInstall.container.args,
    });
    expect(
      pluginInstrumentor.logs.find((line) => line.msg === "instrumentor started"),
    ).toMatchObject({
      credentials: "KUBECONFIG",
      server: `https://${apiServer.host}:${apiServer.port}`,
    });
    // Ready (startInstrumentor waited for /readyz 200): every cache listed and watched
    // with the plugin's token.
    expect(readFileSync(calls, "utf8")).toMatch(/^called\n/);
    expect(
      pluginInstrumentor.logs.filter((line) => line.level === "error" || line.level === "fatal"),
    ).toEqual([]);
    const code = await pluginInstrumentor.stop("SIGTERM");
    expect(code).toBe(0);
    expect(pluginInstrumentor.unstructured).toEqual([]);
    await pluginInstall.teardown();
    pluginInstall = undefined;
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
          // the image: the base's PATH and its own ENV
          PATH: containerPath,
          ...productionEnv,
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
            // The image's ENTRYPOINT: the tests' Node where the image has it.
            node: process.execPath,
            command: ["/usr/local/bin/node", ...productionNodeFlags, entry],
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
        // Logs go out in batches: the last line, logged just before exit, was flushed at exit.
        expect(instrumentor.logs.at(-1)).toMatchObject({ msg: "stopped", signal: "SIGTERM" });
        expect(await leaseHolder(admin, install)).toBeNull();
        console.log(
          `[bundle] ready (/readyz 200) ${readyMs.toFixed(0)} ms after the start, as uid ${container.runAsUser}`,
        );
      });
    },
  );
});
