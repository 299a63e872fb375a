import { mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { batchedDestination, logBatch, makeLogger } from "./log.js";

const linesIn = (path: string) =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as { msg: string; workload?: string });

/** Polls until `check` holds (evidence, not a sleep); fails after 10 s. */
const eventually = async (check: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("not seen within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("the batched log destination", () => {
  it("holds a few lines back for one write, then writes them in order without another line", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "log-")), "out.jsonl");
    const fd = openSync(path, "w");
    const destination = batchedDestination(fd);
    const log = makeLogger("info", destination);
    log.info({ workload: "a" }, "first");
    log.info({ workload: "b" }, "second");
    // Less than a batch: held back. The wait cannot end early, so on any machine the file stays
    // empty for a good part of it (a write per line would be there within milliseconds).
    const heldUntil = Date.now() + logBatch.waitMs / 2;
    while (Date.now() < heldUntil) {
      expect(linesIn(path)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // The periodic flush writes them although nothing more is logged.
    await eventually(() => linesIn(path).length === 2);
    expect(linesIn(path).map((line) => line.workload)).toEqual(["a", "b"]);
    destination.flushSync();
    destination.destroy(); // closes fd
  });

  it("writes once a batch's worth of lines waits, and flushSync (as at exit) writes the rest", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "log-")), "out.jsonl");
    const fd = openSync(path, "w");
    const destination = batchedDestination(fd);
    const log = makeLogger("info", destination);
    const padding = "x".repeat(200);
    const count = Math.ceil(logBatch.bytes / padding.length) + 5;
    for (let i = 0; i < count; i += 1) log.info({ workload: `w${i}`, padding }, "instrumented");
    await eventually(() => linesIn(path).length > 0);
    destination.flushSync();
    expect(linesIn(path).map((line) => line.workload)).toEqual(
      Array.from({ length: count }, (_, i) => `w${i}`),
    );
    destination.destroy(); // closes fd
  });
});
