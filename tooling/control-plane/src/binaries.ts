import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, unlink } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { binaryCacheDir, type Env, goBuildModuleDir, kwokBuildModuleDir } from "./layout.js";

/** Absolute paths of the control-plane executables. */
export interface Binaries {
  readonly apiserver: string;
  readonly etcd: string;
  /** Absent when KUBEBUILDER_ASSETS supplies only kube-apiserver and etcd. */
  readonly controllerManager?: string;
  /** kube-scheduler; needed by `pods: true`. Absent when KUBEBUILDER_ASSETS has none. */
  readonly scheduler?: string;
  /** kubectl of the same Kubernetes version, for tools that print or run kubectl lines. */
  readonly kubectl?: string;
  /** KWOK (fake nodes, simulated pod lifecycles); present when asked for with `pods: true`. */
  readonly kwok?: string;
}

export interface EnsureBinariesOptions {
  /** Environment to read KUBEBUILDER_ASSETS, ODIGOS_KWOK, PATH and the cache location from. Default `process.env`. */
  readonly env?: Env;
  /** Progress lines (build start, lock waits). Default: written to stderr. */
  readonly log?: (line: string) => void;
  /** Also get what a cluster with pods needs: kube-controller-manager, kube-scheduler and kwok. Default false. */
  readonly pods?: boolean;
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
const kwokModule = "sigs.k8s.io/kwok";

/** The version a go.mod requires of `module` (the `require` lines, not `replace`). */
export function requiredVersion(goMod: string, module: string): string {
  const escaped = module.replace(/[.]/g, "\\.");
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, "m").exec(goMod);
  if (match?.[1] === undefined) {
    throw new BinariesUnavailableError(`go.mod does not require ${module}`);
  }
  return match[1];
}

/** Reads the kubernetes and etcd versions a go.mod requires (the `require` lines, not `replace`). */
export function readPinnedVersions(goMod: string): PinnedVersions {
  return {
    kubernetes: requiredVersion(goMod, kubernetesModule),
    etcd: requiredVersion(goMod, etcdModule),
  };
}

/** Reads the KWOK version `tooling/kwok-binary/go.mod` requires. */
export function readKwokVersion(goMod: string): string {
  return requiredVersion(goMod, kwokModule);
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

/** One `go build` that produces several commands into one folder. */
export interface GoBuildRecipe {
  /** Package paths, as given to `go build` in the module folder. */
  readonly packages: readonly string[];
  /** The `-ldflags` value. */
  readonly ldflags: string;
  /** Environment the build sets (on top of the caller's). */
  readonly env: Readonly<Record<string, string>>;
  /** Build tags (`-tags`), when the build needs some. */
  readonly tags?: readonly string[];
}

/** Executable name `go build -o <dir>/` gives a package: its last path element. */
export function commandName(pkg: string): string {
  return pkg.slice(pkg.lastIndexOf("/") + 1);
}

/** Static, pure-Go binaries: no C toolchain needed, and the same build cache as other CGO_ENABLED=0 builds. */
const goBuildEnv = { CGO_ENABLED: "0" } as const;

/**
 * `-X` flags that stamp the Kubernetes version into the binaries, as Kubernetes' own build
 * does (hack/lib/version.sh). Without them the API server reports `v0.0.0-master+$Format:%H$`,
 * which clients that check the server version reject. The git commit is left empty: the
 * module proxy does not say which commit a version is, and a made-up one would mislead.
 */
export function kubernetesVersionLdflags(kubernetesVersion: string): string[] {
  const match = /^v(\d+)\.(\d+)\.\d+/.exec(kubernetesVersion);
  if (match === null)
    throw new BinariesUnavailableError(
      `cannot read major.minor from the Kubernetes version ${kubernetesVersion}`,
    );
  const values = {
    gitVersion: kubernetesVersion,
    gitMajor: match[1],
    gitMinor: match[2],
    gitTreeState: "clean",
    gitCommit: "",
  };
  return ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"].flatMap((pkg) =>
    Object.entries(values).map(([name, value]) => `-X ${pkg}.${name}=${value}`),
  );
}

