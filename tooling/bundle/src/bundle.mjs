#!/usr/bin/env node
// @ts-check
/**
 * An app's shipped bundle: the one script the Dockerfile and the tests use.
 *
 *   node tooling/bundle/src/bundle.mjs <out-dir> [--app instrumentor|kubectl-plugin] [--no-build]
 *
 * `--app instrumentor` (the default) is what the image holds in /app; `--app kubectl-plugin` is
 * the folder `npm pack` makes the plugin's npm package of (apps.mjs lists both).
 *
 * 1. builds the app and its workspace dependencies (`turbo run build --filter=<app>...`;
 *    `--no-build` when the caller already did, as turbo does before the tests); the app's build
 *    ends with its esbuild bundle, `<app>/dist/bundle/` (app-bundle.mjs);
 * 2. copies that bundle's modules and THIRD-PARTY-NOTICES to `<out-dir>` (not its source maps),
 *    and writes a package.json (name, version, description, license, type, bin, engines: the
 *    app's; the plugin's under its npm name) and the repository's LICENSE;
 * 3. checks the result (verify.mjs) and prints its size. Exit 1 with one line per problem.
 *
 * `<out-dir>` must not exist or be empty. Progress goes to stderr, the summary to stdout.
 */
import { spawn } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { apps } from "./apps.mjs";
import { walk } from "./files.mjs";
import { verifyBundle } from "./verify.mjs";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      app: { type: "string", default: "instrumentor" },
      "no-build": { type: "boolean", default: false },
    },
  });
} catch (error) {
  parsed = undefined;
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
}
const [outArg, ...extra] = parsed?.positionals ?? [];
const shipped = apps[parsed?.values.app ?? ""];
if (parsed === undefined || outArg === undefined || extra.length > 0 || shipped === undefined) {
  process.stderr.write(
    `usage: node tooling/bundle/src/bundle.mjs <out-dir> [--app ${Object.keys(apps).join("|")}] [--no-build]\n`,
  );
  process.exit(2);
}
const app = shipped.workspace;
const appDir = join(repoRoot, shipped.dir);
/** What the app's build makes (its scripts/bundle.mjs, with app-bundle.mjs). */
const built = join(appDir, "dist/bundle");
const entry = shipped.entry;
// Through `pnpm --filter @odigos/bundle bundle <dir>` the cwd is this package: paths are the caller's.
const base = process.env.npm_lifecycle_event === "bundle" ? (process.env.INIT_CWD ?? ".") : ".";
const out = isAbsolute(outArg) ? outArg : resolve(base, outArg);
if (existsSync(out) && readdirSync(out).length > 0) {
  process.stderr.write(`${out} exists and is not empty: the bundle needs an empty folder\n`);
  process.exit(2);
}
const say = (/** @type {string} */ line) => process.stderr.write(`[bundle] ${line}\n`);

/**
 * pnpm: the one running this script (`pnpm --filter ... bundle`), else the one on PATH.
 * @returns {[string, string[]]}
 */
const pnpm = () => {
  const execPath = process.env.npm_execpath;
  if (execPath !== undefined && /pnpm/.test(execPath) && existsSync(execPath))
    return /\.c?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath, []];
  return ["pnpm", []];
};

/**
 * Runs pnpm in the repository root; its output goes to stderr.
 * @param {string[]} args
 * @returns {Promise<void>}
 */
const runPnpm = (args) =>
  new Promise((done, fail) => {
    const [command, prefix] = pnpm();
    const child = spawn(command, [...prefix, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", process.stderr, process.stderr],
    });
    child.on("error", (error) =>
      fail(
        /** @type {NodeJS.ErrnoException} */ (error).code === "ENOENT"
          ? new Error(
              "pnpm is not on PATH: install the pinned one (npm install --global pnpm@<packageManager version>) or run `pnpm --filter @odigos/bundle bundle <dir>`",
            )
          : error,
      ),
    );
    child.on("close", (code) =>
      code === 0 ? done() : fail(new Error(`pnpm ${args.join(" ")} exited with ${code}`)),
    );
  });

const started = Date.now();
try {
  if (!parsed.values["no-build"]) {
    say(`building ${app} and its workspace dependencies (tsc, then esbuild)`);
    await runPnpm([
      "exec",
      "turbo",
      "run",
      "build",
      `--filter=${app}...`,
      "--output-logs=errors-only",
    ]);
  }
  if (!existsSync(join(built, entry)))
    throw new Error(
      `${join(built, entry)} does not exist: build the app first (pnpm exec turbo run build --filter=${app}...), or run without --no-build`,
    );

  say(`copying ${built} without its source maps to ${out}`);
  mkdirSync(out, { recursive: true });
  cpSync(built, out, { recursive: true, filter: (source) => !source.endsWith(".map") });
  /** @type {{ name: string, version: string, description?: string, license: string, engines?: unknown, bin?: Record<string, string> }} */
  const manifest = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8"));
  const binNames = Object.keys(manifest.bin ?? {});
  if (binNames.length === 0) throw new Error(`${app} has no bin in its package.json`);
  writeFileSync(
    join(out, "package.json"),
    `${JSON.stringify(
      {
        name: shipped.packageName ?? manifest.name,
        version: manifest.version,
        description: manifest.description,
        license: manifest.license,
        type: "module",
        bin: Object.fromEntries(binNames.map((name) => [name, `./${entry}`])),
        engines: manifest.engines,
      },
      null,
      2,
    )}\n`,
  );
  copyFileSync(join(repoRoot, "LICENSE"), join(out, "LICENSE"));

  const verification = await verifyBundle(out, { usage: shipped.usage });
  if (verification.problems.length > 0) {
    process.stderr.write(
      `[bundle] ${out} is not a good production bundle:\n${verification.problems.map((p) => `  ${p}`).join("\n")}\n`,
    );
    process.exit(1);
  }
  const { files } = walk(out);
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  process.stdout.write(
    `${out}: ${mb(bytes)} in ${files.length} files; ${verification.checkedImports} imports of ${verification.checkedFiles} modules resolve in the bundle; node ${entry} --help works (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
} catch (error) {
  process.stderr.write(`[bundle] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

/** @param {number} bytes */
function mb(bytes) {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
