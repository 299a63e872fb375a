#!/usr/bin/env node
/** `pnpm bench`: runs the benchmark, writes every figure as JSON and prints the markdown report. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { repoRoot } from "@odigos/control-plane";
import { killAll, pinnedNodeVersion } from "@odigos/harness";
import { type BenchOptions, parseBenchArgs, usage } from "./args.js";
import type { RunHandles } from "./meter.js";
import { renderReport } from "./render.js";
import { machineInfo, runBench } from "./run.js";
import { runPodsBench } from "./run-pods.js";
import { evaluateTargets } from "./targets.js";
import type { BenchResult } from "./types.js";

const log = (message: string) => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

/** `--out`, or `bench-results/bench-[pods-]<N>-<timestamp>.json` at the repo root. */
const outPath = (options: BenchOptions, startedAt: Date): string =>
  resolve(
    options.out ??
      join(
        repoRoot,
        "bench-results",
        `bench-${options.pods ? "pods-" : ""}${options.workloads}-${startedAt
          .toISOString()
          .replaceAll(":", "")
          .replace(/\.\d+Z$/, "Z")}.json`,
      ),
  );

/** On Ctrl-C or SIGTERM, stops what the run started and exits; tells whether that happened. */
const stopOnSignals = (handles: RunHandles): (() => boolean) => {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the instrumentor and the control plane`);
    handles.tracker?.stop();
    killAll();
    void (handles.controlPlane?.stop() ?? Promise.resolve()).finally(() =>
      process.exit(signal === "SIGINT" ? 130 : 143),
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => interrupted;
};

const main = async (): Promise<number> => {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (options.report !== undefined) {
    const saved = JSON.parse(await readFile(options.report, "utf8")) as BenchResult;
    saved.targets = evaluateTargets(saved);
    process.stdout.write(`${renderReport(saved)}\n`);
    return 0;
  }
  if (process.versions.node !== pinnedNodeVersion())
    log(
      `running on Node ${process.versions.node}, not the pinned ${pinnedNodeVersion()} the image ships: its figures are not comparable (\`make bench\` runs the pinned one)`,
    );
  const startedAt = new Date();
  const result: BenchResult = {
    version: 1,
    startedAt: startedAt.toISOString(),
    command: `pnpm bench ${process.argv.slice(2).join(" ")}`.trim(),
    options: { ...options },
    machine: machineInfo(),
  };
  const out = outPath(options, startedAt);
  const handles: RunHandles = {};
  const interrupted = stopOnSignals(handles);

  let failed = false;
  try {
    await (options.pods ? runPodsBench : runBench)(options, result, handles, log);
  } catch (error) {
    failed = true;
    result.error = error instanceof Error ? error.message : String(error);
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (handles.instrumentor !== undefined) {
      const problems = handles.instrumentor.logStats.problems.slice(-10);
      if (problems.length > 0) log(`instrumentor's last warnings:\n${problems.join("\n")}`);
    }
  } finally {
    if (handles.instrumentor?.alive === true) await handles.instrumentor.stop("SIGKILL");
    if (handles.controlPlane !== undefined) {
      log("stopping the control plane");
      await handles.controlPlane.stop();
    }
  }
  if (interrupted()) return 130;
  result.finishedAt = new Date().toISOString();
  result.machine.loadAverageAtEnd = loadavg();
  result.targets = evaluateTargets(result);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${renderReport(result)}\n\nJSON: ${out}\n`);
  return failed ? 1 : 0;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
