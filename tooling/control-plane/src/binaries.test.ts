import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BinariesUnavailableError,
  binaryCacheKey,
  ensureBinaries,
  findOnPath,
  givenCommand,
  hostGoPlatform,
  kubernetesBuildRecipe,
  kubernetesVersionLdflags,
  kwokCacheKey,
  missingForPods,
  missingKwokMessage,
  missingToolchainMessage,
  readKwokVersion,
  readPinnedVersions,
  resolveKubebuilderAssets,
} from "./binaries.js";
import { binaryCacheDir, cacheRoot, goBuildModuleDir, kwokBuildModuleDir } from "./layout.js";
import { executable, scratchDir } from "./test-support/scratch.js";

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

describe("readKwokVersion", () => {
  it("reads the kwok version the kwok-binary module pins", () => {
    expect(readKwokVersion(readFileSync(join(kwokBuildModuleDir, "go.mod"), "utf8"))).toBe(
      "v0.8.0",
    );
  });

  it("fails when kwok is not required", () => {
    expect(() => readKwokVersion("require k8s.io/kubernetes v1.2.3\n")).toThrow(
      /sigs\.k8s\.io\/kwok/,
    );
  });
});

describe("kubernetesVersionLdflags", () => {
  it("stamps the version into component-base and client-go, as Kubernetes' own build does", () => {
    const flags = kubernetesVersionLdflags("v1.36.3");
    for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
      expect(flags).toContain(`-X ${pkg}.gitVersion=v1.36.3`);
      expect(flags).toContain(`-X ${pkg}.gitMajor=1`);
      expect(flags).toContain(`-X ${pkg}.gitMinor=36`);
    }
  });

  it("rejects a version without major.minor.patch", () => {
    expect(() => kubernetesVersionLdflags("master")).toThrow(/master/);
  });
});

