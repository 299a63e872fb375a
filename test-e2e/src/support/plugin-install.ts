/**
 * The kubectl plugin as a user installs it (issue 34): its npm package, assembled from the built
 * bundle by tooling/bundle (`--app kubectl-plugin --no-build`: turbo built the apps before the
 * tests), made a tarball by `npm pack` and installed from it by `npm install -g --prefix`,
 * offline (the package has no dependencies, so no registry is asked). Once per test process, in
 * a temporary folder removed when the process ends; a second and a third call wait for the first.
 */
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const bundleScript = join(repoRoot, "tooling/bundle/src/bundle.mjs");
/** The plugin's bin, as kubectl looks for it on PATH. */
export const pluginBinName = "kubectl-odigos_instrumentor";

export interface InstalledPlugin {
  /** `<prefix>/bin`: the folder a user puts on PATH; it holds the bin's link. */
  readonly bin: string;
  /** The installed package: `<prefix>/lib/node_modules/<name>`. */
  readonly packageDir: string;
  /** The package's name (its package.json's). */
  readonly name: string;
  /** The `npm pack` tarball it was installed from. */
  readonly tarball: string;
  /** Wall time of assembling, packing and installing. */
  readonly ms: number;
}

/**
 * npm, run by this process's Node (the pinned one; `engine-strict` would refuse the install on
 * another): the npm beside it, else the first on PATH. The official Node binary the tests fetch
 * has no npm beside it; the machine's npm CLI is a script that any Node runs.
 */
const npmCommand = (): { file: string; prefix: ReadonlyArray<string> } => {
  const dirs = [dirname(process.execPath), ...(process.env.PATH ?? "").split(delimiter)];
  for (const dir of dirs.filter((entry) => entry !== "")) {
    const candidate = join(dir, "npm");
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    return /\.c?js$/.test(real)
      ? { file: process.execPath, prefix: [real] }
      : { file: candidate, prefix: [] };
  }
  throw new Error("no npm beside this Node or on PATH: the plugin's package cannot be installed");
};

/**
 * Removes `dir` when this process ends: at exit, or on SIGTERM or SIGINT, which skip "exit"
 * (vitest ends its fork workers with SIGTERM). After removing it the process dies of the signal
 * as it would have without the listener (or the other listeners handle it, as they would have).
 */
const removeAtEnd = (dir: string): void => {
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    process.once(signal, () => {
      remove();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
};

const install = async (): Promise<InstalledPlugin> => {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), "odigos-plugin-install-"));
  removeAtEnd(work);
  const packageSource = join(work, "package");
  const prefix = join(work, "prefix");
  await run(
    process.execPath,
    [bundleScript, packageSource, "--app", "kubectl-plugin", "--no-build"],
    {
      cwd: repoRoot,
    },
  );

  // npm with nothing of the caller's npm or pnpm settings (pnpm exports npm_config_* to the
  // scripts it runs), an empty user config and a cache of its own.
  const userConfig = join(work, "npmrc");
  writeFileSync(userConfig, "");
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)),
  );
  Object.assign(env, {
    PATH: [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter),
    npm_config_userconfig: userConfig,
    npm_config_cache: join(work, "npm-cache"),
    npm_config_update_notifier: "false",
  });
  const npm = npmCommand();
  const npmRun = (...args: ReadonlyArray<string>) =>
    run(npm.file, [...npm.prefix, ...args], { cwd: work, env });

  const { stdout: packed } = await npmRun(
    "pack",
    packageSource,
    "--pack-destination",
    work,
    "--json",
  );
  const [{ name, filename }] = JSON.parse(packed) as [{ name: string; filename: string }];
  const tarball = join(work, filename);
  await npmRun(
    "install",
    "-g",
    "--prefix",
    prefix,
    "--offline",
    "--no-audit",
    "--no-fund",
    tarball,
  );

  const bin = join(prefix, "bin");
  const packageDir = join(prefix, "lib/node_modules", name);
  if (!existsSync(join(bin, pluginBinName)))
    throw new Error(`npm installed ${name} without ${join(bin, pluginBinName)}`);
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
    name: string;
  };
  return { bin, packageDir, name: manifest.name, tarball, ms: Date.now() - started };
};

let installed: Promise<InstalledPlugin> | undefined;

/** The plugin installed from its npm tarball (once per process). */
export const installedPlugin = (): Promise<InstalledPlugin> => {
  installed ??= install();
  return installed;
};

/** `<prefix>/bin` of the plugin installed from its npm tarball: the folder a user puts on PATH. */
export const installedPluginBin = async (): Promise<string> => (await installedPlugin()).bin;