/** How the Kubernetes binaries and etcd are built from `tooling/k8s-binaries`. */
export function kubernetesBuildRecipe(versions: PinnedVersions): GoBuildRecipe {
  return {
    packages: [
      "k8s.io/kubernetes/cmd/kube-apiserver",
      "k8s.io/kubernetes/cmd/kube-controller-manager",
      "k8s.io/kubernetes/cmd/kube-scheduler",
      "k8s.io/kubernetes/cmd/kubectl",
      "./etcd",
    ],
    ldflags: ["-s", "-w", ...kubernetesVersionLdflags(versions.kubernetes)].join(" "),
    env: goBuildEnv,
  };
}

/** How kwok is built from `tooling/kwok-binary` (KWOK's own default version stamp is its release). */
export function kwokBuildRecipe(): GoBuildRecipe {
  return { packages: ["sigs.k8s.io/kwok/cmd/kwok"], ldflags: "-s -w", env: goBuildEnv };
}

/** Short digest of a recipe: a cache folder built by another recipe is never taken for this one's. */
export function recipeDigest(recipe: GoBuildRecipe): string {
  const canonical = JSON.stringify([
    recipe.packages,
    recipe.ldflags,
    Object.entries(recipe.env).sort(),
    // Only when set, so that the digests of recipes without tags stay what they were.
    ...(recipe.tags === undefined ? [] : [[...recipe.tags].sort()]),
  ]);
  return createHash("sha256").update(canonical).digest("hex").slice(0, 10);
}

/**
 * Folder name of one Kubernetes build in the cache: changes whenever a pinned version, the
 * platform, or the recipe (which commands, which flags) does.
 */
export function binaryCacheKey(
  versions: PinnedVersions,
  platform: { goos: string; goarch: string } = hostGoPlatform(),
  recipe: GoBuildRecipe = kubernetesBuildRecipe(versions),
): string {
  return `kubernetes-${versions.kubernetes}_etcd-${versions.etcd}_${platform.goos}-${platform.goarch}_${recipeDigest(recipe)}`;
}

/** Folder name of one kwok build in the cache. */
export function kwokCacheKey(
  version: string,
  platform: { goos: string; goarch: string } = hostGoPlatform(),
  recipe: GoBuildRecipe = kwokBuildRecipe(),
): string {
  return `kwok-${version}_${platform.goos}-${platform.goarch}_${recipeDigest(recipe)}`;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The command that `variable` names, else `name` in KUBEBUILDER_ASSETS, else undefined (build
 * it). A file that is named but not executable is a mistake to report, never one to skip.
 */
export function givenCommand(env: Env, variable: string, name: string): string | undefined {
  const override = env[variable];
  if (override !== undefined && override !== "") {
    if (!isExecutable(override))
      throw new BinariesUnavailableError(
        `${variable}=${override} is not an executable file; point it at a ${name} binary or unset it to build one`,
      );
    return override;
  }
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets === undefined || assets === "") return undefined;
  const inAssets = join(assets, name);
  if (!existsSync(inAssets)) return undefined;
  if (!isExecutable(inAssets))
    throw new BinariesUnavailableError(
      `KUBEBUILDER_ASSETS=${assets} holds a ${name} that is not executable (${inAssets})`,
    );
  return inAssets;
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
  const optional = (field: keyof Binaries, name: string) => {
    const path = join(dir, name);
    return isExecutable(path) ? { [field]: path } : {};
  };
  return {
    apiserver,
    etcd,
    ...optional("controllerManager", "kube-controller-manager"),
    ...optional("scheduler", "kube-scheduler"),
    ...optional("kubectl", "kubectl"),
    ...optional("kwok", "kwok"),
  };
}

/** What a cluster with pods needs beyond kube-apiserver and etcd. */
const podsBinaries = [
  ["controllerManager", "kube-controller-manager"],
  ["scheduler", "kube-scheduler"],
  ["kwok", "kwok"],
] as const;

