/**
 * The built instrumentor as a real process: spawned with loopback ports chosen by the OS, its
 * JSON log lines captured and counted, waits for a log line or for `/readyz`, its metrics, and a
 * stop with a signal that resolves with the exit code.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { metricSum } from "./prometheus.js";

/**
 * The workspace's production bundle, `apps/instrumentor/dist/bundle/instrumentor.mjs`: what the
 * image ships (tooling/bundle copies it), so what the tests and the benchmark run. The app's
 * build makes it after tsc (this package depends on the app, so turbo builds it first). tsc's
 * `dist/main.js` runs the same code from node_modules: give it as `main` to compare. A relative
 * path, not `import.meta.resolve`: vitest runs workspace packages from source, without it.
 */
export const instrumentorMain = (): string =>
  fileURLToPath(
    new URL("../../../apps/instrumentor/dist/bundle/instrumentor.mjs", import.meta.url),
  );

/**
 * The Node version the project pins (`.node-version` at the root): what the image ships and what
 * `make` puts first on PATH for the tests, the benchmark and `make start`
 * (tooling/node/ensure-node.sh).
 */
export const pinnedNodeVersion = (): string =>
  readFileSync(new URL("../../../.node-version", import.meta.url), "utf8").trim();

/**
 * The Node flags the image runs the instrumentor with (the Dockerfile's `ENTRYPOINT`; a test
 * checks they agree), so the tests and the benchmark run it as it runs in a cluster: a 2 MB young
 * generation semi-space instead of up to 16 MB, and old-space growth of 1.3x the live heap after
 * each full GC instead of up to 4x. With `pnpm bench` at N = 1000 on Node 24 (tooling/bench/README.md,
 * "Memory on Node 24"): RSS after sync 95-98 MB instead of 138, peak 103-105 MB instead of 298.
 * Re-chosen on Node 24: `--no-maglev` holds 3 MB less for 35 % more CPU per cycle, a 1 MB
 * semi-space no less for 50 % more, and growth of 20 %, `--v8-pool-size=1` and
 * `--single-threaded` hold no less (the last 126 MB).
 */
export const productionNodeFlags: ReadonlyArray<string> = [
  "--max-semi-space-size=2",
  "--heap-growing-percent=30",
];

/**
 * The environment the image sets for the instrumentor (the Dockerfile's `ENV` of the runtime
 * stage; a test checks they agree): glibc's malloc sized for a small process.
 * - `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (V8's GC and compiler threads,
 *   libuv's) an arena of its own, up to 8 per core, each keeping what it freed.
 * - `MALLOC_TRIM_THRESHOLD_` and `MALLOC_MMAP_THRESHOLD_` at their initial 128 KB, fixed: by
 *   default both grow (up to 32 MB) after a large block is freed, and then freed memory stays.
 *
 * `pnpm bench --instrumentor-env`, N = 1000, Node 20, two runs each (tooling/bench/README.md,
 * "Memory"): RSS after sync 85.0-85.9 MB with glibc's defaults, 82.7-82.8 with two arenas, 79.3-79.7
 * with the fixed thresholds too; CPU unchanged. On Node 24 one arena instead of two holds no less
 * (98 MB against 95-98) for more CPU, so two stay.
 */
export const productionEnv: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_TRIM_THRESHOLD_: "131072",
  MALLOC_MMAP_THRESHOLD_: "131072",
};

/** One JSON log line of the instrumentor (pino, with `level` as a label: `"info"`, `"warn"`, …). */
export type LogLine = Record<string, unknown> & { readonly msg?: string; readonly level?: string };

/** How the process ended: its exit code, or the signal that ended it. */
export type ExitStatus = number | NodeJS.Signals;

export interface LogStats {
  /** Lines read from stdout and stderr (the Node inspector's banner excluded). */
  readonly lines: number;
  readonly byLevel: Readonly<Record<string, number>>;
  /** Lines that were not JSON: every line the instrumentor writes must be structured. */
  readonly unstructured: number;
  /** The last warnings, errors and non-JSON lines (at most 50), as written. */
  readonly problems: ReadonlyArray<string>;
}

/**
 * Flags every harnessed instrumentor gets before the caller's (a later flag wins): loopback
 * ports the OS chooses, read back from its "instrumentor started" line; and, since a plain
 * control plane has no scheduler or nodes, so rollouts never complete there, no rollout budget
 * and no grace period for collectors blips.
 */
export const harnessArgs: ReadonlyArray<string> = [
  "--metrics-bind-address=127.0.0.1:0",
  "--health-probe-bind-address=127.0.0.1:0",
  "--max-concurrent-rollouts=0",
  "--collectors-unready-grace=0",
];

