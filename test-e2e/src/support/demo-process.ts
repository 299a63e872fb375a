/**
 * `make start`'s entry point as a person runs it, and the lines it prints, run as a person
 * pastes them: through a shell, exactly as printed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { LogLine } from "@odigos/harness";
import { waitFor } from "./wait-for.js";

/** What `make start` runs after building: `node apps/demo/dist/main.js`. */
export const demoMain = fileURLToPath(new URL("../../../apps/demo/dist/main.js", import.meta.url));

/** One numbered step of the printed guide: its sentence and the lines to paste. */
export interface PrintedStep {
  readonly number: number;
  /** The sentence, its wrapped lines joined by spaces. */
  readonly text: string;
  readonly commands: readonly string[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what is stripped.
const ansi = /\x1b\[[0-9;]*m/g;

/**
 * Reads the guide as printed: `  N. sentence` (continued on lines indented by 5 spaces), then
 * each command on its own line indented by 7.
 */
export function parseGuide(text: string): PrintedStep[] {
  const steps: Array<{ number: number; text: string[]; commands: string[] }> = [];
  for (const line of text.replace(ansi, "").split("\n")) {
    const head = /^ {2}(\d+)\. (.*)$/.exec(line);
    const current = steps[steps.length - 1];
    if (head?.[1] !== undefined && head[2] !== undefined)
      steps.push({ number: Number(head[1]), text: [head[2]], commands: [] });
    else if (current !== undefined && /^ {7}\S/.test(line)) current.commands.push(line.trim());
    else if (current !== undefined && current.commands.length === 0 && /^ {5}\S/.test(line))
      current.text.push(line.trim());
  }
  return steps.map((step) => ({ ...step, text: step.text.join(" ") }));
}

export interface DemoProcess {
  readonly pid: number;
  /** JSON lines of stdout (the instrumentor's, the demo's and its stand-in node agent's logs). */
  readonly logs: LogLine[];
  /** stdout lines that were not JSON (must stay empty). */
  readonly unstructured: string[];
  /** stderr, ANSI escapes removed: what a person reads. */
  readonly screen: () => string;
  readonly waitForScreen: (text: string, timeoutMs: number) => Promise<void>;
  readonly waitForLog: (
    predicate: (line: LogLine) => boolean,
    timeoutMs: number,
  ) => Promise<LogLine>;
  readonly exited: Promise<number | string>;
  readonly signal: (signal: NodeJS.Signals) => void;
}

const started = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of started) child.kill("SIGKILL");
});

/** Starts the demo with exactly this environment. */
export function startDemo(env: Readonly<Record<string, string>>): DemoProcess {
  const child = spawn(process.execPath, [demoMain], { env, stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  const logs: LogLine[] = [];
  const unstructured: string[] = [];
  let screen = "";
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    if (line.trim() === "") return;
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      unstructured.push(line);
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    screen += chunk.replace(ansi, "");
  });
  // "close", not "exit": by then every byte it wrote has been read (its last line, "stopped;
  // removed …", may come after "exit" on a loaded machine).
  const exited = new Promise<number | string>((resolve) => {
    child.once("close", (code, signal) => {
      started.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });
  let exitedWith: number | string | undefined;
  void exited.then((code) => {
    exitedWith = code;
  });
  const alive = (what: string) => {
    if (exitedWith !== undefined)
      throw new Error(`the demo exited (${exitedWith}) before ${what}; it printed:\n${screen}`);
  };
  return {
    pid: child.pid ?? -1,
    logs,
    unstructured,
    screen: () => screen,
    waitForScreen: (text, timeoutMs) =>
      waitFor(
        () => {
          alive(`printing "${text}"`);
          return screen.includes(text);
        },
        { timeoutMs, intervalMs: 100, description: `the demo printing "${text}"` },
      ).then(() => undefined),
    waitForLog: (predicate, timeoutMs) =>
      waitFor(() => logs.find(predicate), {
        timeoutMs,
        intervalMs: 50,
        description: `a log line of the demo matching ${predicate.toString()}`,
      }),
    exited,
    signal: (signal) => {
      if (exitedWith === undefined) child.kill(signal);
    },
  };
}

export interface LineResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one printed line through `sh -c`, as pasted into a terminal, to its end. */
export function runLine(line: string, env: Readonly<Record<string, string>>): Promise<LineResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", line], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A printed line that runs until stopped (`kubectl ... -w`), its output read as it comes. */
export interface WatchedLine {
  readonly output: () => string;
  readonly stderr: () => string;
  /** Stops it (SIGTERM to its process group) and waits for it to end. */
  readonly stop: () => Promise<void>;
}

export function startLine(line: string, env: Readonly<Record<string, string>>): WatchedLine {
  // Its own process group, so that stopping it reaches kubectl behind the shell.
  const child = spawn("sh", ["-c", line], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  started.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const closed = new Promise<void>((resolve) => {
    child.once("close", () => {
      started.delete(child);
      resolve();
    });
  });
  return {
    output: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
      await closed;
    },
  };
}

/**
 * A table as kubectl prints it: a header (columns apart by 2 or more spaces, so `LAST SEEN` is
 * one), then rows whose cells hold no space, but the last, which takes the rest of the line
 * (`MESSAGE`). A `-w` table prints its header once.
 */
export function parseTable(text: string): Array<Record<string, string>> {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const header = lines[0]?.trim().split(/\s{2,}/) ?? [];
  return lines.slice(1).map((line) => {
    const cells = line.trim().split(/\s+/);
    const last = header.length - 1;
    const values = [...cells.slice(0, last), cells.slice(last).join(" ")];
    return Object.fromEntries(header.map((name, index) => [name, values[index] ?? ""]));
  });
}

/**
 * The first table in `text` whose header has every one of `columns` (columns two or more spaces
 * apart, each padded to its widest cell, as kubectl and its plugins print them), to the first
 * blank line: each cell is read by its column's position, so a cell may hold spaces. Lines
 * before the header (a plugin's summary) and after the blank line are not rows.
 */
export function parseAlignedTable(
  text: string,
  columns: ReadonlyArray<string>,
): Array<Record<string, string>> {
  const lines = text.split("\n");
  const at = lines.findIndex((line) => {
    const titles = line.trim().split(/\s{2,}/);
    return columns.every((column) => titles.includes(column));
  });
  if (at === -1) return [];
  const starts = [...(lines[at] as string).matchAll(/\S+(?: \S+)*/g)].map((title) => ({
    title: title[0],
    start: title.index,
  }));
  const end = lines.findIndex((line, index) => index > at && line.trim() === "");
  return lines
    .slice(at + 1, end === -1 ? undefined : end)
    .map((line) =>
      Object.fromEntries(
        starts.map(({ title, start }, index) => [
          title,
          line.slice(start, starts[index + 1]?.start ?? line.length).trim(),
        ]),
      ),
    );
}
