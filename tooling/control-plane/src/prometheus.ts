import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { exitReason, freePorts } from "./components.js";
import { type SupervisedProcess, spawnSupervised } from "./processes.js";
import { pollUntil } from "./wait.js";

/** A scrape target: `host:port`, with the labels a PodMonitor would give it. */
export interface ScrapeTarget {
  readonly address: string;
  /** E.g. `{ namespace: "odigos-system", pod: "odigos-instrumentor-0" }`. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface StartPrometheusOptions {
  /** The `prometheus` executable (`ensurePrometheus().prometheus`). */
  readonly prometheus: string;
  /** Folder whose `logs/`, `pids/` and `prometheus/` get its log, pid and TSDB: the control plane's `dataDir`. */
  readonly dataDir: string;
  /** What it scrapes (job `odigos-instrumentor`, path `/metrics`). */
  readonly targets: ReadonlyArray<ScrapeTarget>;
  /** Rule files it loads (`rule_files`). */
  readonly ruleFiles?: readonly string[];
  /** Scrape and rule evaluation interval. Default `1s`: tests wait for evidence, not minutes. */
  readonly interval?: string;
  /** Deadline for `/-/ready`. Default 60 s. */
  readonly startTimeoutMs?: number;
}

/** One alert as `/api/v1/alerts` reports it. */
export interface PrometheusAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: "pending" | "firing";
  readonly activeAt?: string;
  readonly value?: string;
}

export interface PrometheusServer {
  readonly process: SupervisedProcess;
  readonly logFile: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Active alerts (pending and firing), from its API. */
  readonly alerts: () => Promise<PrometheusAlert[]>;
  /** An instant query's vector: each sample's labels and value. */
  readonly query: (
    expr: string,
  ) => Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Scrape targets' health as it sees them (`/api/v1/targets`). */
  readonly targets: () => Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>>;
  /** SIGTERM, then SIGKILL after a grace period. */
  readonly stop: () => Promise<void>;
}

/** The configuration file: one job scraping `targets` with their labels, `ruleFiles` loaded. */
export function prometheusConfig(options: {
  readonly targets: ReadonlyArray<ScrapeTarget>;
  readonly ruleFiles?: readonly string[];
  readonly interval?: string;
}): string {
  const interval = options.interval ?? "1s";
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: [...(options.ruleFiles ?? [])],
    scrape_configs: [
      {
        job_name: "odigos-instrumentor",
        metrics_path: "/metrics",
        static_configs: options.targets.map((target) => ({
          targets: [target.address],
          labels: { ...target.labels },
        })),
      },
    ],
  });
}

const getJson = async <T>(url: string): Promise<T> => {
  const response = await fetch(url);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`GET ${url}: ${body.error ?? response.status}`);
  return body.data;
};

/**
 * Starts Prometheus as a supervised child (it dies with this Node process) with a TSDB in
 * `dataDir`, and waits until it is ready. Its API is all the tests use; its web UI has no
 * assets in this build.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const [port] = (await freePorts(1)) as [number];
  const home = join(options.dataDir, "prometheus");
  await mkdir(home, { recursive: true });
  const configFile = join(home, "prometheus.yml");
  await writeFile(configFile, prometheusConfig(options));
  const logFile = join(options.dataDir, "logs", "prometheus.log");
  const process_ = await spawnSupervised({
    name: "prometheus",
    command: options.prometheus,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(home, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=info",
    ],
    logFile,
    pidFile: join(options.dataDir, "pids", "prometheus.pid"),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await pollUntil(
      async () => {
        const response = await fetch(`${url}/-/ready`).catch(() => undefined);
        return response?.ok === true ? true : undefined;
      },
      {
        timeoutMs: options.startTimeoutMs ?? 60_000,
        intervalMs: 200,
        what: `prometheus to be ready (log: ${logFile})`,
        abortIf: () => exitReason(process_),
      },
    );
  } catch (error) {
    await process_.stop(2_000);
    throw error;
  }
  return {
    process: process_,
    logFile,
    url,
    alerts: async () =>
      (await getJson<{ alerts: PrometheusAlert[] }>(`${url}/api/v1/alerts`)).alerts,
    query: async (expr) => {
      const data = await getJson<{
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((sample) => ({
        metric: sample.metric,
        value: Number(sample.value[1]),
      }));
    },
    targets: async () =>
      (
        await getJson<{
          activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }>;
        }>(`${url}/api/v1/targets`)
      ).activeTargets,
    stop: () => process_.stop(),
  };
}
