import { execFile } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { chmod, copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import {
  BinariesUnavailableError,
  defaultLog,
  ensureGoBuild,
  findOnPath,
  type GoBuildRecipe,
  givenCommand,
  goCommandEnv,
  hostGoPlatform,
  recipeDigest,
  required,
  requiredVersion,
} from "./binaries.js";
import { argoRolloutsBuildModuleDir, binaryCacheDir, type Env } from "./layout.js";

/** The Go module of Argo Rollouts. */
export const argoRolloutsModule = "github.com/argoproj/argo-rollouts";

/** The controller command (the package `go build` makes it from). */
export const argoRolloutsControllerPackage = `${argoRolloutsModule}/cmd/rollouts-controller`;

/**
 * The CRD files of a release (its `manifests/crds`, without the kustomization). The controller
 * waits for its AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate and Experiment informers
 * as well as the Rollout one, so a cluster that runs it needs all of them.
 */
export const argoRolloutsCrdFiles = [
  "rollout-crd.yaml",
  "analysis-run-crd.yaml",
  "analysis-template-crd.yaml",
  "cluster-analysis-template-crd.yaml",
  "experiment-crd.yaml",
] as const;

/** Where the CRDs sit in the module source, and in a build folder of the cache. */
const sourceCrdDir = join("manifests", "crds");
const cachedCrdDir = "crds";

/** The Argo Rollouts controller and the CRDs of the same release. */
export interface ArgoRollouts {
  /** The `rollouts-controller` executable. */
  readonly controller: string;
  /** The Rollout CRD (`manifests/crds/rollout-crd.yaml` of the release). */
  readonly rolloutCrd: string;
  /** Every Argo Rollouts CRD file at hand (all of {@link argoRolloutsCrdFiles} unless overridden by one file). */
  readonly crds: readonly string[];
  /** The release `tooling/argo-rollouts-binary/go.mod` pins; an override is taken to be that release. */
  readonly version: string;
}

export interface EnsureArgoRolloutsOptions {
  /** Environment to read ODIGOS_ARGO_ROLLOUTS(_CRD), KUBEBUILDER_ASSETS, PATH and the cache location from. Default `process.env`. */
  readonly env?: Env;
  /** Progress lines (build start, lock waits). Default: written to stderr. */
  readonly log?: (line: string) => void;
}

/** What `tooling/argo-rollouts-binary/go.mod` pins: the release, and the Go toolchain it needs. */
export interface ArgoRolloutsPins {
  readonly version: string;
  /** The `toolchain` line (e.g. `go1.27.3`), set as GOTOOLCHAIN for the build; undefined when none. */
  readonly toolchain: string | undefined;
}

/** Reads the Argo Rollouts version (a `require` line) and the `toolchain` line of a go.mod. */
export function readArgoRolloutsPins(goMod: string): ArgoRolloutsPins {
  const toolchain = /^toolchain\s+(go\S+)/m.exec(goMod)?.[1];
  return { version: requiredVersion(goMod, argoRolloutsModule), toolchain };
}

/**
 * How the controller is built from `tooling/argo-rollouts-binary`: static, stripped, the release
 * stamped in as Argo's own Makefile does (`version` reports `v<release>+unknown`: the module proxy
 * does not say which commit a version is), and GOTOOLCHAIN set to the go.mod's `toolchain` line,
 * since Argo Rollouts requires a newer Go than the machine's may be.
 */
export function argoRolloutsBuildRecipe(pins: ArgoRolloutsPins): GoBuildRecipe {
  return {
    packages: [argoRolloutsControllerPackage],
    ldflags: `-s -w -X ${argoRolloutsModule}/utils/version.version=${pins.version.replace(/^v/, "")}`,
    env: {
      CGO_ENABLED: "0",
      ...(pins.toolchain === undefined ? {} : { GOTOOLCHAIN: pins.toolchain }),
    },
  };
}

/** Folder name of one Argo Rollouts build in the cache (beside kwok's). */
export function argoRolloutsCacheKey(
  pins: ArgoRolloutsPins,
  platform: { goos: string; goarch: string } = hostGoPlatform(),
  recipe: GoBuildRecipe = argoRolloutsBuildRecipe(pins),
): string {
  return `argo-rollouts-${pins.version}_${platform.goos}-${platform.goarch}_${recipeDigest(recipe)}`;
}

/** What to install or set when the controller can be neither found nor built. */
export function missingArgoRolloutsMessage(cacheDir: string, pins: ArgoRolloutsPins): string {
  return [
    "Cannot get the Argo Rollouts controller:",
    "  - ODIGOS_ARGO_ROLLOUTS is not set, and KUBEBUILDER_ASSETS (if set) holds no rollouts-controller,",
    `  - no cached build in ${cacheDir},`,
    "  - and `go` is not on PATH, so it cannot be built.",
    "Do one of:",
    `  1. Install Go >= 1.26 (https://go.dev/dl/) and put it on PATH — the first run then builds argo-rollouts ${pins.version} through the Go module proxy${pins.toolchain === undefined ? "" : ` with GOTOOLCHAIN=${pins.toolchain}`} (5-12 min on 2 cores), later runs reuse the cache;`,
    `  2. or set ODIGOS_ARGO_ROLLOUTS to a rollouts-controller ${pins.version} binary and ODIGOS_ARGO_ROLLOUTS_CRD to its manifests/crds folder (https://github.com/argoproj/argo-rollouts/releases).`,
  ].join("\n");
}

const execFileAsync = promisify(execFile);

/** The module source of the pinned release in the Go module cache (`go mod download -json`'s `Dir`). */
async function moduleSourceDir(go: string, pins: ArgoRolloutsPins, env: Env): Promise<string> {
  const recipe = argoRolloutsBuildRecipe(pins);
  const target = `${argoRolloutsModule}@${pins.version}`;
  let info: { Dir?: string; Error?: string };
  try {
    const { stdout } = await execFileAsync(go, ["mod", "download", "-json", target], {
      cwd: argoRolloutsBuildModuleDir,
      env: goCommandEnv(env, recipe),
      maxBuffer: 1024 * 1024,
    });
    info = JSON.parse(stdout) as typeof info;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? "";
    info = { Error: /"Error":\s*"([^"]*)"/.exec(stdout)?.[1] ?? (error as Error).message };
  }
  if (info.Error !== undefined || info.Dir === undefined)
    throw new BinariesUnavailableError(
      `go mod download ${target} failed: ${info.Error ?? "no Dir"}`,
    );
  return info.Dir;
}

