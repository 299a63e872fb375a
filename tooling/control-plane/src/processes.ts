import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";

/**
 * Runs the command as its child and kills it when its own stdin reaches EOF. Node holds the
 * write end of that pipe, and the kernel closes it however Node ends (exit, crash, SIGKILL),
 * so the child never outlives the process that started it. SIGKILL, not SIGTERM: the owner is
 * gone and the data is about to be deleted, and a graceful apiserver shutdown can hang for
 * many seconds once etcd (killed at the same moment) is gone. The child's pid goes to $1.
 */
const watchdogScript = `
pidfile=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
echo "$child" > "$pidfile"
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
(
  while IFS= read -r _line <&3; do :; done
  kill -KILL "$child" 2>/dev/null
) &
watcher=$!
exec 3<&-
wait "$child"; status=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
kill "$watcher" 2>/dev/null
exit "$status"
`;

/**
 * Removes the data dir once the Node process that owns it is gone (stdin EOF) and the
 * processes whose pid files are listed under <dir>/pids have exited.
 */
const janitorScript = `
dir=$1
while IFS= read -r _line; do :; done
for f in "$dir"/pids/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  i=0
  while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1)); if [ "$i" -gt 30 ]; then kill -KILL "$pid" 2>/dev/null; fi
    sleep 1
  done
done
rm -rf "$dir"
`;

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process tied to this Node process's lifetime, in its own process group. */
export interface SupervisedProcess {
  readonly name: string;
  /** Pid of the real program (not the watchdog shell). */
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the program (and its watchdog) has exited. */
  readonly exited: Promise<ExitStatus>;
  readonly hasExited: () => boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  readonly stop: (graceMs?: number) => Promise<void>;
}

/** Process groups still running, signalled synchronously if Node exits without stop(). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Faster than waiting for the watchdogs to notice EOF; they remain the backstop for SIGKILL.
  process.on("exit", () => {
    for (const pgid of liveGroups) killGroup(pgid, "SIGTERM");
  });
}

function exitStatusOf(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

async function readPidFile(pidFile: string, exited: () => boolean): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pid = Number.parseInt(await readFile(pidFile, "utf8").catch(() => ""), 10);
    if (Number.isInteger(pid) && pid > 0) return pid;
    if (exited() || Date.now() > deadline)
      throw new Error(`watchdog did not report a pid in ${pidFile}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface SpawnSupervisedOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly pidFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts `command` under the watchdog, in a new session/process group, output appended to `logFile`. */
export async function spawnSupervised(options: SpawnSupervisedOptions): Promise<SupervisedProcess> {
  installExitHook();
  // A pid file left by an earlier run of the same component must not be mistaken for this one's.
  await rm(options.pidFile, { force: true });
  const logFd = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(
      "/bin/sh",
      ["-c", watchdogScript, "odigos-watchdog", options.pidFile, options.command, ...options.args],
      {
        detached: true,
        stdio: ["pipe", logFd, logFd],
        env: options.env ?? process.env,
      },
    );
  } finally {
    closeSync(logFd);
  }
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  liveGroups.add(pgid);
  // Neither the child nor its stdin pipe should keep Node running; the pipe closes when Node exits.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  let exited = false;
  const exitedPromise = exitStatusOf(child).then((status) => {
    exited = true;
    liveGroups.delete(pgid);
    return status;
  });
  const pid = await readPidFile(options.pidFile, () => exited);

  const stop = async (graceMs = 15_000): Promise<void> => {
    if (exited) return;
    // While stopping, the child keeps Node running: unref'd, nothing but the SIGKILL timer would,
    // and once that fired Node could end before the child's exit is seen, skipping whatever the
    // caller does after stop() (a demo that had a component outlive SIGTERM exited 0 silently).
    child.ref();
    killGroup(pgid, "SIGTERM");
    const timer = setTimeout(() => killGroup(pgid, "SIGKILL"), graceMs);
    try {
      await exitedPromise;
    } finally {
      clearTimeout(timer);
    }
    // The watchdog exits only after its child, but SIGKILL of the group could leave none behind anyway.
    killGroup(pgid, "SIGKILL");
  };
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited: exitedPromise,
    hasExited: () => exited,
    stop,
  };
}

/** A process that deletes `dataDir` after this Node process dies without calling stop(). */
export interface Janitor {
  /** Call on a clean stop, before removing the data dir yourself. */
  readonly dismiss: () => void;
}

export function startJanitor(dataDir: string): Janitor {
  const child = spawn("/bin/sh", ["-c", janitorScript, "odigos-janitor", dataDir], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    dismiss: () => {
      if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
    },
  };
}
