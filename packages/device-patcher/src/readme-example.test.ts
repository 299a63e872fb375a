/**
 * Keeps the README honest: its example is `test-support/readme-example.ts`
 * verbatim (with the package import), it runs, and it prints what its comments say.
 */
import { readFileSync } from "node:fs";
import { format } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";

const exampleUrl = new URL("./test-support/readme-example.ts", import.meta.url);
const readmeUrl = new URL("../README.md", import.meta.url);

const exampleSource = readFileSync(exampleUrl, "utf8");
/** The example as the README shows it: importing the package by name. */
const asPublished = exampleSource.replace('from "../index.js"', 'from "@odigos/device-patcher"');

/** What each `console.log(...); // comment` line says it prints, in order. */
const promised = exampleSource
  .split("\n")
  .flatMap((line) => /console\.log\(.*\); \/\/ (.*)$/.exec(line)?.slice(1) ?? []);

describe("README example", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is the README's first TypeScript block, verbatim", () => {
    const readme = readFileSync(readmeUrl, "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(asPublished);
  });

  // A cold dynamic import of the example can take seconds on a loaded machine.
  it("runs and prints what its comments say", async () => {
    const printed: Array<string> = [];
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
      printed.push(format(...args));
    });
    await import("./test-support/readme-example.js");
    expect(printed).toHaveLength(8);
    expect(printed).toEqual(promised);
  }, 30_000);
});
