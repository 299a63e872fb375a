import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("./ensure-node.sh", import.meta.url));
const pinned = readFileSync(new URL("../../../.node-version", import.meta.url), "utf8").trim();
const platform = process.arch === "arm64" ? "linux-arm64" : "linux-x64";

/** A scratch directory with a `bin/` of fake commands, each a shell script. */
function scratch(commands: Record<string, string>): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), "ensure-node-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return { dir, bin };
}

/** Runs the script with only `bin`, the system directories and the given environment. */
function run(bin: string, env: Record<string, string> = {}, args: string[] = []) {
  const result = spawnSync("bash", [script, ...args], {
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dirname(bin), ...env },
  });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

describe("ensure-node.sh", () => {
  it("prints the directory of the node on PATH when it is the pinned version, fetching nothing", () => {
    const { dir, bin } = scratch({
      node: `echo v${pinned}`,
      npm: "echo npm must not run >&2; exit 9",
    });
    const result = run(bin, { XDG_CACHE_HOME: join(dir, "cache") });
    expect(result).toMatchObject({ status: 0, stdout: bin });
    expect(existsSync(join(dir, "cache"))).toBe(false);
  });

  it("uses the cached copy when PATH's node is another version", () => {
    const { dir, bin } = scratch({ node: "echo v20.20.2", npm: "exit 9" });
    const cached = join(dir, "cache", "odigos-ts", "node", `v${pinned}-${platform}`, "bin");
    mkdirSync(cached, { recursive: true });
    writeFileSync(join(cached, "node"), `#!/bin/sh\necho v${pinned}\n`);
    chmodSync(join(cached, "node"), 0o755);
    expect(run(bin, { XDG_CACHE_HOME: join(dir, "cache") })).toMatchObject({
      status: 0,
      stdout: cached,
    });
  });

  it("with --official, never takes PATH's node", () => {
    const { dir, bin } = scratch({ node: `echo v${pinned}`, npm: "exit 9" });
    const result = run(bin, { XDG_CACHE_HOME: join(dir, "cache") }, ["--official"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`npm pack node-${platform}@${pinned} failed`);
  });

  it("refuses a fetched tarball whose integrity is not the pinned one, and caches nothing", () => {
    // A stand-in for `npm pack`: writes a tarball of the right name holding the wrong bytes.
    const { dir, bin } = scratch({
      node: "echo v20.20.2",
      npm: `[ "$1" = pack ] || exit 9\necho not node >"node-${platform}-${pinned}.tgz"`,
    });
    const cache = join(dir, "cache");
    const result = run(bin, { XDG_CACHE_HOME: cache });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`node-${platform}@${pinned}'s tarball is sha512-\\S+, not the pinned sha512-`),
    );
    expect(existsSync(join(cache, "odigos-ts", "node", `v${pinned}-${platform}`))).toBe(false);
  });

  it("names ODIGOS_NODE when it is not the pinned version", () => {
    const { bin } = scratch({ other: "echo v22.1.0" });
    const result = run(bin, { ODIGOS_NODE: join(bin, "other") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `ODIGOS_NODE=${join(bin, "other")} is Node v22.1.0, not the pinned v${pinned}`,
    );
  });

  it("takes ODIGOS_NODE when it is the pinned version", () => {
    const { bin } = scratch({ mine: `echo v${pinned}` });
    expect(run(bin, { ODIGOS_NODE: join(bin, "mine") })).toMatchObject({ status: 0, stdout: bin });
  });
});
