import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  BinariesUnavailableError,
  binaryCacheKey,
  ensureBinaries,
  findOnPath,
  hostGoPlatform,
  missingToolchainMessage,
  readPinnedVersions,
  resolveKubebuilderAssets,
} from "./binaries.js";
import { binaryCacheDir, cacheRoot, goBuildModuleDir } from "./layout.js";

const scratch: string[] = [];
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "control-plane-test-"));
  scratch.push(dir);
  return dir;
}
function executable(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, "#!/bin/sh\n");
  chmodSync(path, 0o755);
  return path;
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("readPinnedVersions", () => {
  it("reads the require lines, not the replace lines", () => {
    const goMod = [
      "module example",
      "require (",
      "\tgo.etcd.io/etcd/server/v3 v3.6.8",
      "\tk8s.io/kubernetes v1.36.3",
      ")",
      "replace (",
      "\tk8s.io/api => k8s.io/api v0.36.3",
      ")",
    ].join("\n");
    expect(readPinnedVersions(goMod)).toEqual({ kubernetes: "v1.36.3", etcd: "v3.6.8" });
  });

  it("reads single-line requires", () => {
    const goMod =
      "require k8s.io/kubernetes v1.2.3\nrequire go.etcd.io/etcd/server/v3 v3.5.0 // indirect\n";
    expect(readPinnedVersions(goMod)).toEqual({ kubernetes: "v1.2.3", etcd: "v3.5.0" });
  });

  it("reads the module this package actually builds", () => {
    const versions = readPinnedVersions(readFileSync(join(goBuildModuleDir, "go.mod"), "utf8"));
    expect(versions.kubernetes).toMatch(/^v1\.\d+\.\d+/);
    expect(versions.etcd).toMatch(/^v3\.\d+\.\d+/);
  });

  it("fails when a module is not required", () => {
    expect(() => readPinnedVersions("require k8s.io/kubernetes v1.2.3\n")).toThrow(
      /go\.etcd\.io\/etcd\/server\/v3/,
    );
  });
});

describe("binaryCacheKey", () => {
  const versions = { kubernetes: "v1.36.3", etcd: "v3.6.8" };

  it("names both versions and the Go platform", () => {
    expect(binaryCacheKey(versions, { goos: "linux", goarch: "amd64" })).toBe(
      "kubernetes-v1.36.3_etcd-v3.6.8_linux-amd64",
    );
  });

  it("changes with any version or the platform", () => {
    const base = binaryCacheKey(versions, { goos: "linux", goarch: "amd64" });
    expect(
      binaryCacheKey({ ...versions, kubernetes: "v1.36.4" }, { goos: "linux", goarch: "amd64" }),
    ).not.toBe(base);
    expect(
      binaryCacheKey({ ...versions, etcd: "v3.6.9" }, { goos: "linux", goarch: "amd64" }),
    ).not.toBe(base);
    expect(binaryCacheKey(versions, { goos: "linux", goarch: "arm64" })).not.toBe(base);
  });

  it("maps Node platform names to Go's", () => {
    expect(hostGoPlatform("linux", "x64")).toEqual({ goos: "linux", goarch: "amd64" });
    expect(hostGoPlatform("darwin", "arm64")).toEqual({ goos: "darwin", goarch: "arm64" });
    expect(hostGoPlatform("win32", "x64")).toEqual({ goos: "windows", goarch: "amd64" });
  });
});

