import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, unlink } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { binaryCacheDir, type Env, goBuildModuleDir } from "./layout.js";

/** Absolute paths of the control-plane executables. */
export interface Binaries {
  readonly apiserver: string;
  readonly etcd: string;
  /** Absent when KUBEBUILDER_ASSETS supplies only kube-apiserver and etcd. */
  readonly controllerManager?: string;
}

export interface EnsureBinariesOptions {
  /** Environment to read KUBEBUILDER_ASSETS, PATH and the cache location from. Default `process.env`. */
  readonly env?: Env;
  /** Progress lines (build start, lock waits). Default: written to stderr. */
  readonly log?: (line: string) => void;
}

/** Raised when the binaries can be neither found nor built; the message says what to do. */
export class BinariesUnavailableError extends Error {
  override readonly name = "BinariesUnavailableError";
}

export interface PinnedVersions {
  readonly kubernetes: string;
  readonly etcd: string;
}

const kubernetesModule = "k8s.io/kubernetes";
const etcdModule = "go.etcd.io/etcd/server/v3";

/** Reads the kubernetes and etcd versions a go.mod requires (the `require` lines, not `replace`). */
export function readPinnedVersions(goMod: string): PinnedVersions {
  const versionOf = (module: string): string => {
    const escaped = module.replace(/[.]/g, "\\.");
    const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, "m").exec(goMod);
    if (match?.[1] === undefined) {
      throw new BinariesUnavailableError(`go.mod does not require ${module}`);
    }
    return match[1];
  };
  return { kubernetes: versionOf(kubernetesModule), etcd: versionOf(etcdModule) };
}

const goArchByNodeArch: Readonly<Record<string, string>> = {
  x64: "amd64",
  arm64: "arm64",
  ia32: "386",
  arm: "arm",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
};

/** GOOS/GOARCH of the host, from Node's names (`win32` -> `windows`, `x64` -> `amd64`). */
export function hostGoPlatform(
  platform: string = process.platform,
  arch: string = process.arch,
): { goos: string; goarch: string } {
  return {
    goos: platform === "win32" ? "windows" : platform,
    goarch: goArchByNodeArch[arch] ?? arch,
  };
}

