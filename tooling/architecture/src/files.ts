/** The repository's own source files, found by walking the tree (no git needed). */
import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

const skipped = new Set(["node_modules", "dist", ".turbo", "fixtures", "fixture"]);
const sourceExtensions = /\.(ts|mts|mjs|js)$/;

/** A test file (unit, e2e, image test) or test support: outside the bounds on shape. */
export const isTestFile = (path: string): boolean =>
  /\.(test|e2e\.test|image-test)\.ts$/.test(path) || /(^|\/)test-support\//.test(path);

/** Source files under `dir` (relative to the repository), `.d.ts` excluded. */
export const sourceFiles = (dir: string, root = repoRoot): ReadonlyArray<string> => {
  const found: Array<string> = [];
  const walk = (absolute: string) => {
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      if (skipped.has(entry.name) || entry.name.startsWith(".")) continue;
      const path = join(absolute, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (sourceExtensions.test(entry.name) && !entry.name.endsWith(".d.ts"))
        found.push(relative(root, path));
    }
  };
  walk(join(root, dir));
  return found.sort();
};
