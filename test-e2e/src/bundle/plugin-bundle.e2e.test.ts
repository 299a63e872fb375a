// Issue 34: the kubectl plugin shipped as a bundle beside the operator's, installable with npm.
// Its package (tooling/bundle --app kubectl-plugin: the esbuild bundle of the plugin's build, no
// node_modules) is packed with `npm pack` and installed offline with `npm install -g --prefix`
// (support/plugin-install.ts); the prefix's bin folder on PATH is all a user adds. kubectl finds
// the plugin there, and it reads the e2e control plane with an admin kubeconfig.
import { execFile } from "node:child_process";
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AppsV1Api } from "@kubernetes/client-node";
import { ensureBinaries } from "@odigos/control-plane";
import { init, parse } from "es-module-lexer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig } from "../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../support/namespace.js";
import { type InstalledPlugin, installedPlugin, pluginBinName } from "../support/plugin-install.js";

const run = promisify(execFile);
const pluginDir = fileURLToPath(new URL("../../../apps/kubectl-plugin/", import.meta.url));
const entry = `${pluginBinName}.mjs`;

/** Every regular file under `dir`, relative to it (symbolic links not followed). */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((found) => found.isFile())
    .map((found) => relative(dir, join(found.parentPath, found.name)))
    .sort();

describe("the kubectl plugin's npm package (tooling/bundle --app kubectl-plugin)", () => {
  const workDir = mkdtempSync(join(tmpdir(), "odigos-plugin-bundle-"));
  let plugin: InstalledPlugin;
  let namespace: TestNamespace | undefined;
  /** What a user's PATH needs: the prefix's bin folder, and a Node 24 (the bin is `#!/usr/bin/env node`). */
  const userPath = () => [plugin.bin, dirname(process.execPath)].join(delimiter);

  beforeAll(async () => {
    plugin = await installedPlugin();
  }, 120_000);

  afterAll(async () => {
    await namespace?.delete();
    rmSync(workDir, { recursive: true, force: true });
  });

  it("installs offline from its tarball; the bin on PATH prints its usage and version", async () => {
    // npm linked the bin to the bundle's entry and made it executable.
    const bin = join(plugin.bin, pluginBinName);
    expect(realpathSync(bin)).toBe(join(realpathSync(plugin.packageDir), entry));
    accessSync(bin, constants.X_OK);
    const env = { PATH: userPath(), HOME: "/nonexistent" };
    // Found on PATH by name, as kubectl and a shell find it.
    const help = await run(pluginBinName, ["--help"], { env });
    expect(help.stdout).toMatch(/^\$ kubectl-odigos_instrumentor\b/m);
    expect(help.stdout).toMatch(/\bstatus\b[\s\S]*\bexplain\b/);
    const version = await run(pluginBinName, ["--version"], { env });
    const manifest = JSON.parse(readFileSync(join(pluginDir, "package.json"), "utf8")) as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(manifest.version);
    console.log(
      `[plugin-bundle] ${plugin.name} assembled, packed and installed in ${plugin.ms} ms`,
    );
  });

  it("holds the plugin's esbuild bundle and its notices only: no node_modules, dependencies, test or dev code; the client library in a chunk of its own", async () => {
    const installed = JSON.parse(readFileSync(join(plugin.packageDir, "package.json"), "utf8"));
    expect(installed).toMatchObject({
      name: "@odigos/kubectl-odigos-instrumentor",
      type: "module",
      bin: { [pluginBinName]: `./${entry}` },
      engines: { node: ">=24.11" },
      license: "Apache-2.0",
    });
    expect(installed.dependencies).toBeUndefined();
    // The prefix holds the package and the bin's link, nothing npm fetched.
    expect(readdirSync(dirname(dirname(plugin.packageDir)))).toEqual(["@odigos"]);
    expect(readdirSync(dirname(plugin.packageDir))).toEqual(["kubectl-odigos-instrumentor"]);

    const files = filesUnder(plugin.packageDir);
    expect(files.filter((path) => !path.endsWith(".mjs"))).toEqual([
      "LICENSE",
      "THIRD-PARTY-NOTICES",
      "package.json",
    ]);
    const modules = files.filter((path) => path.endsWith(".mjs"));
    expect(modules.filter((path) => path !== entry && !/^chunks\/[^/]+\.mjs$/.test(path))).toEqual(
      [],
    );
    // The very modules of the plugin's build (dist/bundle), without their maps.
    expect(modules).toEqual(
      filesUnder(join(pluginDir, "dist/bundle")).filter((path) => path.endsWith(".mjs")),
    );
    const sources = new Map(
      modules.map((path) => [path, readFileSync(join(plugin.packageDir, path), "utf8")] as const),
    );
    for (const [path, source] of sources) {
      expect({
        path,
        dev: /@odigos\/control-plane|startControlPlane|from"vitest"|@effect\/vitest|fake-api-server/.test(
          source,
        ),
      }).toEqual({ path, dev: false });
    }
    // @kubernetes/client-node (a kubeconfig with a credential plugin) is imported only
    // dynamically: a kubeconfig with certificates or a token never loads it.
    const clientChunks = [...sources]
      .filter(([, source]) => /\bKubeConfig\s*=\s*class\b/.test(source))
      .map(([path]) => path);
    expect(clientChunks).toHaveLength(1);
    await init;
    const staticClosure = new Set<string>();
    const visit = (path: string) => {
      if (staticClosure.has(path)) return;
      staticClosure.add(path);
      for (const { n, d } of parse(sources.get(path) ?? "", path)[0])
        if (d === -1 && n?.startsWith(".")) visit(join(dirname(path), n));
    };
    visit(entry);
    expect(staticClosure.has(clientChunks[0] ?? "")).toBe(false);

    const notices = readFileSync(join(plugin.packageDir, "THIRD-PARTY-NOTICES"), "utf8");
    expect(notices).toMatch(/^@effect\/cli@\S+ \(MIT\)$/m);
    expect(notices).toMatch(/^effect@\S+ \(MIT\)$/m);
  });

  it("kubectl finds it on PATH: `kubectl odigos-instrumentor status -A -o json` reads the control plane", async () => {
    const admin = adminKubeConfig();
    namespace = await createTestNamespace(admin, "plugin-npm");
    const labels = { app: "web" };
    await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: namespace.name,
      body: {
        metadata: { name: "web", labels },
        spec: {
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: "app", image: "example.invalid/web:1" }] },
          },
        },
      },
    });
    const kubeconfig = join(workDir, "kubeconfig");
    writeFileSync(kubeconfig, admin.exportConfig(), { mode: 0o600 });
    const kubectl = (await ensureBinaries()).kubectl ?? "kubectl";
    const env = { PATH: userPath(), HOME: "/nonexistent", KUBECONFIG: kubeconfig };

    const { stdout: plugins } = await run(kubectl, ["plugin", "list", "--name-only"], { env });
    expect(plugins.split("\n")).toContain(pluginBinName);

    const { stdout } = await run(kubectl, ["odigos-instrumentor", "status", "-A", "-o", "json"], {
      env,
    });
    const report = JSON.parse(stdout) as {
      rows: ReadonlyArray<{
        namespace: string;
        kind: string;
        name: string;
        state: string;
        reason: string;
      }>;
    };
    expect(Array.isArray(report.rows)).toBe(true);
    expect(report.rows.filter((row) => row.namespace === namespace?.name)).toEqual([
      expect.objectContaining({
        kind: "Deployment",
        name: "web",
        state: "NotInstrumented",
        reason: "NotOptedIn",
      }),
    ]);
  });
});
