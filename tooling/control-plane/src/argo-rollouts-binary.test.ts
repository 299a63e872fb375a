import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  argoRolloutsBuildRecipe,
  argoRolloutsCacheKey,
  argoRolloutsCrdFiles,
  ensureArgoRollouts,
  missingArgoRolloutsMessage,
  readArgoRolloutsPins,
} from "./argo-rollouts-binary.js";
import { BinariesUnavailableError } from "./binaries.js";
import { argoRolloutsBuildModuleDir } from "./layout.js";
import { executable, scratchDir } from "./test-support/scratch.js";

/** A folder laid out like the release's manifests/crds. */
function crdFolder(dir: string = scratchDir()): string {
  mkdirSync(dir, { recursive: true });
  for (const name of argoRolloutsCrdFiles) writeFileSync(join(dir, name), `# ${name}\n`);
  writeFileSync(join(dir, "kustomization.yaml"), "resources: []\n");
  return dir;
}

const pinned = readArgoRolloutsPins(
  readFileSync(join(argoRolloutsBuildModuleDir, "go.mod"), "utf8"),
);

describe("readArgoRolloutsPins", () => {
  it("reads the release and the toolchain the argo-rollouts-binary module pins", () => {
    expect(pinned).toEqual({ version: "v1.10.2", toolchain: "go1.27.3" });
  });

  it("reads a go.mod without a toolchain line, and fails without the require", () => {
    expect(readArgoRolloutsPins("require github.com/argoproj/argo-rollouts v1.9.0\n")).toEqual({
      version: "v1.9.0",
      toolchain: undefined,
    });
    expect(() => readArgoRolloutsPins("require sigs.k8s.io/kwok v0.8.0\n")).toThrow(
      /github\.com\/argoproj\/argo-rollouts/,
    );
  });
});

describe("argoRolloutsBuildRecipe and cache key", () => {
  it("builds a static controller with the release stamped in, under the pinned toolchain", () => {
    expect(argoRolloutsBuildRecipe(pinned)).toEqual({
      packages: ["github.com/argoproj/argo-rollouts/cmd/rollouts-controller"],
      ldflags: "-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=1.10.2",
      env: { CGO_ENABLED: "0", GOTOOLCHAIN: "go1.27.3" },
    });
    expect(argoRolloutsBuildRecipe({ version: "v1.10.2", toolchain: undefined }).env).toEqual({
      CGO_ENABLED: "0",
    });
  });

  it("names the release and the platform, and changes with the toolchain", () => {
    const platform = { goos: "linux", goarch: "amd64" };
    const key = argoRolloutsCacheKey(pinned, platform);
    expect(key).toMatch(/^argo-rollouts-v1\.10\.2_linux-amd64_[0-9a-f]{10}$/);
    expect(argoRolloutsCacheKey({ ...pinned, toolchain: "go1.28.0" }, platform)).not.toBe(key);
  });
});

