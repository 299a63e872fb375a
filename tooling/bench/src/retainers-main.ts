#!/usr/bin/env node
/**
 * `pnpm --filter @odigos/bench retainers <file.heapsnapshot> [--min-mb M] [--limit N]`: what
 * holds the memory of a heap snapshot, by dominator tree (see `retainers.ts`). Take one from a
 * running benchmark with `--instrumentor-node-args="--heapsnapshot-signal=SIGUSR2
 * --diagnostic-dir=DIR"` and `kill -USR2 <instrumentor pid>`.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type HeapSnapshotFile, largestRetainers, renderRetainers } from "./retainers.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "min-mb": { type: "string", default: "0.2" },
    limit: { type: "string", default: "40" },
  },
});
const [file] = positionals;
const minMegabytes = Number(values["min-mb"]);
const limit = Number(values.limit);
if (file === undefined || !Number.isFinite(minMegabytes) || !Number.isInteger(limit)) {
  process.stderr.write("usage: retainers <file.heapsnapshot> [--min-mb 0.2] [--limit 40]\n");
  process.exit(2);
}
const snapshot = JSON.parse(await readFile(file, "utf8")) as HeapSnapshotFile;
const report = largestRetainers(snapshot, { minBytes: minMegabytes * 1024 * 1024, limit });
process.stdout.write(`${renderRetainers(report)}\n`);
