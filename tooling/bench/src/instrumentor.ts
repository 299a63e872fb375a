/** The instrumentor as a real process: its start, its logs, its metrics, its idleness. */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { inspectorUrlOf } from "./inspector.js";
import { metricSum } from "./prometheus.js";

/** `apps/instrumentor/dist/main.js`, found through the workspace dependency. */
export const instrumentorMain = (): string =>
  join(dirname(fileURLToPath(import.meta.resolve("@odigos/instrumentor"))), "main.js");

export interface StartOptions {
  readonly kubeconfigPath: string;
  readonly odigosNamespace: string;
  /** Node flags before the script, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  readonly nodeArgs: ReadonlyArray<string>;
  /** Extra instrumentor flags. */
  readonly args: ReadonlyArray<string>;
  /** The script to run; default {@link instrumentorMain}. */
  readonly main?: string | undefined;
}

export interface StartTimings {
  /** Spawn to the "instrumentor started" log line. */
  readonly startedMs: number;
  /** Spawn to "caches synced". */
  readonly cachesSyncedMs: number;
  /** Spawn to the first `/readyz` 200. */
  readonly readyMs: number;
}

export interface LogStats {
  readonly lines: number;
  readonly byLevel: Record<string, number>;
  readonly unstructured: number;
  /** The last warnings and errors (at most 50). */
  readonly problems: string[];
}

const levelName = (level: unknown): string =>
  typeof level === "string"
    ? level
    : ((
        { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" } as Record<
          number,
          string
        >
      )[Number(level)] ?? String(level));

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Kills every instrumentor this process started (for Ctrl-C). */
export const killAll = (): void => {
  for (const child of running) child.kill("SIGKILL");
};

export class InstrumentorProcess {
  readonly logStats: LogStats = { lines: 0, byLevel: {}, unstructured: 0, problems: [] };
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | string>;
  metricsPort = 0;
  healthPort = 0;
  /** The inspector's URL when started with `--inspect`. */
  inspectorUrl: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly spawnedAt: number,
  ) {
    running.add(child);
    const onLine = (line: string) => this.onLine(line);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        running.delete(child);
        resolve(code ?? signal ?? "unknown");
        for (const waiter of this.waiters) waiter();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private onLine(line: string): void {
    if (line.trim() === "") return;
    const stats = this.logStats;
    (stats as { lines: number }).lines++;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // Node's own inspector banner, not the instrumentor's output.
      const url = inspectorUrlOf(line);
      if (url !== undefined) this.inspectorUrl = url;
      if (
        url !== undefined ||
        line.startsWith("For help, see: https://nodejs.org") ||
        line === "Debugger attached." ||
        line === "Waiting for the debugger to disconnect..."
      )
        return;
      (stats as { unstructured: number }).unstructured++;
      stats.problems.push(line.slice(0, 500));
      if (stats.problems.length > 50) stats.problems.shift();
      return;
    }
    const level = levelName(parsed.level);
    stats.byLevel[level] = (stats.byLevel[level] ?? 0) + 1;
    if (level === "warn" || level === "error" || level === "fatal") {
      stats.problems.push(line.slice(0, 500));
      if (stats.problems.length > 50) stats.problems.shift();
    }
    const msg = typeof parsed.msg === "string" ? parsed.msg : "";
    if (msg === "instrumentor started") {
      this.metricsPort = Number(parsed.metricsPort);
      this.healthPort = Number(parsed.healthPort);
    }
    if (!this.seen.has(msg)) {
      this.seen.set(msg, performance.now());
      for (const waiter of this.waiters) waiter();
    }
  }

  /** Resolves with when a line with this `msg` was first logged. */
  private logged(msg: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const at = this.seen.get(msg);
        if (at !== undefined) {
          done();
          resolve(at);
        } else if (!this.alive) {
          done();
          reject(
            new Error(
              `instrumentor exited before logging "${msg}":\n${this.logStats.problems.join("\n")}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`instrumentor did not log "${msg}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Spawns the instrumentor and waits for `/readyz` 200, timing each step. */
  static async start(
    options: StartOptions,
  ): Promise<{ process: InstrumentorProcess; timings: StartTimings }> {
    const spawnedAt = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...options.nodeArgs,
        options.main ?? instrumentorMain(),
        "--metrics-bind-address=127.0.0.1:0",
        "--health-probe-bind-address=127.0.0.1:0",
        // The plain control plane has no scheduler or nodes: rollouts never complete there, so the
        // budget and the collectors grace are off unless a test turns them on (a later flag wins).
        "--max-concurrent-rollouts=0",
        "--collectors-unready-grace=0",
        ...options.args,
      ],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          KUBECONFIG: options.kubeconfigPath,
          CURRENT_NS: options.odigosNamespace,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const instrumentor = new InstrumentorProcess(child, spawnedAt);
    const started = await instrumentor.logged("instrumentor started", 60_000);
    let ready: number | undefined;
    const deadline = Date.now() + 120_000;
    while (ready === undefined) {
      if (!instrumentor.alive) throw new Error("instrumentor exited before /readyz answered 200");
      if (Date.now() > deadline) throw new Error("instrumentor /readyz not 200 within 120 s");
      const status = await fetch(`http://127.0.0.1:${instrumentor.healthPort}/readyz`)
        .then((res) => {
          void res.arrayBuffer();
          return res.status;
        })
        .catch(() => 0);
      if (status === 200) ready = performance.now();
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const synced = await instrumentor.logged("caches synced", 60_000);
    return {
      process: instrumentor,
      timings: {
        startedMs: started - spawnedAt,
        cachesSyncedMs: synced - spawnedAt,
        readyMs: ready - spawnedAt,
      },
    };
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return res.text();
  }

  /**
   * Waits until the instrumentor is idle: nothing queued or in progress, and
   * its reconcile and write counters unchanged for `quietMs`, with at least
   * `atLeastReconciles` reconciles in all. Resolves with the reconcile total.
   */
  async settled(
    options: { quietMs?: number; atLeastReconciles?: number; timeoutMs?: number } = {},
  ): Promise<number> {
    const quietMs = options.quietMs ?? 500;
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    let previous = "";
    let since = performance.now();
    for (;;) {
      if (!this.alive) throw new Error("instrumentor exited while waiting for it to settle");
      const text = await this.metrics();
      const reconciles = metricSum(text, "controller_runtime_reconcile_total");
      const writes = metricSum(text, "odigos_instrumentor_writes_total");
      const busy =
        metricSum(text, "workqueue_depth") + metricSum(text, "controller_runtime_active_workers");
      const signature = `${reconciles}/${writes}`;
      if (busy > 0 || signature !== previous || reconciles < (options.atLeastReconciles ?? 0)) {
        previous = signature;
        since = performance.now();
      } else if (performance.now() - since >= quietMs) {
        return reconciles;
      }
      if (Date.now() > deadline) throw new Error("instrumentor did not settle in time");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Sends `signal` and resolves with the exit code and how long it took. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<{ code: number | string; ms: number }> {
    const started = performance.now();
    if (this.alive) this.child.kill(signal);
    // A process that does not exit in 30 s is killed: the run must end.
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return { code, ms: performance.now() - started };
  }
}