describe("ensureArgoRollouts with a given controller", () => {
  it("takes ODIGOS_ARGO_ROLLOUTS and the CRD file ODIGOS_ARGO_ROLLOUTS_CRD names", async () => {
    const controller = executable(scratchDir(), "rollouts-controller");
    const crd = join(crdFolder(), "rollout-crd.yaml");
    const env = { ODIGOS_ARGO_ROLLOUTS: controller, ODIGOS_ARGO_ROLLOUTS_CRD: crd, PATH: "" };
    await expect(ensureArgoRollouts({ env })).resolves.toEqual({
      controller,
      rolloutCrd: crd,
      crds: [crd],
      version: "v1.10.2",
    });
  });

  it("takes every CRD of an ODIGOS_ARGO_ROLLOUTS_CRD folder, not its kustomization", async () => {
    const controller = executable(scratchDir(), "rollouts-controller");
    const dir = crdFolder();
    const env = { ODIGOS_ARGO_ROLLOUTS: controller, ODIGOS_ARGO_ROLLOUTS_CRD: dir, PATH: "" };
    const found = await ensureArgoRollouts({ env });
    expect(found.rolloutCrd).toBe(join(dir, "rollout-crd.yaml"));
    expect(found.crds).toEqual(argoRolloutsCrdFiles.map((name) => join(dir, name)));
  });

  it("takes rollouts-controller from KUBEBUILDER_ASSETS", async () => {
    const assets = scratchDir();
    const controller = executable(assets, "rollouts-controller");
    const env = { KUBEBUILDER_ASSETS: assets, ODIGOS_ARGO_ROLLOUTS_CRD: crdFolder(), PATH: "" };
    expect((await ensureArgoRollouts({ env })).controller).toBe(controller);
  });

  it("takes the CRDs of a cached build when no ODIGOS_ARGO_ROLLOUTS_CRD is set", async () => {
    const cache = scratchDir();
    const cached = crdFolder(join(cache, argoRolloutsCacheKey(pinned), "crds"));
    const controller = executable(scratchDir(), "rollouts-controller");
    const env = { ODIGOS_ARGO_ROLLOUTS: controller, ODIGOS_K8S_CACHE_DIR: cache, PATH: "" };
    expect((await ensureArgoRollouts({ env })).rolloutCrd).toBe(join(cached, "rollout-crd.yaml"));
  });

  it("rejects an ODIGOS_ARGO_ROLLOUTS that is not executable, naming it", async () => {
    const dir = scratchDir();
    writeFileSync(join(dir, "rollouts-controller"), "");
    const env = { ODIGOS_ARGO_ROLLOUTS: join(dir, "rollouts-controller"), PATH: "" };
    const failure = ensureArgoRollouts({ env });
    await expect(failure).rejects.toThrow(BinariesUnavailableError);
    await expect(failure).rejects.toThrow(
      `ODIGOS_ARGO_ROLLOUTS=${join(dir, "rollouts-controller")} is not an executable file`,
    );
  });

  it("rejects a rollouts-controller in KUBEBUILDER_ASSETS that is not executable, naming it", async () => {
    const assets = scratchDir();
    writeFileSync(join(assets, "rollouts-controller"), "");
    await expect(ensureArgoRollouts({ env: { KUBEBUILDER_ASSETS: assets } })).rejects.toThrow(
      `KUBEBUILDER_ASSETS=${assets} holds a rollouts-controller that is not executable`,
    );
  });

  it("names ODIGOS_ARGO_ROLLOUTS_CRD when it is missing or lacks the Rollout CRD", async () => {
    const controller = executable(scratchDir(), "rollouts-controller");
    const missing = join(scratchDir(), "nope.yaml");
    const empty = scratchDir();
    await expect(
      ensureArgoRollouts({
        env: { ODIGOS_ARGO_ROLLOUTS: controller, ODIGOS_ARGO_ROLLOUTS_CRD: missing },
      }),
    ).rejects.toThrow(`ODIGOS_ARGO_ROLLOUTS_CRD=${missing} does not exist`);
    await expect(
      ensureArgoRollouts({
        env: { ODIGOS_ARGO_ROLLOUTS: controller, ODIGOS_ARGO_ROLLOUTS_CRD: empty },
      }),
    ).rejects.toThrow(`ODIGOS_ARGO_ROLLOUTS_CRD=${empty} holds no rollout-crd.yaml`);
  });

  it("asks for ODIGOS_ARGO_ROLLOUTS_CRD when there is neither a cached build nor Go", async () => {
    const controller = executable(scratchDir(), "rollouts-controller");
    const env = { ODIGOS_ARGO_ROLLOUTS: controller, ODIGOS_K8S_CACHE_DIR: scratchDir(), PATH: "" };
    await expect(ensureArgoRollouts({ env })).rejects.toThrow(/set ODIGOS_ARGO_ROLLOUTS_CRD/);
  });
});

