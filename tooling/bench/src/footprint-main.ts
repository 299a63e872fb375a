#!/usr/bin/env node
/**
 * `pnpm --filter @odigos/bench footprint <results.json>...`: the memory targets of runs at
 * several N, from their JSON results (each run's RSS after the initial reconcile and peak, and
 * the growth per workload between sizes).
 */
import { readFile } from "node:fs/promises";
import { type FootprintRun, growthTargets, runFootprintTargets } from "./footprint.js";
import { renderTargets } from "./report.js";
import type { BenchResult } from "./types.js";

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: footprint <bench results.json>...\n");
  process.exit(2);
}
const runs: FootprintRun[] = [];
for (const file of files) {
  const result = JSON.parse(await readFile(file, "utf8")) as BenchResult;
  runs.push({
    workloads: result.seeding?.workloads ?? 0,
    rssAfterSyncBytes: result.startup?.rssAfterSyncBytes,
    split: result.startup?.rssSplitAfterSync,
    peakRssBytes: result.instrumentor?.highWaterMarkBytes,
  });
}
process.stdout.write(
  `${renderTargets([...runs.flatMap(runFootprintTargets), ...growthTargets(runs)])}\n`,
);
