#!/usr/bin/env node
// @ts-check
/**
 * The figures of the README: `node <entry> --help` for tsc's output run from node_modules
 * (`apps/instrumentor/dist/main.js`) and for the esbuild bundle
 * (`apps/instrumentor/dist/bundle/instrumentor.mjs`), each run `--runs` times (default 7),
 * alternating; medians of the peak RSS, the heap used at exit, the live heap then (after a full
 * GC) and the wall time from spawn to exit; and the bundle's size on disk without its maps.
 * `--app kubectl-plugin`: the same for the plugin (`apps/kubectl-plugin/dist/main.js` and
 * `dist/bundle/kubectl-odigos_instrumentor.mjs`; apps.mjs lists the apps).
 *
 *   pnpm build && node tooling/bundle/src/measure.mjs [--runs N] [--app instrumentor|kubectl-plugin]
 *
 * Memory does not depend on the machine's load; the wall time does (read it on a quiet machine).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { apps } from "./apps.mjs";
import { walk } from "./files.mjs";

// Loaded before the entry (--import): at exit, the figures as one JSON line on stderr.
const hook = `process.on("exit", () => {
  const heapUsed = process.memoryUsage().heapUsed;
  globalThis.gc();
  process.stderr.write("\\n" + JSON.stringify({ measured: {
    maxRss: process.resourceUsage().maxRSS * 1024, heapUsed, liveHeap: process.memoryUsage().heapUsed,
  } }) + "\\n");
});`;

/**
 * One `node <entry> --help`.
 * @param {string} entry
 * @returns {Promise<{ maxRss: number, heapUsed: number, liveHeap: number, wallMs: number }>}
 */
const runOnce = (entry) =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        `data:text/javascript,${encodeURIComponent(hook)}`,
        entry,
        "--help",
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "" } },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = performance.now() - started;
      const line = stderr.split("\n").find((text) => text.startsWith('{"measured":'));
      if (code !== 0 || line === undefined)
        return reject(new Error(`node ${entry} --help exited with ${code}: ${stderr.trim()}`));
      resolve({ ...JSON.parse(line).measured, wallMs });
    });
  });

/** @param {number[]} values */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "7" },
    app: { type: "string", default: "instrumentor" },
  },
});
const runs = Number(values.runs);
const shipped = apps[values.app];
if (!Number.isInteger(runs) || runs < 1 || shipped === undefined) {
  process.stderr.write(
    `usage: node tooling/bundle/src/measure.mjs [--runs N] [--app ${Object.keys(apps).join("|")}]\n`,
  );
  process.exit(2);
}
const appDir = fileURLToPath(new URL(`../../../${shipped.dir}/`, import.meta.url));
const bundleEntry = `dist/bundle/${shipped.entry}`;
const entries = [
  { name: "dist/main.js (tsc, node_modules)", path: join(appDir, "dist/main.js") },
  { name: bundleEntry, path: join(appDir, bundleEntry) },
];
for (const { path } of entries)
  if (!existsSync(path)) {
    process.stderr.write(`${path} does not exist: run pnpm build first\n`);
    process.exit(1);
  }

/** @type {Map<string, Array<Awaited<ReturnType<typeof runOnce>>>>} */
const samples = new Map(entries.map(({ name }) => [name, []]));
for (let run = 0; run < runs; run++)
  for (const { name, path } of entries) samples.get(name)?.push(await runOnce(path));

const mb = (/** @type {number} */ bytes) => `${(bytes / 1_000_000).toFixed(1)} MB`;
process.stdout.write(
  `${shipped.dir}, node ${process.version}, ${runs} runs each, medians of \`--help\`:\n`,
);
for (const [name, runsOf] of samples) {
  const of = (/** @type {"maxRss" | "heapUsed" | "liveHeap" | "wallMs"} */ key) =>
    median(runsOf.map((sample) => sample[key]));
  process.stdout.write(
    `  ${name.padEnd(46)} peak RSS ${mb(of("maxRss"))}, heap used ${mb(of("heapUsed"))} (live ${mb(of("liveHeap"))}), ${(of("wallMs") / 1000).toFixed(2)} s\n`,
  );
}
const { files } = walk(join(appDir, "dist/bundle"));
const code = files.filter((file) => file.path.endsWith(".mjs"));
process.stdout.write(
  `  bundle on disk: ${mb(code.reduce((sum, file) => sum + file.size, 0))} in ${code.length} modules (without maps; THIRD-PARTY-NOTICES ${mb(files.find((file) => file.path === "THIRD-PARTY-NOTICES")?.size ?? 0)})\n`,
);
