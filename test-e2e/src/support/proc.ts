/**
 * What a process left behind, read from /proc (Linux): its descendants, the TCP ports they
 * listen on, and processes whose command line names a path.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { isRunning } from "./processes.js";

const numericEntries = (): number[] =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);

const parentOf = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command: state, ppid, ...
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
};

/** Every live process under `root` (children, their children, ...), not `root` itself. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of numericEntries()) {
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (!isRunning(pid)) continue;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** The command line of a process, its arguments joined by spaces ("" when it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Live processes whose command line contains `text` (e.g. a data folder), but not this one. */
export function processesMentioning(text: string): Array<{ pid: number; command: string }> {
  return numericEntries()
    .filter((pid) => pid !== process.pid && isRunning(pid))
    .map((pid) => ({ pid, command: commandLine(pid) }))
    .filter(({ command }) => command.includes(text));
}

const socketInodes = (pid: number): Set<string> => {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  return inodes;
};

interface ListeningSocket {
  readonly port: number;
  readonly inode: string;
}

/** Every TCP socket in state LISTEN (IPv4 and IPv6) of this network namespace. */
export function listeningSockets(): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (local === undefined || state !== "0A" || inode === undefined) continue;
      sockets.push({ port: Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16), inode });
    }
  }
  return sockets;
}

/** The TCP ports these processes listen on. */
export function listeningPorts(pids: readonly number[]): number[] {
  const owned = new Set(pids.flatMap((pid) => [...socketInodes(pid)]));
  return [
    ...new Set(
      listeningSockets()
        .filter((socket) => owned.has(socket.inode))
        .map((socket) => socket.port),
    ),
  ].sort((a, b) => a - b);
}
