/** Memory and CPU of a process from /proc, sampled in the background. */
import { execFileSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import type { ResidentParts } from "./types.js";

/** A process's memory from /proc/<pid>/status, in bytes. */
export interface ProcessMemory {
  /** VmRSS: resident now. */
  readonly rss: number;
  /** VmHWM: the lifetime peak of VmRSS. */
  readonly hwm: number;
  /** RssAnon: the process's own memory (heaps, stacks), what only it can free. */
  readonly anon: number;
  /**
   * RssFile: pages of mapped files (for Node, mostly its own binary's code and data), shared
   * with every process that maps them and dropped by the kernel under pressure.
   */
  readonly file: number;
}

/**
 * `VmRSS`, `VmHWM`, `RssAnon` and `RssFile` of a /proc/<pid>/status text, in bytes; `undefined`
 * when it has no `VmRSS`: a process that has exited and not yet been reaped (a zombie) keeps its
 * status file without its memory, which must not read as a peak of 0.
 */
export const parseStatus = (text: string): ProcessMemory | undefined => {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s*(\\d+)\\s*kB`, "m").exec(text);
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  };
  if (!/^VmRSS:/m.test(text)) return undefined;
  return {
    rss: field("VmRSS"),
    hwm: field("VmHWM"),
    anon: field("RssAnon"),
    file: field("RssFile"),
  };
};

/** utime + stime of a /proc/<pid>/stat text, in clock ticks. */
export const parseStatTicks = (text: string): number => {
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last `)`.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
};

let ticksPerSecond: number | undefined;
const clockTicks = (): number => {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
};

/** CPU seconds (user + system) the process has used so far; `undefined` once it is gone. */
export const cpuSeconds = (pid: number): number | undefined => {
  try {
    return parseStatTicks(readFileSync(`/proc/${pid}/stat`, "utf8")) / clockTicks();
  } catch {
    return undefined;
  }
};

export const memory = (pid: number): ProcessMemory | undefined => {
  try {
    return parseStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return undefined;
  }
};

/**
 * Sums the `Rss:` of each mapping of a /proc/<pid>/smaps text by kind ({@link ResidentParts});
 * `executable` is the path of the process's binary (`/proc/<pid>/exe`). The executable's writable
 * data and the kernel's `[stack]`, `[vdso]` and `[vvar]` count as anonymous.
 */
export const parseSmaps = (text: string, executable: string): ResidentParts => {
  const parts = { binaryCode: 0, binaryReadOnly: 0, otherFiles: 0, mallocHeap: 0, anonymous: 0 };
  let part: keyof typeof parts = "anonymous";
  for (const line of text.split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header !== null) {
      const [, perms = "", path = ""] = header;
      if (path === executable && perms.startsWith("r-x")) part = "binaryCode";
      else if (path === executable && perms.startsWith("r--")) part = "binaryReadOnly";
      else if (path === "[heap]") part = "mallocHeap";
      else if (path.startsWith("/") && path !== executable) part = "otherFiles";
      else part = "anonymous";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss?.[1] !== undefined) parts[part] += Number(rss[1]) * 1024;
  }
  return parts;
};

/** {@link parseSmaps} of a running process; `undefined` once it is gone. */
export const residentParts = (pid: number): ResidentParts | undefined => {
  try {
    return parseSmaps(readFileSync(`/proc/${pid}/smaps`, "utf8"), readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return undefined;
  }
};

/** Samples a process's RSS every `intervalMs`, keeping the peak of the current window. */
export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private windowPeak = 0;
  private lastRss = 0;
  private lastHwm = 0;
  private last: ProcessMemory | undefined;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 200,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  sample(): number {
    const now = memory(this.pid);
    if (now !== undefined) {
      this.last = now;
      this.lastRss = now.rss;
      this.lastHwm = now.hwm;
      this.windowPeak = Math.max(this.windowPeak, now.rss);
    }
    return this.lastRss;
  }

  /** Starts a new window; returns the peak RSS of the one that ended (bytes). */
  resetWindow(): number {
    this.sample();
    const peak = this.windowPeak;
    this.windowPeak = this.lastRss;
    return peak;
  }

  get peak(): number {
    return this.windowPeak;
  }

  get rss(): number {
    return this.lastRss;
  }

  /** The last sample in full (RSS split into anonymous and file-backed), if any. */
  get lastSample(): ProcessMemory | undefined {
    return this.last;
  }

  /** VmHWM: the process's lifetime peak RSS (bytes). */
  get highWaterMark(): number {
    return this.lastHwm;
  }
}

/** Busy (non-idle, non-iowait) CPU seconds of the whole machine from a /proc/stat text. */
export const parseSystemBusyTicks = (text: string): number => {
  const line = text.split("\n").find((entry) => entry.startsWith("cpu "));
  if (line === undefined) return 0;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields
    .slice(0, 8)
    .reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
  return total - (fields[3] ?? 0) - (fields[4] ?? 0);
};

export const systemBusySeconds = (): number => {
  try {
    return parseSystemBusyTicks(readFileSync("/proc/stat", "utf8")) / clockTicks();
  } catch {
    return 0;
  }
};

/** CPU seconds this Node process has used so far. */
export const ownCpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
