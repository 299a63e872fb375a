#!/usr/bin/env node
// @ts-check
/**
 * The instrumentor's production bundle: the one script the Dockerfile and the tests use.
 *
 *   node tooling/bundle/src/bundle.mjs <out-dir> [--no-build] [--package <name>]
 *
 * 1. builds the app and its workspace dependencies (`turbo run build --filter=<app>...`;
 *    `--no-build` when the caller already did, as turbo does before the tests);
 * 2. `pnpm deploy --prod`: the app's `files` (no dist/dev, no tests) and its production
 *    dependencies, workspace packages copied by their own `files`;
 * 3. removes type declarations, source maps and TypeScript sources from every package;
 * 4. checks the result (verify.mjs) and prints its size. Exit 1 with one line per problem.
 *
 * `<out-dir>` must not exist or be empty. Progress goes to stderr, the summary to stdout.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prune, walk } from "./files.mjs";
import { verifyBundle } from "./verify.mjs";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "no-build": { type: "boolean", default: false },
    package: { type: "string", default: "@odigos/instrumentor" },
  },
});
const [outArg, ...extra] = positionals;
if (outArg === undefined || extra.length > 0) {
  process.stderr.write(
    "usage: node tooling/bundle/src/bundle.mjs <out-dir> [--no-build] [--package <name>]\n",
  );
  process.exit(2);
}
// Through `pnpm --filter @odigos/bundle bundle <dir>` the cwd is this package: paths are the caller's.
const base = process.env.npm_lifecycle_event === "bundle" ? (process.env.INIT_CWD ?? ".") : ".";
const out = isAbsolute(outArg) ? outArg : resolve(base, outArg);
if (existsSync(out) && readdirSync(out).length > 0) {
  process.stderr.write(`${out} exists and is not empty: the bundle needs an empty folder\n`);
  process.exit(2);
}
const app = values.package;
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
 * Runs pnpm in the repository root; its output goes to stderr (or is returned when `capture`).
 * @param {string[]} args
 * @param {{ capture?: boolean }} [options]
 * @returns {Promise<string>}
 */
const runPnpm = (args, options = {}) =>
  new Promise((done, fail) => {
    const [command, prefix] = pnpm();
    const child = spawn(command, [...prefix, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", options.capture ? "pipe" : process.stderr, process.stderr],
    });
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
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
      code === 0 ? done(stdout) : fail(new Error(`pnpm ${args.join(" ")} exited with ${code}`)),
    );
  });

const started = Date.now();
try {
  if (!values["no-build"]) {
    say(`building ${app} and its workspace dependencies`);
    await runPnpm([
      "exec",
      "turbo",
      "run",
      "build",
      `--filter=${app}...`,
      "--output-logs=errors-only",
    ]);
  }

  /** @type {Array<{ name?: string }>} */
  const projects = JSON.parse(
    await runPnpm(["ls", "-r", "--depth", "-1", "--json"], { capture: true }),
  );
  const workspacePackages = projects.flatMap((project) => (project.name ? [project.name] : []));
  if (!workspacePackages.includes(app)) throw new Error(`${app} is not a workspace package`);

  // --legacy: the default deploy of pnpm 10 needs inject-workspace-packages=true, which would
  // make every workspace dependency a copy instead of a link during development.
  say(`pnpm deploy --prod ${app} to ${out}`);
  await runPnpm(["--filter", app, "deploy", "--prod", "--legacy", out]);

  const removed = prune(out);
  say(
    `removed ${removed.files} type declarations, source maps and TypeScript sources (${mb(removed.bytes)})`,
  );

  const verification = await verifyBundle(out, { ownPackages: workspacePackages });
  if (verification.problems.length > 0) {
    process.stderr.write(
      `[bundle] ${out} is not a good production bundle:\n${verification.problems.map((p) => `  ${p}`).join("\n")}\n`,
    );
    process.exit(1);
  }
  const { files } = walk(out);
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  process.stdout.write(
    `${out}: ${mb(bytes)} in ${files.length} files; ${verification.checkedImports} imports of ${verification.checkedFiles} files of ${verification.ownPackages.length} own packages resolve in the bundle (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
} catch (error) {
  process.stderr.write(`[bundle] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

/** @param {number} bytes */
function mb(bytes) {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