/** The executables `pods: true` needs that `binaries` lacks, by file name (empty when none). */
export function missingForPods(binaries: Binaries): string[] {
  return podsBinaries.filter(([field]) => binaries[field] === undefined).map(([, name]) => name);
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

/** What to install or set when kwok can be neither found nor built. */
export function missingKwokMessage(cacheDir: string, version: string): string {
  return [
    "Cannot get kwok for the control plane with pods:",
    "  - ODIGOS_KWOK is not set, and KUBEBUILDER_ASSETS (if set) holds no kwok,",
    `  - no cached build in ${cacheDir},`,
    "  - and `go` is not on PATH, so it cannot be built.",
    "Do one of:",
    `  1. Install Go >= 1.26 (https://go.dev/dl/) and put it on PATH — the first run then builds kwok ${version} through the Go module proxy (1.5-5 min on 2 cores), later runs reuse the cache;`,
    `  2. or set ODIGOS_KWOK to a kwok ${version} binary (https://github.com/kubernetes-sigs/kwok/releases).`,
  ].join("\n");
}

/**
 * The paths a finished build folder holds, or undefined when any command or any of `files`
 * (paths relative to the folder) is missing (a partial build).
 */
function cachedBuild(
  dir: string,
  recipe: GoBuildRecipe,
  files: readonly string[] = [],
): Map<string, string> | undefined {
  const paths = new Map(
    recipe.packages.map((pkg) => [commandName(pkg), join(dir, commandName(pkg))]),
  );
  const complete =
    [...paths.values()].every(isExecutable) && files.every((file) => existsSync(join(dir, file)));
  return complete ? paths : undefined;
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

/** The environment a recipe's `go` commands run with: the host platform, no go.work, the recipe's settings. */
export function goCommandEnv(env: Env, recipe: GoBuildRecipe): Env {
  // Build for the host whatever GOOS/GOARCH say, and ignore any go.work above the module.
  const { GOOS: _goos, GOARCH: _goarch, ...inherited } = env;
  return { ...inherited, GOWORK: "off", ...recipe.env };
}

function runGoBuild(
  go: string,
  moduleDir: string,
  recipe: GoBuildRecipe,
  outDir: string,
  env: Env,
  log: (line: string) => void,
): Promise<void> {
  const args = ["build", "-trimpath", "-ldflags", recipe.ldflags, "-o", `${outDir}/`];
  if (recipe.tags !== undefined && recipe.tags.length > 0)
    args.push("-tags", recipe.tags.join(","));
  args.push(...recipe.packages);
  const buildEnv = goCommandEnv(env, recipe);
  const shown = args.map((arg) => (arg.includes(" ") ? `'${arg}'` : arg)).join(" ");
  const envShown = Object.entries(recipe.env)
    .map(([name, value]) => `${name}=${value} `)
    .join("");
  log(`$ (cd ${moduleDir} && ${envShown}${go} ${shown})`);
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, {
      cwd: moduleDir,
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
            `go build of ${recipe.packages.map(commandName).join(", ")} failed (${signal ?? `exit ${code}`}):\n${stderrTail}`,
          ),
        );
    });
  });
}

export interface CachedGoBuild {
  readonly what: string;
  readonly moduleDir: string;
  readonly recipe: GoBuildRecipe;
  readonly key: string;
  /** The message when there is neither a cached build nor `go`. */
  readonly noGoMessage: (finalDir: string) => string;
  /** Other files (relative paths) a finished build folder holds; one missing makes it partial. */
  readonly files?: readonly string[];
  /** Writes those files into the build folder after `go build`, before it is renamed into place. */
  readonly addFiles?: (buildDir: string, go: string) => Promise<void>;
}

/**
 * The commands of `build` from `<cache>/<key>`, building them there first when needed: into
 * `<cache>/.building-<key>-<pid>`, renamed only once every command exists, under a lock.
 */
export async function ensureGoBuild(
  build: CachedGoBuild,
  env: Env,
  log: (line: string) => void,
): Promise<Map<string, string>> {
  const cacheDir = binaryCacheDir(env);
  const finalDir = join(cacheDir, build.key);
  const cached = cachedBuild(finalDir, build.recipe, build.files);
  if (cached !== undefined) return cached;

  const go = findOnPath("go", env);
  if (go === undefined) throw new BinariesUnavailableError(build.noGoMessage(finalDir));

  await mkdir(cacheDir, { recursive: true });
  return withBuildLock(
    join(cacheDir, `${build.key}.lock`),
    log,
    () => cachedBuild(finalDir, build.recipe, build.files),
    async () => {
      const tempDir = join(cacheDir, `.building-${build.key}-${process.pid}`);
      await rm(tempDir, { recursive: true, force: true });
      const names = build.recipe.packages.map(commandName).join(", ");
      log(`Building ${names} (${build.what}) into ${finalDir}; the first build takes minutes.`);
      const started = Date.now();
      try {
        await runGoBuild(go, build.moduleDir, build.recipe, tempDir, env, log);
        await build.addFiles?.(tempDir, go);
        // A leftover partial folder from a crashed run would make rename fail; it is not a usable build.
        if (existsSync(finalDir)) await rm(finalDir, { recursive: true, force: true });
        await rename(tempDir, finalDir);
      } finally {
        await rm(tempDir, { recursive: true, force: true });
      }
      log(`Built in ${Math.round((Date.now() - started) / 1000)} s.`);
      const built = cachedBuild(finalDir, build.recipe, build.files);
      if (built === undefined)
        throw new BinariesUnavailableError(`go build did not produce all of ${names}`);
      return built;
    },
  );
}

