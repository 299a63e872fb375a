import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait-for.js";

/** The built instrumentor entry point (turbo builds it before these tests). */
export const instrumentorMain = fileURLToPath(
  new URL("../../../apps/instrumentor/dist/main.js", import.meta.url),
);

/** One JSON log line of the instrumentor. */
export type LogLine = Record<string, unknown> & { readonly msg?: string; readonly level?: string };

export interface InstrumentorProcess {
  readonly pid: number;
  readonly logs: LogLine[];
  /** Lines that were not JSON (must stay empty: every log line is structured). */
  readonly unstructured: string[];
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly waitForLog: (
    predicate: (line: LogLine) => boolean,
    timeoutMs?: number,
  ) => Promise<LogLine>;
  /** Sends `signal` and resolves with the exit code (or the signal name). */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | string>;
  readonly exited: Promise<number | string>;
}

export interface StartOptions {
  /** KUBECONFIG of the process; omitted, none is set (in-cluster credentials, say). */
  readonly kubeconfigPath?: string;
  readonly odigosNamespace: string;
  /**
   * The argv that starts the instrumentor, before its flags: this Node and the workspace's
   * apps/instrumentor/dist/main.js unless given (a bundle, or a wrapper that sandboxes it).
   */
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Wait until `/readyz` answers 200 (default true). */
  readonly waitReady?: boolean;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Starts the instrumentor as a real process with JSON logs captured. */
export async function startInstrumentorProcess(
  options: StartOptions,
): Promise<InstrumentorProcess> {
  const [file, ...prefix] = options.command ?? [process.execPath, instrumentorMain];
  if (file === undefined) throw new Error("startInstrumentorProcess: empty command");
  const child = spawn(
    file,
    [
      ...prefix,
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      // The plain control plane has no scheduler or nodes: rollouts never complete there, so the
      // budget and the collectors grace are off unless a test turns them on (a later flag wins).
      "--max-concurrent-rollouts=0",
      "--collectors-unready-grace=0",
      ...(options.args ?? []),
    ],
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        ...(options.kubeconfigPath === undefined ? {} : { KUBECONFIG: options.kubeconfigPath }),
        CURRENT_NS: options.odigosNamespace,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  const logs: LogLine[] = [];
  const unstructured: string[] = [];
  const listeners = new Set<() => void>();
  const onLine = (line: string) => {
    if (line.trim() === "") return;
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      unstructured.push(line);
    }
    for (const listener of listeners) listener();
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });

  const waitForLog = (
    predicate: (line: LogLine) => boolean,
    timeoutMs = 20_000,
  ): Promise<LogLine> =>
    waitFor(() => logs.find(predicate), {
      timeoutMs,
      intervalMs: 20,
      description: `a log line of pid ${child.pid} matching ${predicate.toString()}`,
    });

  const startedLine = await Promise.race([
    waitForLog((line) => line.msg === "instrumentor started", 30_000),
    exited.then((code) => {
      throw new Error(
        `instrumentor exited with ${code} before starting:\n${[...unstructured, ...logs.map((l) => JSON.stringify(l))].join("\n")}`,
      );
    }),
  ]);
  const metricsPort = Number(startedLine.metricsPort);
  const healthPort = Number(startedLine.healthPort);
  if (options.waitReady ?? true) {
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200,
      { timeoutMs: 30_000, description: "instrumentor /readyz" },
    );
  }
  return {
    pid: child.pid ?? -1,
    logs,
    unstructured,
    metricsPort,
    healthPort,
    waitForLog,
    exited,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
