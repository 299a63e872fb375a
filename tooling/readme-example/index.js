// Keeps a package README honest: its first TypeScript block is the example file verbatim (importing
// the package by name), the example runs, and each `console.log(...); // comment` line prints what
// its comment says. Plain JavaScript with a declaration file, so tests need no build of it.
import { readFileSync } from "node:fs";
import { format } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";

/** @param {import("./index.js").ReadmeExampleOptions} options */
export const describeReadmeExample = (options) => {
  const exampleSource = readFileSync(options.exampleUrl, "utf8");
  // `../index.js` is the package itself; `../<entry>/index.js` one of its subpath exports.
  const asPublished = exampleSource
    .replace('from "../index.js"', `from "${options.packageName}"`)
    .replace(/from "\.\.\/([a-z-]+)\/index\.js"/g, `from "${options.packageName}/$1"`);
  const promised = exampleSource
    .split("\n")
    .flatMap((line) => /console\.log\(.*\); \/\/ (.*)$/.exec(line)?.slice(1) ?? []);

  describe("README example", () => {
    afterEach(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    it("is the README's first TypeScript block, verbatim", () => {
      const readme = readFileSync(options.readmeUrl, "utf8");
      expect(/```ts\n([\s\S]*?)```/.exec(readme)?.[1]).toBe(asPublished);
    });

    // A cold dynamic import of the example can take seconds on a loaded machine.
    it("runs and prints what its comments say", async () => {
      for (const name of options.unsetEnv ?? []) vi.stubEnv(name, undefined);
      /** @type {string[]} */
      const printed = [];
      vi.spyOn(console, "log").mockImplementation((...args) => {
        printed.push(format(...args));
      });
      await options.runExample();
      expect(promised.length).toBeGreaterThan(0);
      expect(printed).toEqual(promised);
    }, 30_000);
  });
};