describe("binaryCacheKey", () => {
  const versions = { kubernetes: "v1.36.3", etcd: "v3.6.8" };

  it("names both versions and the Go platform, then a digest of the recipe", () => {
    expect(binaryCacheKey(versions, { goos: "linux", goarch: "amd64" })).toMatch(
      /^kubernetes-v1\.36\.3_etcd-v3\.6\.8_linux-amd64_[0-9a-f]{10}$/,
    );
  });

  it("changes with the set of commands or the flags, so an older build folder is not taken as complete", () => {
    const platform = { goos: "linux", goarch: "amd64" };
    const recipe = kubernetesBuildRecipe(versions);
    const base = binaryCacheKey(versions, platform, recipe);
    const fewer = { ...recipe, packages: recipe.packages.filter((p) => !p.endsWith("scheduler")) };
    expect(binaryCacheKey(versions, platform, fewer)).not.toBe(base);
    expect(binaryCacheKey(versions, platform, { ...recipe, ldflags: "-s -w" })).not.toBe(base);
    expect(binaryCacheKey(versions, platform, { ...recipe, env: {} })).not.toBe(base);
  });

  it("gives kwok a folder of its own", () => {
    expect(kwokCacheKey("v0.8.0", { goos: "linux", goarch: "amd64" })).toMatch(
      /^kwok-v0\.8\.0_linux-amd64_[0-9a-f]{10}$/,
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

  it("includes kube-controller-manager, kube-scheduler, kubectl and kwok when present", () => {
    const dir = scratchDir();
    executable(dir, "kube-apiserver");
    executable(dir, "etcd");
    const controllerManager = executable(dir, "kube-controller-manager");
    const scheduler = executable(dir, "kube-scheduler");
    const kubectl = executable(dir, "kubectl");
    const kwok = executable(dir, "kwok");
    expect(resolveKubebuilderAssets(dir)).toMatchObject({
      controllerManager,
      scheduler,
      kubectl,
      kwok,
    });
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

describe("what pods need", () => {
  it("names what KUBEBUILDER_ASSETS lacks for pods, at once, without building", async () => {
    const dir = scratchDir();
    executable(dir, "kube-apiserver");
    executable(dir, "etcd");
    executable(dir, "kube-controller-manager");
    const failure = ensureBinaries({ env: { KUBEBUILDER_ASSETS: dir, PATH: "" }, pods: true });
    await expect(failure).rejects.toThrow(BinariesUnavailableError);
    await expect(failure).rejects.toThrow(
      `pods: true needs kube-scheduler, which KUBEBUILDER_ASSETS=${dir} does not hold`,
    );
  });

  it("lists every missing executable", () => {
    expect(missingForPods({ apiserver: "/a", etcd: "/e" })).toEqual([
      "kube-controller-manager",
      "kube-scheduler",
      "kwok",
    ]);
    expect(
      missingForPods({
        apiserver: "/a",
        etcd: "/e",
        controllerManager: "/c",
        scheduler: "/s",
        kwok: "/k",
      }),
    ).toEqual([]);
  });

  it("takes kwok from ODIGOS_KWOK, then from KUBEBUILDER_ASSETS", async () => {
    const dir = scratchDir();
    for (const name of ["kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"])
      executable(dir, name);
    const inAssets = executable(dir, "kwok");
    const elsewhere = executable(scratchDir(), "kwok");
    const env = { KUBEBUILDER_ASSETS: dir, PATH: "" };
    expect((await ensureBinaries({ env, pods: true })).kwok).toBe(inAssets);
    expect(
      (await ensureBinaries({ env: { ...env, ODIGOS_KWOK: elsewhere }, pods: true })).kwok,
    ).toBe(elsewhere);
  });

  it("rejects an ODIGOS_KWOK that is not executable, naming it", async () => {
    const dir = scratchDir();
    for (const name of ["kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"])
      executable(dir, name);
    const env = { KUBEBUILDER_ASSETS: dir, PATH: "", ODIGOS_KWOK: join(dir, "nope") };
    await expect(ensureBinaries({ env, pods: true })).rejects.toThrow(
      `ODIGOS_KWOK=${join(dir, "nope")} is not an executable file`,
    );
  });

  it("says how to get kwok when it can be neither found nor built", async () => {
    const dir = scratchDir();
    for (const name of ["kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler"])
      executable(dir, name);
    const env = { KUBEBUILDER_ASSETS: dir, PATH: "", ODIGOS_K8S_CACHE_DIR: scratchDir() };
    const failure = ensureBinaries({ env, pods: true, log: () => {} });
    await expect(failure).rejects.toThrow(/ODIGOS_KWOK/);
    await expect(failure).rejects.toThrow(/Install Go >= 1\.26/);
    expect(missingKwokMessage("/c/kwok", "v0.8.0")).toContain("kwok v0.8.0");
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
  /**
   * A stand-in `go` that "builds" by writing a script for each package after `-o <dir>/`, counts
   * its runs, and records its arguments and CGO_ENABLED.
   */
  function fakeGo(): {
    path: string;
    runs: () => number;
    calls: () => string[];
    env: Record<string, string>;
  } {
    const bin = scratchDir();
    const logFile = join(scratchDir(), "runs");
    writeFileSync(logFile, "");
    writeFileSync(
      join(bin, "go"),
      [
        "#!/bin/sh",
        'echo "CGO_ENABLED=$CGO_ENABLED $*" >> "$FAKE_GO_RUNS"',
        'while [ "$1" != "-o" ]; do shift; done',
        'out=$2; shift 2; mkdir -p "$out"',
        'for pkg in "$@"; do name=$(basename "$pkg"); printf "#!/bin/sh\\n" > "$out$name"; chmod +x "$out$name"; done',
        "",
      ].join("\n"),
    );
    chmodSync(join(bin, "go"), 0o755);
    const calls = () => readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    return {
      path: bin,
      runs: () => calls().length,
      calls,
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_GO_RUNS: logFile },
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
      scheduler: join(keyDir, "kube-scheduler"),
      kubectl: join(keyDir, "kubectl"),
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

  it("builds static binaries with the Kubernetes version stamped in", async () => {
    const go = fakeGo();
    await ensureBinaries({ env: { ...go.env, ODIGOS_K8S_CACHE_DIR: scratchDir() }, log: () => {} });
    const [call] = go.calls();
    expect(call).toMatch(/^CGO_ENABLED=0 build -trimpath -ldflags /);
    expect(call).toContain("-X k8s.io/component-base/version.gitVersion=v1.36.3");
    expect(call).toContain("k8s.io/kubernetes/cmd/kube-scheduler");
  });

  it("builds kwok into a folder of its own, only when pods are asked for", async () => {
    const go = fakeGo();
    const cache = scratchDir();
    const env = { ...go.env, ODIGOS_K8S_CACHE_DIR: cache };
    expect((await ensureBinaries({ env, log: () => {} })).kwok).toBeUndefined();
    expect(go.runs()).toBe(1);
    const binaries = await ensureBinaries({ env, log: () => {}, pods: true });
    expect(binaries.kwok).toBe(join(cache, kwokCacheKey("v0.8.0"), "kwok"));
    expect(go.calls()[1]).toMatch(/CGO_ENABLED=0 build .* sigs\.k8s\.io\/kwok\/cmd\/kwok$/);
    await ensureBinaries({ env, log: () => {}, pods: true });
    expect(go.runs()).toBe(2);
  });
});

describe("givenCommand", () => {
  it("takes the variable first, then KUBEBUILDER_ASSETS, else leaves it to the build", () => {
    const named = executable(scratchDir(), "tool");
    const assets = scratchDir();
    const inAssets = executable(assets, "tool");
    expect(givenCommand({ TOOL: named, KUBEBUILDER_ASSETS: assets }, "TOOL", "tool")).toBe(named);
    expect(givenCommand({ KUBEBUILDER_ASSETS: assets }, "TOOL", "tool")).toBe(inAssets);
    expect(givenCommand({ KUBEBUILDER_ASSETS: scratchDir() }, "TOOL", "tool")).toBeUndefined();
    expect(givenCommand({}, "TOOL", "tool")).toBeUndefined();
  });

  it("names a file that is there but not executable, in the variable or the assets", () => {
    const assets = scratchDir();
    writeFileSync(join(assets, "tool"), "");
    expect(() => givenCommand({ TOOL: join(assets, "tool") }, "TOOL", "tool")).toThrow(
      `TOOL=${join(assets, "tool")} is not an executable file`,
    );
    expect(() => givenCommand({ KUBEBUILDER_ASSETS: assets }, "TOOL", "tool")).toThrow(
      `KUBEBUILDER_ASSETS=${assets} holds a tool that is not executable`,
    );
  });
});
