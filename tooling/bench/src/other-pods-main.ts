#!/usr/bin/env node
/**
 * `pnpm --filter @odigos/bench other-pods <with.json> <without.json>`: issue 35 across two runs
 * with pods, the same N and budgets, one with `--other-pods` and one without: the instrumentor's
 * RSS after sync, its CPU idle on its converged workloads and the pod events it received.
 */
import { readFile } from "node:fs/promises";
import { otherPodsComparison } from "./other-pods-report.js";
import { renderTargets } from "./report.js";
import type { BenchResult } from "./types.js";

const files = process.argv.slice(2);
if (files.length !== 2) {
  process.stderr.write("usage: other-pods <with-other-pods.json> <without.json>\n");
  process.exit(2);
}
const runs = await Promise.all(
  files.map(async (file) => {
    const result = JSON.parse(await readFile(file, "utf8")) as BenchResult;
    const others = result.pods?.otherPods;
    if (others === undefined)
      throw new Error(`${file}: no other-pods figures (a run with --pods since issue 35)`);
    return { workloads: result.seeding?.workloads, others };
  }),
);
const [withOthers, without] = runs;
if (withOthers !== undefined && without !== undefined)
  process.stdout.write(`${renderTargets(otherPodsComparison(withOthers, without))}\n`);
