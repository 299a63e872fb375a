/** The benchmark's side of `fresh-floor-main.ts`: starts it, sends it passes, stops it. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { WorkloadState } from "./workloads.js";

export interface FreshFloor {
  /** Hands it the copies of the workloads to patch from (before a pass, not timed). */
  readonly load: (states: ReadonlyArray<WorkloadState>) => Promise<void>;
  /** Sends one pass; resolves when the process has had every patch answered. */
  readonly pass: (which: "ready" | "unready") => Promise<void>;
  /** Closes its stdin and waits for it to exit; rejects on a non-zero exit. */
  readonly close: () => Promise<void>;
  /** Kills it (after a failed pass: its own exit must not hide that failure). */
  readonly kill: () => void;
}

const entry = join(dirname(fileURLToPath(import.meta.url)), "fresh-floor-main.js");

/** Starts a fresh floor process. */
export const startFreshFloor = (options: {
  readonly kubeconfigPath: string;
  readonly workloads: number;
  readonly namespaces: number;
  /** The run seeded Rollouts (`planWorkloads`' third argument). */
  readonly rollouts: boolean;
  readonly concurrency: number;
  readonly timeoutMs: number;
}): FreshFloor => {
  const child = spawn(
    process.execPath,
    [
      entry,
      `--kubeconfig=${options.kubeconfigPath}`,
      `--workloads=${options.workloads}`,
      `--namespaces=${options.namespaces}`,
      `--concurrency=${options.concurrency}`,
      ...(options.rollouts ? [] : ["--no-rollouts"]),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  // A failed spawn rejects it; `close` reports that, and a killed process is never awaited.
  exited.catch(() => undefined);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const expect = async (wanted: string): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`fresh floor: no "${wanted}" in ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    });
    try {
      const next = await Promise.race([lines.next(), timeout]);
      if (next.done === true || next.value !== wanted)
        throw new Error(
          `fresh floor: expected "${wanted}", got ${next.done === true ? "its exit" : `"${next.value}"`}${stderr === "" ? "" : `: ${stderr.trim()}`}`,
        );
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    load: async (states) => {
      child.stdin.write(`load ${JSON.stringify(states)}\n`);
      await expect("loaded");
    },
    pass: async (which) => {
      child.stdin.write(`${which}\n`);
      await expect(`done ${which}`);
    },
    kill: () => {
      child.kill("SIGKILL");
    },
    close: async () => {
      child.stdin.end();
      const [code, signal] = await exited;
      if (code !== 0)
        throw new Error(
          `fresh floor exited with ${code ?? signal}${stderr === "" ? "" : `: ${stderr.trim()}`}`,
        );
    },
  };
};
