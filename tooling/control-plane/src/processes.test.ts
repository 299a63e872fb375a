import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const dist = new URL("../dist/processes.js", import.meta.url).href;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("a supervised process", () => {
  it("that outlives SIGTERM is killed, and Node waits for it before going on after stop()", () => {
    const dir = mkdtempSync(join(tmpdir(), "odigos-processes-test-"));
    dirs.push(dir);
    // Nothing else keeps this Node process running while stop() waits: only the child may.
    const script = `
      import { spawnSupervised } from ${JSON.stringify(dist)};
      const stubborn = await spawnSupervised({
        name: "stubborn",
        command: "/bin/sh",
        args: ["-c", "trap '' TERM; while :; do sleep 1; done"],
        logFile: ${JSON.stringify(join(dir, "log"))},
        pidFile: ${JSON.stringify(join(dir, "pid"))},
      });
      await stubborn.stop(300);
      console.log("after stop, exited:", stubborn.hasExited());
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(out).toContain("after stop, exited: true");
  });
});
