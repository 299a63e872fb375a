import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BinariesUnavailableError,
  defaultLog,
  ensureGoBuild,
  type GoBuildRecipe,
  givenCommand,
  hostGoPlatform,
  recipeDigest,
  required,
  requiredVersion,
} from "./binaries.js";
import { type Env, prometheusBuildModuleDir } from "./layout.js";

/** The Go module of Prometheus (its versions are `v0.3MM.P` for Prometheus `3.MM.P`). */
export const prometheusModule = "github.com/prometheus/prometheus";

/** The two commands built: the server and promtool. */
export const prometheusPackages = [
  `${prometheusModule}/cmd/prometheus`,
  `${prometheusModule}/cmd/promtool`,
] as const;

/** Prometheus and promtool of one release. */
export interface Prometheus {
  readonly prometheus: string;
  readonly promtool: string;
  /** The Prometheus release (`3.16.0` for the module's `v0.316.0`). */
  readonly version: string;
}

export interface EnsurePrometheusOptions {
  /** Environment to read ODIGOS_PROMETHEUS, ODIGOS_PROMTOOL, KUBEBUILDER_ASSETS, PATH and the cache location from. Default `process.env`. */
  readonly env?: Env;
  /** Progress lines (build start, lock waits). Default: written to stderr. */
  readonly log?: (line: string) => void;
}

/** The Prometheus release of a module version: `v0.316.0` is `3.16.0`. */
export function prometheusRelease(moduleVersion: string): string {
  const match = /^v0\.(\d)(\d\d)\.(\d+)$/.exec(moduleVersion);
  if (match === null)
    throw new BinariesUnavailableError(
      `cannot read a Prometheus release from the module version ${moduleVersion} (expected v0.3MM.P)`,
    );
  return `${match[1]}.${Number(match[2])}.${match[3]}`;
}

/**
 * How they are built from `tooling/prometheus-binary`: static, stripped, the release stamped in
 * as Prometheus' own build does (`prometheus --version`), without the `builtinassets` tag: the
 * web UI's assets are not built (its API, which the tests use, needs none). `remove_all_sd`
 * leaves out every service discovery but the static and file ones (Prometheus' own tag for
 * smaller builds): the cloud SDKs would triple the build, and a test scrapes a known address.
 */
export function prometheusBuildRecipe(moduleVersion: string): GoBuildRecipe {
  const stamp = "github.com/prometheus/common/version";
  return {
    packages: [...prometheusPackages],
    ldflags: `-s -w -X ${stamp}.Version=${prometheusRelease(moduleVersion)} -X ${stamp}.Branch=module-proxy`,
    env: { CGO_ENABLED: "0" },
    tags: ["remove_all_sd"],
  };
}

/** Folder name of one build in the cache. */
export function prometheusCacheKey(
  moduleVersion: string,
  platform: { goos: string; goarch: string } = hostGoPlatform(),
): string {
  const recipe = prometheusBuildRecipe(moduleVersion);
  return `prometheus-${moduleVersion}_${platform.goos}-${platform.goarch}_${recipeDigest(recipe)}`;
}

/** What to install or set when they can be neither found nor built. */
export function missingPrometheusMessage(cacheDir: string, moduleVersion: string): string {
  const release = prometheusRelease(moduleVersion);
  return [
    "Cannot get Prometheus and promtool:",
    "  - ODIGOS_PROMETHEUS / ODIGOS_PROMTOOL are not set, and KUBEBUILDER_ASSETS (if set) holds neither,",
    `  - no cached build in ${cacheDir},`,
    "  - and `go` is not on PATH, so they cannot be built.",
    "Do one of:",
    `  1. Install Go >= 1.26 (https://go.dev/dl/) and put it on PATH — the first run then builds Prometheus ${release} (${prometheusModule}@${moduleVersion}) through the Go module proxy (minutes), later runs reuse the cache;`,
    `  2. or set ODIGOS_PROMETHEUS and ODIGOS_PROMTOOL to the prometheus and promtool of release ${release} (https://github.com/prometheus/prometheus/releases).`,
  ].join("\n");
}

/**
 * Prometheus and promtool of the release `tooling/prometheus-binary/go.mod` pins: each from
 * ODIGOS_PROMETHEUS / ODIGOS_PROMTOOL if set, else KUBEBUILDER_ASSETS, else the cache, else both
 * built with Go into the cache (once, shared by concurrent runs).
 */
export async function ensurePrometheus(options: EnsurePrometheusOptions = {}): Promise<Prometheus> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  const moduleVersion = requiredVersion(
    readFileSync(join(prometheusBuildModuleDir, "go.mod"), "utf8"),
    prometheusModule,
  );
  const version = prometheusRelease(moduleVersion);
  const prometheus = givenCommand(env, "ODIGOS_PROMETHEUS", "prometheus");
  const promtool = givenCommand(env, "ODIGOS_PROMTOOL", "promtool");
  if (prometheus !== undefined && promtool !== undefined) return { prometheus, promtool, version };
  const paths = await ensureGoBuild(
    {
      what: `Prometheus ${version}`,
      moduleDir: prometheusBuildModuleDir,
      recipe: prometheusBuildRecipe(moduleVersion),
      key: prometheusCacheKey(moduleVersion),
      noGoMessage: (finalDir) => missingPrometheusMessage(finalDir, moduleVersion),
    },
    env,
    log,
  );
  return {
    prometheus: prometheus ?? required(paths, "prometheus"),
    promtool: promtool ?? required(paths, "promtool"),
    version,
  };
}
