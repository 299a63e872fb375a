/**
 * `kubectl odigos-instrumentor status -A -o json` as a person runs it: the built plugin
 * (its bundle, `apps/kubectl-plugin/dist/bundle/kubectl-odigos_instrumentor.mjs`, what the npm
 * package holds) in a new Node process each run, as kubectl starts it, with
 * a kubeconfig file; timed from spawn to exit, the workloads its output lists, and the API
 * requests it made from the audit log (its User-Agent, `kubectl-odigos_instrumentor/<version>`),
 * by verb and resource, whatever they are. The main run times it on the converged cluster
 * (`run.ts`); `plugin-timing-main.ts` at several N on a cluster of its own.
 */
import { execFile } from "node:child_process";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { type AuditLine, AuditTail, countable, filterAudit, repoRoot } from "@odigos/control-plane";
import { sleep } from "./meter.js";
import { summarizeRequests } from "./requests.js";
import { median } from "./stats.js";
import type { PluginStatusResult, PluginStatusRun } from "./types.js";

/** The built plugin, run with the Node that runs the benchmark. */
export const pluginEntry = join(
  repoRoot,
  "apps/kubectl-plugin/dist/bundle/kubectl-odigos_instrumentor.mjs",
);

/** How the plugin's requests start their User-Agent. */
export const pluginUserAgent = "kubectl-odigos_instrumentor/";

const run = promisify(execFile);

/** Where the plugin runs and against what. */
export interface PluginTarget {
  readonly kubeconfigPath: string;
  /** `--odigos-namespace`; none: the plugin's default (`odigos-system`). */
  readonly odigosNamespace?: string | undefined;
  /** Another script in the plugin's place (tests); default {@link pluginEntry}. */
  readonly entry?: string | undefined;
}

const statusArgs = (target: PluginTarget): string[] => [
  "status",
  "-A",
  "-o",
  "json",
  ...(target.odigosNamespace === undefined ? [] : ["--odigos-namespace", target.odigosNamespace]),
];

/** The command a person would type for what each run does, from the repository root. */
export const pluginCommand = (target: PluginTarget): string =>
  `KUBECONFIG=${target.kubeconfigPath} node ${relative(repoRoot, target.entry ?? pluginEntry)} ${statusArgs(target).join(" ")}`;

/** Reads the audit log from its end as it is now: the plugin's requests are read from there on. */
export const auditFromNow = async (auditLogPath: string): Promise<AuditTail> => {
  const audit = new AuditTail(auditLogPath);
  await audit.read([]);
  return audit;
};

/** Answers >= 400 by `verb resource[/subresource] code`. */
const failedOf = (lines: ReadonlyArray<AuditLine>): Record<string, number> => {
  const failed: Record<string, number> = {};
  for (const line of lines) {
    const code = line.responseStatus?.code ?? 0;
    if (!countable(line) || code < 400) continue;
    const ref = line.objectRef;
    const key = `${line.verb ?? "?"} ${ref?.resource ?? "(non-resource)"}${ref?.subresource === undefined ? "" : `/${ref.subresource}`} ${code}`;
    failed[key] = (failed[key] ?? 0) + 1;
  }
  return failed;
};

/**
 * One run of the plugin, timed from spawn to exit; its requests are those of its User-Agent in
 * the audit log since the last read of `audit`, read a moment after it exits (the API server
 * writes a request's last audit event as the answer ends). Rejects when the plugin fails or
 * prints no `total`.
 */
export const runPluginStatus = async (
  target: PluginTarget,
  audit: AuditTail,
): Promise<PluginStatusRun> => {
  const started = performance.now();
  const { stdout } = await run(
    process.execPath,
    [target.entry ?? pluginEntry, ...statusArgs(target)],
    {
      env: { ...process.env, KUBECONFIG: target.kubeconfigPath },
      maxBuffer: 1 << 28,
    },
  );
  const ms = performance.now() - started;
  const total: unknown = (JSON.parse(stdout) as { total?: unknown }).total;
  if (typeof total !== "number") throw new Error("the plugin's JSON has no total");
  await sleep(250);
  const lines = filterAudit(await audit.read([pluginUserAgent]), {
    userAgent: (agent) => agent.startsWith(pluginUserAgent),
  });
  return { ms, workloads: total, requests: summarizeRequests(lines), failed: failedOf(lines) };
};

/** `runs` runs of the plugin one after another, their median and max wall time. */
export const timePluginStatus = async (
  target: PluginTarget,
  audit: AuditTail,
  runs: number,
  expected: number,
): Promise<PluginStatusResult> => {
  const done: PluginStatusRun[] = [];
  for (let index = 0; index < runs; index++) done.push(await runPluginStatus(target, audit));
  const times = done.map((one) => one.ms);
  return {
    command: pluginCommand(target),
    expected,
    runs: done,
    medianMs: median(times),
    maxMs: times.length === 0 ? undefined : Math.max(...times),
  };
};
