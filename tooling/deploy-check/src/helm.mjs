// @ts-check
/**
 * Finds or builds the helm binary: `ODIGOS_HELM` if set; else the cached build
 * `${XDG_CACHE_HOME:-~/.cache}/odigos-ts/helm/<version>/helm`; else builds it with Go from
 * tooling/helm-binary through the Go module proxy (about 2 minutes cold on 2 cores), into a
 * temporary folder renamed into place only once the binary exists.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const helmModuleDir = join(repoRoot, "tooling", "helm-binary");

/**
 * The helm and client-go versions tooling/helm-binary/go.mod requires.
 * @param {string} goMod
 * @returns {{ helm: string, clientGo: string }}
 */
export const readVersions = (goMod) => {
  const helm = /^\s*(?:require\s+)?helm\.sh\/helm\/v\d+\s+(v\S+)/m.exec(goMod)?.[1];
  const clientGo = /^\s*k8s\.io\/client-go\s+(v\S+)/m.exec(goMod)?.[1];
  if (helm === undefined) throw new Error("tooling/helm-binary/go.mod does not require helm");
  if (clientGo === undefined)
    throw new Error("tooling/helm-binary/go.mod does not require k8s.io/client-go");
  return { helm, clientGo };
};

/** @param {NodeJS.ProcessEnv} env */
export const helmCacheDir = (env = process.env) =>
  join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "odigos-ts", "helm");

/**
 * @param {string} name
 * @param {NodeJS.ProcessEnv} env
 */
const findOnPath = (name, env) => {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
};

/**
 * The same -ldflags as helm's Makefile: its version, and the Kubernetes version `helm template`
 * and `helm lint` assume (client-go v0.X.Y means Kubernetes 1.X; without it helm assumes 1.20).
 * @param {{ helm: string, clientGo: string }} versions
 */
export const ldflags = (versions) => {
  const major = versions.helm.split(".")[0];
  const module = `helm.sh/helm/${major}`;
  const minor = versions.clientGo.split(".")[1];
  return [
    "-s",
    "-w",
    `-X ${module}/internal/version.version=${versions.helm}`,
    `-X ${module}/pkg/lint/rules.k8sVersionMajor=1`,
    `-X ${module}/pkg/lint/rules.k8sVersionMinor=${minor}`,
    `-X ${module}/pkg/chartutil.k8sVersionMajor=1`,
    `-X ${module}/pkg/chartutil.k8sVersionMinor=${minor}`,
  ].join(" ");
};

/**
 * @param {string} command
 * @param {ReadonlyArray<string>} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} options
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
export const run = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });

/**
 * Path of a helm binary, building it first when needed.
 * @param {{ env?: NodeJS.ProcessEnv, log?: (line: string) => void }} options
 * @returns {Promise<string>}
 */
export const ensureHelm = async (options = {}) => {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  if (env.ODIGOS_HELM) return env.ODIGOS_HELM;
  const versions = readVersions(readFileSync(join(helmModuleDir, "go.mod"), "utf8"));
  const finalDir = join(helmCacheDir(env), versions.helm);
  const binary = join(finalDir, "helm");
  if (existsSync(binary)) return binary;

  const go = findOnPath("go", env);
  if (go === undefined) {
    throw new Error(
      [
        `helm ${versions.helm} is not in ${finalDir} and \`go\` is not on PATH, so it cannot be built.`,
        "Install Go >= 1.26 (the first run builds helm through the Go module proxy, about 2 min),",
        "or set ODIGOS_HELM to a helm 3 binary.",
      ].join("\n"),
    );
  }
  mkdirSync(dirname(finalDir), { recursive: true });
  const tempDir = join(dirname(finalDir), `.building-${versions.helm}-${process.pid}`);
  rmSync(tempDir, { recursive: true, force: true });
  const args = [
    "build",
    "-trimpath",
    "-ldflags",
    ldflags(versions),
    "-o",
    join(tempDir, "helm"),
    `helm.sh/helm/${versions.helm.split(".")[0]}/cmd/helm`,
  ];
  log(`Building helm ${versions.helm} into ${finalDir} (first run only, about 2 min)...`);
  log(`$ (cd ${helmModuleDir} && go ${args.join(" ")})`);
  const started = Date.now();
  // Build for the host whatever GOOS/GOARCH say, and ignore any go.work above the module.
  const { GOOS: _os, GOARCH: _arch, ...inherited } = env;
  const result = await run(go, args, {
    cwd: helmModuleDir,
    env: { ...inherited, GOWORK: "off", CGO_ENABLED: "0" },
  });
  if (result.code !== 0 || !existsSync(join(tempDir, "helm"))) {
    rmSync(tempDir, { recursive: true, force: true });
    throw new Error(
      `go build of helm failed (exit ${result.code}):\n${result.stderr.slice(-4000)}`,
    );
  }
  try {
    renameSync(tempDir, finalDir);
  } catch (error) {
    // Another run finished first: use its build.
    rmSync(tempDir, { recursive: true, force: true });
    if (!existsSync(binary)) throw error;
  }
  log(`Built helm ${versions.helm} in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
};