export interface StartOptions {
  /** `KUBECONFIG` of the process; omitted, none is set (in-cluster credentials, say). */
  readonly kubeconfigPath?: string | undefined;
  /** `CURRENT_NS` of the process. */
  readonly odigosNamespace: string;
  /** Instrumentor flags, after {@link harnessArgs}. */
  readonly args?: ReadonlyArray<string> | undefined;
  /**
   * Node flags before the script, after {@link productionNodeFlags} (a later flag wins), e.g.
   * `--cpu-prof --cpu-prof-dir=/tmp/prof` or `--inspect=127.0.0.1:0`.
   */
  readonly nodeArgs?: ReadonlyArray<string> | undefined;
  /** More environment (the process gets only {@link productionEnv}, `PATH`, `HOME`, `KUBECONFIG`, `CURRENT_NS` and these). */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** The script to run; default {@link instrumentorMain} (the bundle). */
  readonly main?: string | undefined;
  /**
   * The whole argv before the instrumentor's flags, instead of this Node, `nodeArgs` and `main`:
   * a bundle, or a wrapper that sandboxes it (a container runtime, `unshare`).
   */
  readonly command?: ReadonlyArray<string> | undefined;
  /** Wait until `/readyz` answers 200 (default true). A process that cannot sync (no RBAC) never is. */
  readonly waitReady?: boolean | undefined;
  /** Deadline for the "instrumentor started" line, and then for `/readyz`. Default 60 s each. */
  readonly startTimeoutMs?: number | undefined;
  /**
   * Keep every parsed line in {@link InstrumentorProcess.logs} (default true). A long benchmark
   * turns it off: then {@link InstrumentorProcess.waitForLog} only sees lines logged after the call.
   */
  readonly retainLogs?: boolean | undefined;
}

interface Waiter {
  readonly match: (line: LogLine) => boolean;
  readonly resolve: (line: LogLine) => void;
  readonly reject: (error: Error) => void;
}

