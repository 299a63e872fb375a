/**
 * `kubectl odigos-instrumentor status -A` in a run without pods: once every workload is
 * instrumented, with the instrumentor running, the built plugin timed a run at a time
 * (`plugin-status.ts`), the runs metered as one phase.
 */
import { existsSync } from "node:fs";
import { odigosNamespace } from "./meter.js";
import {
  auditFromNow,
  type PluginTarget,
  pluginCommand,
  pluginEntry,
  timePluginStatus,
} from "./plugin-status.js";
import { breakdown, seconds } from "./report.js";
import type { RunContext } from "./run-context.js";
import type { PluginStatusResult } from "./types.js";

const phaseName = "kubectl odigos-instrumentor status -A";

/** The plugin's runs, in one line of the log. */
const summaryLine = (timed: PluginStatusResult): string => {
  const last = timed.runs.at(-1);
  const listed = [...new Set(timed.runs.map((run) => run.workloads))].join(", ");
  return `${phaseName}: median ${seconds(timed.medianMs)}, max ${seconds(timed.maxMs)}, ${last?.requests.total ?? "?"} requests a run (${breakdown(last?.requests.byVerbResource ?? {})}), ${listed} of ${timed.expected} workloads listed`;
};

/**
 * `--plugin-runs` runs of `status -A -o json`, one at a time, as one phase of the meter (the API
 * server's CPU, other load, the instrumentor's requests meanwhile). A plugin that is not built,
 * or fails, is recorded and logged, and the run goes on: it is not the instrumentor's figure.
 */
export const pluginStatusPhase = async (run: RunContext): Promise<PluginStatusResult> => {
  const { options, controlPlane, meter, log, n } = run;
  const target: PluginTarget = { kubeconfigPath: controlPlane.kubeconfigPath, odigosNamespace };
  const failed = (error: string): PluginStatusResult => {
    log(`${phaseName}: ${error}`);
    const none = { runs: [], medianMs: undefined, maxMs: undefined };
    return { command: pluginCommand(target), expected: n, ...none, error };
  };
  if (!existsSync(pluginEntry))
    return failed(
      "the plugin is not built (pnpm exec turbo run build --filter=@odigos/kubectl-plugin...)",
    );
  const auditLogPath = controlPlane.auditLogPath;
  if (auditLogPath === undefined) return failed("the control plane has no audit log");
  log(`${phaseName}: ${options.pluginRuns} runs, a new process each`);
  const audit = await auditFromNow(auditLogPath);
  const mark = await meter.begin(true);
  const started = performance.now();
  try {
    const timed = await timePluginStatus(target, audit, options.pluginRuns, n);
    const phase = await meter.end(mark, phaseName, performance.now() - started, 0);
    log(summaryLine(timed));
    return { ...timed, phase };
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error));
  }
};