export const defaultLog = (line: string): void => {
  process.stderr.write(`[control-plane] ${line}\n`);
};

export function required(paths: Map<string, string>, name: string): string {
  const path = paths.get(name);
  if (path === undefined) throw new BinariesUnavailableError(`the build has no ${name}`);
  return path;
}

async function ensureKubernetesBinaries(env: Env, log: (line: string) => void): Promise<Binaries> {
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets !== undefined && assets !== "") return resolveKubebuilderAssets(assets);
  const versions = readPinnedVersions(readFileSync(join(goBuildModuleDir, "go.mod"), "utf8"));
  const paths = await ensureGoBuild(
    {
      what: `kubernetes ${versions.kubernetes}, etcd ${versions.etcd}`,
      moduleDir: goBuildModuleDir,
      recipe: kubernetesBuildRecipe(versions),
      key: binaryCacheKey(versions),
      noGoMessage: (finalDir) => missingToolchainMessage(finalDir, versions),
    },
    env,
    log,
  );
  return {
    apiserver: required(paths, "kube-apiserver"),
    etcd: required(paths, "etcd"),
    controllerManager: required(paths, "kube-controller-manager"),
    scheduler: required(paths, "kube-scheduler"),
    kubectl: required(paths, "kubectl"),
  };
}

/** kwok: ODIGOS_KWOK if set, else `kwok` in KUBEBUILDER_ASSETS, else the cache, else built with Go. */
async function ensureKwok(
  env: Env,
  fromAssets: string | undefined,
  log: (line: string) => void,
): Promise<string> {
  const override = env.ODIGOS_KWOK;
  if (override !== undefined && override !== "") {
    if (!isExecutable(override))
      throw new BinariesUnavailableError(
        `ODIGOS_KWOK=${override} is not an executable file; point it at a kwok binary or unset it to build one`,
      );
    return override;
  }
  if (fromAssets !== undefined) return fromAssets;
  const version = readKwokVersion(readFileSync(join(kwokBuildModuleDir, "go.mod"), "utf8"));
  const paths = await ensureGoBuild(
    {
      what: `kwok ${version}`,
      moduleDir: kwokBuildModuleDir,
      recipe: kwokBuildRecipe(),
      key: kwokCacheKey(version),
      noGoMessage: (finalDir) => missingKwokMessage(finalDir, version),
    },
    env,
    log,
  );
  return required(paths, "kwok");
}

/**
 * Finds kube-apiserver, etcd, kube-controller-manager, kube-scheduler and kubectl:
 * KUBEBUILDER_ASSETS if set, else the cache, else builds them with Go into the cache (once per
 * version and recipe, shared by concurrent runs). With `pods: true`, also kwok (ODIGOS_KWOK,
 * else `kwok` in KUBEBUILDER_ASSETS, else cached or built), and fails at once, naming them, if
 * KUBEBUILDER_ASSETS lacks what pods need.
 */
export async function ensureBinaries(options: EnsureBinariesOptions = {}): Promise<Binaries> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  const kubernetes = await ensureKubernetesBinaries(env, log);
  if (options.pods !== true) return kubernetes;
  const missing = missingForPods(kubernetes).filter((name) => name !== "kwok");
  if (missing.length > 0)
    throw new BinariesUnavailableError(
      `pods: true needs ${missing.join(" and ")}, which KUBEBUILDER_ASSETS=${env.KUBEBUILDER_ASSETS} does not hold; add ${missing.length > 1 ? "them" : "it"} there or unset KUBEBUILDER_ASSETS to build them`,
    );
  return { ...kubernetes, kwok: await ensureKwok(env, kubernetes.kwok, log) };
}