/** Node's own lines on stderr around `--inspect`, which are not the instrumentor's output. */
const inspectorBanner =
  /^Debugger listening on (ws:\/\/\S+)|^For help, see: https:\/\/nodejs\.org|^Debugger attached\.$|^Waiting for the debugger to disconnect\.\.\.$/;

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** SIGKILLs every instrumentor this process started and has not seen exit (for Ctrl-C handlers). */
export const killAll = (): void => {
  for (const child of running) child.kill("SIGKILL");
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class InstrumentorProcess {
  /** Every parsed line so far, in order (empty with `retainLogs: false`). */
  readonly logs: LogLine[] = [];
  /** Lines that were not JSON (must stay empty: every log line is structured). */
  readonly unstructured: string[] = [];
  private readonly stats = {
    lines: 0,
    byLevel: {} as Record<string, number>,
    unstructured: 0,
    problems: [] as string[],
  };
  private readonly firstSeen = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitStatus>;
  /** `performance.now()` when it was spawned. */
  readonly spawnedAt = performance.now();
  metricsPort = 0;
  healthPort = 0;
  /** The inspector's WebSocket URL when started with `--inspect`. */
  inspectorUrl: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly retainLogs: boolean,
  ) {
    running.add(child);
    const onLine = (line: string) => this.onLine(line);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
    // "close", not "exit": by then every line the process wrote has been read.
    this.exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        running.delete(child);
        this.closed = true;
        const status: ExitStatus = code ?? signal ?? "SIGKILL";
        resolve(status);
        for (const waiter of [...this.waiters])
          waiter.reject(
            new Error(`instrumentor pid ${this.pid} exited with ${status}${this.tail()}`),
          );
        this.waiters.clear();
      });
    });
  }

  /** Spawns the instrumentor, waits for its "instrumentor started" line and (by default) `/readyz` 200. */
  static async start(options: StartOptions): Promise<InstrumentorProcess> {
    if (options.command !== undefined && (options.nodeArgs ?? options.main) !== undefined)
      throw new Error("startInstrumentor: give either a command, or nodeArgs and main");
    const [file, ...prefix] = options.command ?? [
      process.execPath,
      ...productionNodeFlags,
      ...(options.nodeArgs ?? []),
      options.main ?? instrumentorMain(),
    ];
    if (file === undefined) throw new Error("startInstrumentor: empty command");
    const child = spawn(file, [...prefix, ...harnessArgs, ...(options.args ?? [])], {
      env: {
        ...productionEnv,
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        ...(options.kubeconfigPath === undefined ? {} : { KUBECONFIG: options.kubeconfigPath }),
        CURRENT_NS: options.odigosNamespace,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const instrumentor = new InstrumentorProcess(child, options.retainLogs ?? true);
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const started = await instrumentor
      .waitForLog((line) => line.msg === "instrumentor started", timeoutMs)
      .catch((error: Error) => {
        child.kill("SIGKILL");
        throw new Error(`the instrumentor did not start: ${error.message}`);
      });
    instrumentor.metricsPort = Number(started.metricsPort);
    instrumentor.healthPort = Number(started.healthPort);
    if (options.waitReady ?? true) await instrumentor.ready(timeoutMs);
    return instrumentor;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Lines, lines per level, non-JSON lines and the last problems. */
  get logStats(): LogStats {
    return this.stats;
  }

  /** `performance.now()` when a line with this `msg` was first logged. */
  firstLogged(msg: string): number | undefined {
    return this.firstSeen.get(msg);
  }

  /** True for a request this process sent: its User-Agent ends in ` pid/<pid>`. */
  sent(userAgent: string | undefined): boolean {
    return (
      (userAgent?.startsWith("odigos-instrumentor/") ?? false) &&
      (userAgent?.endsWith(` pid/${this.pid}`) ?? false)
    );
  }

  private tail(): string {
    const last = this.stats.problems.slice(-10);
    return last.length === 0 ? "" : `; its last problems:\n${last.join("\n")}`;
  }

  private onLine(text: string): void {
    if (text.trim() === "") return;
    const banner = inspectorBanner.exec(text);
    if (banner !== null) {
      if (banner[1] !== undefined) this.inspectorUrl = banner[1];
      return;
    }
    const stats = this.stats;
    stats.lines++;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
      if (line === null || typeof line !== "object") throw new Error("not an object");
    } catch {
      stats.unstructured++;
      this.unstructured.push(text);
      this.problem(text);
      return;
    }
    const level = String(line.level);
    stats.byLevel[level] = (stats.byLevel[level] ?? 0) + 1;
    if (level === "warn" || level === "error" || level === "fatal") this.problem(text);
    const msg = typeof line.msg === "string" ? line.msg : "";
    if (!this.firstSeen.has(msg)) this.firstSeen.set(msg, performance.now());
    if (this.retainLogs) this.logs.push(line);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(line)) {
        this.waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }

  private problem(text: string): void {
    this.stats.problems.push(text.slice(0, 500));
    if (this.stats.problems.length > 50) this.stats.problems.shift();
  }

  /**
   * The first line matching `predicate`, already logged or to come; fails after `timeoutMs` or
   * when the process exits first.
   */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    const found = this.logs.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    if (this.closed)
      return Promise.reject(
        new Error(`instrumentor pid ${this.pid} has exited: no line matching ${predicate}`),
      );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `no log line of pid ${this.pid} matching ${predicate} within ${timeoutMs} ms${this.tail()}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        match: predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * `performance.now()` when a line with this `msg` was first logged, waiting for it if it has
   * not been yet (this works with `retainLogs: false` too).
   */
  async logged(msg: string, timeoutMs = 60_000): Promise<number> {
    const seen = this.firstSeen.get(msg);
    if (seen !== undefined) return seen;
    await this.waitForLog((line) => line.msg === msg, timeoutMs);
    return this.firstSeen.get(msg) ?? performance.now();
  }

  /** Waits until `/readyz` answers 200; resolves with `performance.now()` then. */
  async ready(timeoutMs = 60_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.alive)
        throw new Error(
          `instrumentor pid ${this.pid} exited before /readyz answered 200${this.tail()}`,
        );
      const status = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`)
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status;
        })
        .catch(() => 0);
      if (status === 200) return performance.now();
      if (performance.now() > deadline)
        throw new Error(`instrumentor pid ${this.pid}: /readyz not 200 within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Its Prometheus `/metrics`, as text. */
  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return response.text();
  }

  /** Waits until its work queue is empty and no worker is busy (delayed re-checks do not count). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.alive)
        throw new Error(`instrumentor pid ${this.pid} exited while waiting for idle`);
      const text = await this.metrics();
      const busy =
        metricSum(text, "workqueue_depth") + metricSum(text, "controller_runtime_active_workers");
      if (busy === 0) return;
      if (performance.now() > deadline)
        throw new Error(
          `instrumentor pid ${this.pid} not idle within ${timeoutMs} ms (${busy} busy)`,
        );
      await sleep(50);
    }
  }

  /** Sends `signal` (if it still runs). */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /**
   * Sends `signal` and resolves with how the process ended (a number for an exit code, the
   * signal's name when a signal ended it); with `killAfterMs`, SIGKILLs it if it is still there then.
   */
  async stop(
    signal: NodeJS.Signals = "SIGTERM",
    options: { readonly killAfterMs?: number } = {},
  ): Promise<ExitStatus> {
    this.signal(signal);
    const killAfterMs = options.killAfterMs;
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => this.signal("SIGKILL"), killAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts the built instrumentor: see {@link InstrumentorProcess.start}. */
export const startInstrumentor = (options: StartOptions): Promise<InstrumentorProcess> =>
  InstrumentorProcess.start(options);