/** Folder name of one build in the cache: changes whenever a pinned version or the platform does. */
export function binaryCacheKey(
  versions: PinnedVersions,
  platform: { goos: string; goarch: string } = hostGoPlatform(),
): string {
  return `kubernetes-${versions.kubernetes}_etcd-${versions.etcd}_${platform.goos}-${platform.goarch}`;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Binaries from a KUBEBUILDER_ASSETS folder (as `setup-envtest use -p path` prints). */
export function resolveKubebuilderAssets(dir: string): Binaries {
  const apiserver = join(dir, "kube-apiserver");
  const etcd = join(dir, "etcd");
  const missing = [apiserver, etcd].filter((path) => !isExecutable(path));
  if (missing.length > 0) {
    throw new BinariesUnavailableError(
      `KUBEBUILDER_ASSETS=${dir} must hold executable kube-apiserver and etcd; missing or not executable: ${missing.join(", ")}`,
    );
  }
  const controllerManager = join(dir, "kube-controller-manager");
  return isExecutable(controllerManager)
    ? { apiserver, etcd, controllerManager }
    : { apiserver, etcd };
}

/** First executable called `name` on the PATH of `env`, like `which`. */
export function findOnPath(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** What to install or set when there is no cached build, no KUBEBUILDER_ASSETS and no Go. */
export function missingToolchainMessage(cacheDir: string, versions: PinnedVersions): string {
  return [
    "Cannot get kube-apiserver and etcd for the test control plane:",
    "  - KUBEBUILDER_ASSETS is not set,",
    `  - no cached build in ${cacheDir},`,
    "  - and `go` is not on PATH, so they cannot be built.",
    "Do one of:",
    `  1. Install Go >= 1.26 (https://go.dev/dl/) and put it on PATH, e.g. export PATH=$PATH:/usr/local/go/bin — the first run then builds kubernetes ${versions.kubernetes} and etcd ${versions.etcd} through the Go module proxy (about 5 min on 2 cores, 2.5 GB RAM), later runs reuse the cache;`,
    "  2. or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd, e.g. export KUBEBUILDER_ASSETS=$(setup-envtest use 1.36.x -p path).",
  ].join("\n");
}

const builtNames = ["kube-apiserver", "kube-controller-manager", "etcd"] as const;

function cachedBuild(dir: string): Binaries | undefined {
  const binaries = {
    apiserver: join(dir, "kube-apiserver"),
    etcd: join(dir, "etcd"),
    controllerManager: join(dir, "kube-controller-manager"),
  };
  return Object.values(binaries).every(isExecutable) ? binaries : undefined;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const lockPollMs = 500;

/**
 * Holds `<key>.lock` (O_EXCL) while building, so concurrent test runs build once:
 * the others wait for the holder and then find the finished build. A lock whose
 * holder pid is gone is stale and taken over.
 */
async function withBuildLock<T>(
  lockPath: string,
  log: (line: string) => void,
  isDone: () => T | undefined,
  build: () => Promise<T>,
): Promise<T> {
  let announcedWait = false;
  for (;;) {
    const done = isDone();
    if (done !== undefined) return done;
    try {
      const handle = await open(lockPath, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(await readFile(lockPath, "utf8").catch(() => ""), 10);
      if (Number.isInteger(holder) && holder > 0 && isProcessAlive(holder)) {
        if (!announcedWait)
          log(`Waiting for process ${holder} that is building the binaries (${lockPath})...`);
        announcedWait = true;
      } else {
        // The holder died mid-build; take the lock over (recheck the content to narrow the race).
        const again = await readFile(lockPath, "utf8").catch(() => "");
        if (Number.parseInt(again, 10) === holder || again === "")
          await unlink(lockPath).catch(() => {});
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, lockPollMs));
      continue;
    }
    try {
      return isDone() ?? (await build());
    } finally {
      await unlink(lockPath).catch(() => {});
    }
  }
}

function runGoBuild(
  go: string,
  outDir: string,
  env: Env,
  log: (line: string) => void,
): Promise<void> {
  const packages = [
    "k8s.io/kubernetes/cmd/kube-apiserver",
    "k8s.io/kubernetes/cmd/kube-controller-manager",
    "./etcd",
  ];
  const args = ["build", "-trimpath", "-o", `${outDir}/`, ...packages];
  // Build for the host whatever GOOS/GOARCH say, and ignore any go.work above the module.
  const { GOOS: _goos, GOARCH: _goarch, ...inherited } = env;
  const buildEnv = { ...inherited, GOWORK: "off" };
  log(`$ (cd ${goBuildModuleDir} && ${go} ${args.join(" ")})`);
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, {
      cwd: goBuildModuleDir,
      env: buildEnv,
      stdio: ["ignore", "inherit", "pipe"],
    });
    let stderrTail = "";
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk.toString()).slice(-4_000);
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new BinariesUnavailableError(
            `go build of the control-plane binaries failed (${signal ?? `exit ${code}`}):\n${stderrTail}`,
          ),
        );
    });
  });
}

const defaultLog = (line: string): void => {
  process.stderr.write(`[control-plane] ${line}\n`);
};

/**
 * Finds kube-apiserver, etcd and kube-controller-manager: KUBEBUILDER_ASSETS if set, else the
 * cache, else builds them with Go into the cache (once per version, shared by concurrent runs).
 */
export async function ensureBinaries(options: EnsureBinariesOptions = {}): Promise<Binaries> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets !== undefined && assets !== "") return resolveKubebuilderAssets(assets);

  const versions = readPinnedVersions(readFileSync(join(goBuildModuleDir, "go.mod"), "utf8"));
  const cacheDir = binaryCacheDir(env);
  const key = binaryCacheKey(versions);
  const finalDir = join(cacheDir, key);
  const cached = cachedBuild(finalDir);
  if (cached !== undefined) return cached;

  const go = findOnPath("go", env);
  if (go === undefined)
    throw new BinariesUnavailableError(missingToolchainMessage(finalDir, versions));

  await mkdir(cacheDir, { recursive: true });
  return withBuildLock(
    join(cacheDir, `${key}.lock`),
    log,
    () => cachedBuild(finalDir),
    async () => {
      const tempDir = join(cacheDir, `.building-${key}-${process.pid}`);
      await rm(tempDir, { recursive: true, force: true });
      log(
        `Building ${builtNames.join(", ")} (kubernetes ${versions.kubernetes}, etcd ${versions.etcd}) into ${finalDir}; the first build takes minutes.`,
      );
      const started = Date.now();
      try {
        await runGoBuild(go, tempDir, env, log);
        // A leftover partial folder from a crashed run would make rename fail; it is not a usable build.
        if (existsSync(finalDir)) await rm(finalDir, { recursive: true, force: true });
        await rename(tempDir, finalDir);
      } finally {
        await rm(tempDir, { recursive: true, force: true });
      }
      log(`Built in ${Math.round((Date.now() - started) / 1000)} s.`);
      const built = cachedBuild(finalDir);
      if (built === undefined)
        throw new BinariesUnavailableError(
          `go build did not produce all of ${builtNames.join(", ")}`,
        );
      return built;
    },
  );
}