describe("cache location", () => {
  it("follows XDG_CACHE_HOME", () => {
    expect(binaryCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/odigos-ts/k8s-binaries");
    expect(cacheRoot({ XDG_CACHE_HOME: "/x" })).toBe("/x/odigos-ts");
  });

  it("lets ODIGOS_K8S_CACHE_DIR override the binary cache", () => {
    expect(binaryCacheDir({ XDG_CACHE_HOME: "/x", ODIGOS_K8S_CACHE_DIR: "/y" })).toBe("/y");
  });

  it("falls back to ~/.cache", () => {
    expect(binaryCacheDir({})).toMatch(/\/\.cache\/odigos-ts\/k8s-binaries$/);
  });
});

describe("resolveKubebuilderAssets", () => {
  it("uses kube-apiserver and etcd, without a controller manager", () => {
    const dir = scratchDir();
    const apiserver = executable(dir, "kube-apiserver");
    const etcd = executable(dir, "etcd");
    expect(resolveKubebuilderAssets(dir)).toEqual({ apiserver, etcd });
  });

  it("includes kube-controller-manager when present", () => {
    const dir = scratchDir();
    executable(dir, "kube-apiserver");
    executable(dir, "etcd");
    const controllerManager = executable(dir, "kube-controller-manager");
    expect(resolveKubebuilderAssets(dir).controllerManager).toBe(controllerManager);
  });

  it("names the missing binary", () => {
    const dir = scratchDir();
    executable(dir, "kube-apiserver");
    expect(() => resolveKubebuilderAssets(dir)).toThrow(BinariesUnavailableError);
    expect(() => resolveKubebuilderAssets(dir)).toThrow(`${join(dir, "etcd")}`);
  });

  it("rejects files that are not executable", () => {
    const dir = scratchDir();
    executable(dir, "kube-apiserver");
    writeFileSync(join(dir, "etcd"), "");
    expect(() => resolveKubebuilderAssets(dir)).toThrow(/not executable/);
  });

  it("wins over the cache and Go in ensureBinaries", async () => {
    const dir = scratchDir();
    const apiserver = executable(dir, "kube-apiserver");
    const etcd = executable(dir, "etcd");
    await expect(ensureBinaries({ env: { KUBEBUILDER_ASSETS: dir, PATH: "" } })).resolves.toEqual({
      apiserver,
      etcd,
    });
  });
});

describe("without Go", () => {
  it("finds executables on PATH only", () => {
    const dir = scratchDir();
    const go = executable(dir, "go");
    expect(findOnPath("go", { PATH: `/nonexistent:${dir}` })).toBe(go);
    expect(findOnPath("go", { PATH: "/nonexistent" })).toBeUndefined();
  });

  it("fails at once, saying what to install or set", async () => {
    const env = { PATH: scratchDir(), XDG_CACHE_HOME: scratchDir() };
    const started = Date.now();
    const failure = ensureBinaries({ env, log: () => {} });
    await expect(failure).rejects.toThrow(BinariesUnavailableError);
    await expect(failure).rejects.toThrow(/Install Go >= 1\.26/);
    await expect(failure).rejects.toThrow(/KUBEBUILDER_ASSETS/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("names the versions and the cache folder in the message", () => {
    const message = missingToolchainMessage("/c/k", { kubernetes: "v1.36.3", etcd: "v3.6.8" });
    expect(message).toContain("/c/k");
    expect(message).toContain("kubernetes v1.36.3");
    expect(message).toContain("etcd v3.6.8");
    expect(message).toContain("setup-envtest");
  });
});

describe("building with Go", () => {
  /** A stand-in `go` that "builds" by writing three scripts into the -o folder and counts its runs. */
  function fakeGo(): { path: string; runs: () => number; env: Record<string, string> } {
    const bin = scratchDir();
    const countFile = join(scratchDir(), "runs");
    writeFileSync(countFile, "");
    writeFileSync(
      join(bin, "go"),
      [
        "#!/bin/sh",
        'echo run >> "$FAKE_GO_RUNS"',
        'out=$4; mkdir -p "$out"',
        'for name in kube-apiserver kube-controller-manager etcd; do printf "#!/bin/sh\\n" > "$out$name"; chmod +x "$out$name"; done',
        "",
      ].join("\n"),
    );
    chmodSync(join(bin, "go"), 0o755);
    return {
      path: bin,
      runs: () => readFileSync(countFile, "utf8").split("\n").filter(Boolean).length,
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_GO_RUNS: countFile },
    };
  }

  it("builds once into <cache>/<key>, even when asked twice at the same time, then reuses it", async () => {
    const go = fakeGo();
    const cache = scratchDir();
    const env = { ...go.env, ODIGOS_K8S_CACHE_DIR: cache };
    const [first, second] = await Promise.all([
      ensureBinaries({ env, log: () => {} }),
      ensureBinaries({ env, log: () => {} }),
    ]);
    const versions = readPinnedVersions(readFileSync(join(goBuildModuleDir, "go.mod"), "utf8"));
    const keyDir = join(cache, binaryCacheKey(versions));
    expect(first).toEqual({
      apiserver: join(keyDir, "kube-apiserver"),
      etcd: join(keyDir, "etcd"),
      controllerManager: join(keyDir, "kube-controller-manager"),
    });
    expect(second).toEqual(first);
    await ensureBinaries({ env, log: () => {} });
    expect(go.runs()).toBe(1);
    // Neither the lock nor the temporary build folder is left behind.
    expect(readdirSync(cache)).toEqual([binaryCacheKey(versions)]);
  });

  it("takes over a lock whose holder is dead", async () => {
    const go = fakeGo();
    const cache = scratchDir();
    const versions = readPinnedVersions(readFileSync(join(goBuildModuleDir, "go.mod"), "utf8"));
    // Pid 2^22 + 1 is above Linux's pid_max, so no process holds it.
    writeFileSync(join(cache, `${binaryCacheKey(versions)}.lock`), `${2 ** 22 + 1}\n`);
    await ensureBinaries({ env: { ...go.env, ODIGOS_K8S_CACHE_DIR: cache }, log: () => {} });
    expect(go.runs()).toBe(1);
  });
});
