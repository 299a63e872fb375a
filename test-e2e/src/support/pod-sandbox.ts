/**
 * Runs a command the way a pod of the chart's Deployment runs the image, on this machine and
 * without a container runtime: in a private mount namespace where every file system but /proc,
 * /sys and /dev is read-only (readOnlyRootFilesystem), the service-account token, CA and
 * namespace are mounted where Kubernetes mounts them, as the pod's unprivileged uid and gid with
 * no supplementary group, no capability and no new privileges, with only the environment given.
 *
 * Needs root (a mount namespace, bind mounts, a uid change) and util-linux's `unshare` and
 * `setpriv`. Nothing leaks to the host: the mounts live and die with the namespace.
 */
import { existsSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Where Kubernetes mounts a pod's service-account token, CA and namespace. */
export const serviceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The PATH of a container whose image sets none (what the OCI runtimes default to). */
export const containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const tools = ["unshare", "setpriv", "mount", "sh", "env", "awk", "sort"] as const;

const onPath = (name: string) =>
  (process.env.PATH ?? "")
    .split(delimiter)
    .some((dir) => dir !== "" && existsSync(join(dir, name)));

/** Why this machine cannot run the sandbox, or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.platform !== "linux") return `it needs Linux; this is ${process.platform}`;
  const uid = process.getuid?.();
  if (uid !== 0)
    return `it needs root for a mount namespace, bind mounts and a uid change; this runs as uid ${uid}`;
  const missing = tools.filter((tool) => !onPath(tool));
  if (missing.length > 0) return `it needs ${missing.join(", ")} (util-linux, coreutils) on PATH`;
  return undefined;
}

// $1 app folder, $2 service-account folder, $3 uid, $4 gid, $5 the Node binary for
// /usr/local/bin/node (or empty), then NAME=value... and the command.
// Every mount first becomes read-only (also those a later mount hides); then /var/run gets a
// tmpfs of this namespace only, to hold the mount point Kubernetes uses. A mount that cannot be
// made read-only is reported on stderr, and the caller's check of the mounts fails.
const script = `set -eu
app="$1"; secrets="$2"; uid="$3"; gid="$4"; node="$5"; shift 5
for target in $(awk '{ print $5 }' /proc/self/mountinfo | sort -u); do
  case "$target" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  mount -o remount,bind,ro "$target" || echo "pod-sandbox: cannot make $target read-only" >&2
done
mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev tmpfs /var/run
mkdir -p ${serviceAccountMountPath}
mount --bind "$secrets" ${serviceAccountMountPath}
mount -o remount,bind,ro ${serviceAccountMountPath}
mount -o remount,bind,ro /var/run
if [ -n "$node" ]; then
  mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev tmpfs /usr/local/bin
  : >/usr/local/bin/node
  mount --bind "$node" /usr/local/bin/node
  mount -o remount,bind,ro /usr/local/bin/node
  mount -o remount,bind,ro /usr/local/bin
fi
mount --bind "$app" "$app"
mount -o remount,bind,ro "$app"
cd "$app"
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- env -i "$@"
`;

export interface SandboxOptions {
  /** The folder the image holds (WORKDIR): mounted read-only, the command's working directory. */
  readonly appDir: string;
  /** A folder with `token`, `ca.crt` and `namespace`, mounted read-only at {@link serviceAccountMountPath}. */
  readonly serviceAccountDir: string;
  readonly uid: number;
  readonly gid: number;
  /**
   * A Node binary to put where the image has it, `/usr/local/bin/node` (alone in that folder, as
   * in the image's runtime stage), so that the command can name it as the `ENTRYPOINT` does. The
   * pinned Node of the tests lives in root's cache, which the pod's user cannot reach.
   */
  readonly node?: string;
  /** The whole environment of the command. */
  readonly env: Readonly<Record<string, string>>;
  /** The command and its first arguments (more may be appended to the returned argv). */
  readonly command: readonly string[];
}

/** The argv that runs `command` in the sandbox; its process keeps the pid it is started with. */
export function sandboxCommand(options: SandboxOptions): string[] {
  for (const [name, value] of Object.entries(options.env)) {
    if (name.includes("=") || value.includes("\0"))
      throw new Error(`pod-sandbox: cannot pass ${name} in the environment`);
  }
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    script,
    "pod-sandbox",
    options.appDir,
    options.serviceAccountDir,
    String(options.uid),
    String(options.gid),
    options.node ?? "",
    ...Object.entries(options.env).map(([name, value]) => `${name}=${value}`),
    ...options.command,
  ];
}

/** What the kernel says about a running process: credentials, environment, mounts. */
export interface ProcessView {
  readonly uid: readonly number[];
  readonly gid: readonly number[];
  readonly groups: readonly number[];
  /** CapInh, CapPrm, CapEff, CapBnd, CapAmb as hex strings. */
  readonly capabilities: Readonly<Record<string, string>>;
  readonly noNewPrivs: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Every mount: its mount point and per-mount options (`ro` or `rw` first). */
  readonly mounts: ReadonlyArray<readonly [target: string, options: string]>;
}

/** Reads /proc/<pid>: run as root, it sees any process. */
export function processView(pid: number): ProcessView {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) =>
    new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(status)?.[1]?.trim() ?? "";
  const numbers = (name: string) =>
    field(name)
      .split(/\s+/)
      .filter((value) => value !== "")
      .map(Number);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter((entry) => entry !== "")
      .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
  );
  const mounts = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const fields = line.split(" ");
      return [fields[4] ?? "", fields[5] ?? ""] as const;
    });
  return {
    uid: numbers("Uid"),
    gid: numbers("Gid"),
    groups: numbers("Groups"),
    capabilities: Object.fromEntries(
      ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map((name) => [name, field(name)]),
    ),
    noNewPrivs: field("NoNewPrivs") === "1",
    env,
    cwd: readlinkSync(`/proc/${pid}/cwd`),
    mounts,
  };
}

/** {@link serviceAccountMountPath} as mountinfo names it (/var/run is often a link to /run). */
export const serviceAccountMountPoint = (): string =>
  join(realpathSync("/var/run"), "secrets/kubernetes.io/serviceaccount");