/** Copies the release's CRD files into `<buildDir>/crds` (writable: the module cache's are not). */
async function copyCrds(sourceDir: string, buildDir: string): Promise<void> {
  await mkdir(join(buildDir, cachedCrdDir), { recursive: true });
  for (const name of argoRolloutsCrdFiles) {
    const target = join(buildDir, cachedCrdDir, name);
    await copyFile(join(sourceDir, sourceCrdDir, name), target);
    await chmod(target, 0o644);
  }
}

/** The CRDs of a folder holding {@link argoRolloutsCrdFiles} (the Rollout one at least). */
function crdsIn(dir: string, variable?: string): Pick<ArgoRollouts, "rolloutCrd" | "crds"> {
  const rolloutCrd = join(dir, "rollout-crd.yaml");
  if (!existsSync(rolloutCrd))
    throw new BinariesUnavailableError(
      `${variable === undefined ? dir : `${variable}=${dir}`} holds no rollout-crd.yaml`,
    );
  const crds = argoRolloutsCrdFiles.map((name) => join(dir, name)).filter((p) => existsSync(p));
  return { rolloutCrd, crds };
}

/**
 * The CRDs for a controller that was not built here: ODIGOS_ARGO_ROLLOUTS_CRD (a CRD file or a
 * folder like the release's manifests/crds), else a cached build's, else the release's source
 * in the Go module cache (downloaded, not built, when `go` is on PATH).
 */
async function givenCrds(
  env: Env,
  pins: ArgoRolloutsPins,
): Promise<Pick<ArgoRollouts, "rolloutCrd" | "crds">> {
  const override = env.ODIGOS_ARGO_ROLLOUTS_CRD;
  if (override !== undefined && override !== "") {
    if (!existsSync(override))
      throw new BinariesUnavailableError(
        `ODIGOS_ARGO_ROLLOUTS_CRD=${override} does not exist; point it at rollout-crd.yaml or the release's manifests/crds folder`,
      );
    if (statSync(override).isDirectory()) return crdsIn(override, "ODIGOS_ARGO_ROLLOUTS_CRD");
    return { rolloutCrd: override, crds: [override] };
  }
  const cached = join(binaryCacheDir(env), argoRolloutsCacheKey(pins), cachedCrdDir);
  if (existsSync(join(cached, "rollout-crd.yaml"))) return crdsIn(cached);
  const go = findOnPath("go", env);
  if (go === undefined)
    throw new BinariesUnavailableError(
      `No Argo Rollouts CRDs for the given controller: set ODIGOS_ARGO_ROLLOUTS_CRD to rollout-crd.yaml or the manifests/crds folder of argo-rollouts ${pins.version} (no cached build in ${cached}, no go on PATH to download the release)`,
    );
  return crdsIn(join(await moduleSourceDir(go, pins, env), sourceCrdDir));
}

/**
 * The Argo Rollouts controller and its CRDs, of the release `tooling/argo-rollouts-binary/go.mod`
 * pins: ODIGOS_ARGO_ROLLOUTS if set, else `rollouts-controller` in KUBEBUILDER_ASSETS (CRDs then
 * from ODIGOS_ARGO_ROLLOUTS_CRD, the cache or the module source), else the cache, else built
 * with Go into the cache with the CRDs copied beside it (once, shared by concurrent runs).
 */
export async function ensureArgoRollouts(
  options: EnsureArgoRolloutsOptions = {},
): Promise<ArgoRollouts> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  const pins = readArgoRolloutsPins(
    readFileSync(join(argoRolloutsBuildModuleDir, "go.mod"), "utf8"),
  );
  const given = givenCommand(env, "ODIGOS_ARGO_ROLLOUTS", "rollouts-controller");
  if (given !== undefined)
    return { controller: given, ...(await givenCrds(env, pins)), version: pins.version };
  const paths = await ensureGoBuild(
    {
      what: `argo-rollouts ${pins.version}`,
      moduleDir: argoRolloutsBuildModuleDir,
      recipe: argoRolloutsBuildRecipe(pins),
      key: argoRolloutsCacheKey(pins),
      noGoMessage: (finalDir) => missingArgoRolloutsMessage(finalDir, pins),
      files: argoRolloutsCrdFiles.map((name) => join(cachedCrdDir, name)),
      addFiles: async (buildDir, go) => copyCrds(await moduleSourceDir(go, pins, env), buildDir),
    },
    env,
    log,
  );
  const controller = required(paths, "rollouts-controller");
  return {
    controller,
    ...crdsIn(join(dirname(controller), cachedCrdDir)),
    version: pins.version,
  };
}