describe("ensureArgoRollouts without a given controller", () => {
  it("says how to get it when it can be neither found nor built", async () => {
    const env = { PATH: scratchDir(), ODIGOS_K8S_CACHE_DIR: scratchDir() };
    const failure = ensureArgoRollouts({ env, log: () => {} });
    await expect(failure).rejects.toThrow(BinariesUnavailableError);
    await expect(failure).rejects.toThrow(/ODIGOS_ARGO_ROLLOUTS/);
    await expect(failure).rejects.toThrow(/Install Go >= 1\.26/);
    expect(missingArgoRolloutsMessage("/c/a", pinned)).toContain(
      "argo-rollouts v1.10.2 through the Go module proxy with GOTOOLCHAIN=go1.27.3",
    );
  });

  /**
   * A stand-in `go`: `build` writes a script for each package after `-o <dir>/` and records its
   * arguments and GOTOOLCHAIN; `mod download -json` answers with a fake module source.
   */
  function fakeGo(): { env: Record<string, string>; calls: () => string[] } {
    const bin = scratchDir();
    const source = scratchDir();
    crdFolder(join(source, "manifests", "crds"));
    const logFile = join(scratchDir(), "runs");
    writeFileSync(logFile, "");
    writeFileSync(
      join(bin, "go"),
      [
        "#!/bin/sh",
        'echo "GOTOOLCHAIN=$GOTOOLCHAIN CGO_ENABLED=$CGO_ENABLED $*" >> "$FAKE_GO_RUNS"',
        'if [ "$1" = mod ]; then printf \'{"Path":"m","Dir":"%s"}\\n\' "$FAKE_ARGO_SOURCE"; exit 0; fi',
        'while [ "$1" != "-o" ]; do shift; done',
        'out=$2; shift 2; mkdir -p "$out"',
        'for pkg in "$@"; do name=$(basename "$pkg"); printf "#!/bin/sh\\n" > "$out$name"; chmod +x "$out$name"; done',
        "",
      ].join("\n"),
    );
    chmodSync(join(bin, "go"), 0o755);
    return {
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_GO_RUNS: logFile, FAKE_ARGO_SOURCE: source },
      calls: () => readFileSync(logFile, "utf8").split("\n").filter(Boolean),
    };
  }

  it("builds the controller once into <cache>/<key>, with the CRDs beside it, then reuses it", async () => {
    const go = fakeGo();
    const cache = scratchDir();
    const env = { ...go.env, ODIGOS_K8S_CACHE_DIR: cache };
    const [first, second] = await Promise.all([
      ensureArgoRollouts({ env, log: () => {} }),
      ensureArgoRollouts({ env, log: () => {} }),
    ]);
    const keyDir = join(cache, argoRolloutsCacheKey(pinned));
    expect(first).toEqual({
      controller: join(keyDir, "rollouts-controller"),
      rolloutCrd: join(keyDir, "crds", "rollout-crd.yaml"),
      crds: argoRolloutsCrdFiles.map((name) => join(keyDir, "crds", name)),
      version: "v1.10.2",
    });
    expect(second).toEqual(first);
    expect(readFileSync(first.rolloutCrd, "utf8")).toBe("# rollout-crd.yaml\n");
    await ensureArgoRollouts({ env, log: () => {} });
    const [build, download, ...rest] = go.calls();
    expect(rest).toEqual([]);
    expect(build).toMatch(/^GOTOOLCHAIN=go1\.27\.3 CGO_ENABLED=0 build -trimpath -ldflags /);
    expect(build).toContain("utils/version.version=1.10.2");
    expect(build).toMatch(/ github\.com\/argoproj\/argo-rollouts\/cmd\/rollouts-controller$/);
    expect(download).toBe(
      "GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0 mod download -json github.com/argoproj/argo-rollouts@v1.10.2",
    );
    expect(readdirSync(cache)).toEqual([argoRolloutsCacheKey(pinned)]);
  });

  it("rebuilds a cached folder that lacks a CRD (a partial build)", async () => {
    const go = fakeGo();
    const cache = scratchDir();
    const keyDir = join(cache, argoRolloutsCacheKey(pinned));
    mkdirSync(keyDir);
    executable(keyDir, "rollouts-controller");
    await ensureArgoRollouts({ env: { ...go.env, ODIGOS_K8S_CACHE_DIR: cache }, log: () => {} });
    expect(go.calls()).toHaveLength(2);
    expect(readdirSync(join(keyDir, "crds")).sort()).toEqual([...argoRolloutsCrdFiles].sort());
  });

  it("downloads the release's CRDs for a given controller when only Go is at hand", async () => {
    const go = fakeGo();
    const controller = executable(scratchDir(), "rollouts-controller");
    const env = { ...go.env, ODIGOS_ARGO_ROLLOUTS: controller, ODIGOS_K8S_CACHE_DIR: scratchDir() };
    const found = await ensureArgoRollouts({ env });
    expect(found.rolloutCrd).toBe(
      join(go.env.FAKE_ARGO_SOURCE ?? "", "manifests", "crds", "rollout-crd.yaml"),
    );
    expect(go.calls()).toHaveLength(1);
  });
});
