import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { prune, walk } from "./files.mjs";
import { verifyBundle } from "./verify.mjs";

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const lib = "node_modules/.pnpm/@w+lib@file+packages+lib/node_modules/@w/lib";

/** A folder laid out as `pnpm deploy` lays out a bundle: an app, a workspace library, a registry package. */
const goodBundle: Record<string, string> = {
  "package.json": JSON.stringify({ name: "app", type: "module", bin: { app: "./dist/main.js" } }),
  "dist/main.js": [
    'import { a } from "dep";',
    'import "./lib.js";',
    'import { readFileSync } from "node:fs";',
    'import { b } from "@w/lib";',
    'export const later = () => import("dep/sub");',
    "console.log(import.meta.url, a, b, readFileSync);",
  ].join("\n"),
  "dist/lib.js": "export {};",
  "node_modules/dep/package.json": JSON.stringify({
    name: "dep",
    type: "module",
    exports: { ".": { import: "./index.js" }, "./sub": "./sub.js" },
  }),
  "node_modules/dep/index.js": "export const a = 1;",
  "node_modules/dep/sub.js": "export {};",
  [`${lib}/package.json`]: JSON.stringify({
    name: "@w/lib",
    type: "module",
    exports: { ".": { import: "./dist/index.js" } },
  }),
  [`${lib}/dist/index.js`]: 'export { b } from "./b.js";\nimport "node:path";',
  [`${lib}/dist/b.js`]: "export const b = 2;",
};

/** Writes `files` (and the link pnpm makes to the library) under a new temporary folder. */
const makeBundle = (files: Record<string, string | null>, under?: string): string => {
  const root = under ?? mkdtempSync(join(tmpdir(), "bundle-verify-"));
  if (under === undefined) temporary.push(root);
  const all = { ...goodBundle, ...files };
  for (const [path, content] of Object.entries(all)) {
    if (content === null) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  mkdirSync(join(root, "node_modules/@w"), { recursive: true });
  symlinkSync(`../${lib.slice("node_modules/".length)}`, join(root, "node_modules/@w/lib"));
  return root;
};

const verify = (dir: string) => verifyBundle(dir, { ownPackages: ["app", "@w/lib", "@w/other"] });

describe("verifyBundle", () => {
  it("accepts a bundle whose own imports all resolve inside it", async () => {
    const result = await verify(makeBundle({}));
    expect(result.problems).toEqual([]);
    expect(result.ownPackages).toEqual(["", lib]);
    expect(result.checkedFiles).toBe(4);
    // main.js: dep, ./lib.js, node:fs, @w/lib, dep/sub; index.js: ./b.js, node:path
    expect(result.checkedImports).toBe(7);
  });

  it("reports dev-only code and its import of a devDependency", async () => {
    const dir = makeBundle({
      "dist/dev/local.js": 'const { start } = await import("@odigos/control-plane");',
    });
    const { problems } = await verify(dir);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toBe("dist/dev/local.js: dev-only code (dist/dev)");
    expect(problems[1]).toMatch(
      /^dist\/dev\/local\.js: import "@odigos\/control-plane" does not resolve in the bundle \(ERR_MODULE_NOT_FOUND/,
    );
  });

  it("reports a relative import of a file the bundle does not hold", async () => {
    const dir = makeBundle({ "dist/lib.js": null });
    const { problems } = await verify(dir);
    expect(problems).toEqual([
      `dist/main.js: import "./lib.js" resolves to ${join(realpathSync(dir), "dist/lib.js")}, which does not exist`,
    ]);
  });

  it("reports a subpath the package does not export", async () => {
    const { problems } = await verify(
      makeBundle({ "dist/lib.js": 'import "dep/index.js";\nexport {};' }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^dist\/lib\.js: import "dep\/index\.js" does not resolve in the bundle \(ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
  });

  it("checks workspace libraries too, and only their files are held to the test-file rules", async () => {
    const dir = makeBundle({
      [`${lib}/dist/b.js`]: 'import "vitest";\nexport const b = 2;',
      [`${lib}/dist/b.test.js`]: "",
      [`${lib}/dist/test-support/fake.js`]: "",
      // A registry package's own tests and unresolvable optional imports are not ours.
      "node_modules/dep/index.test.js": 'import "nowhere";',
      "node_modules/dep/optional.js": 'import "nowhere";',
    });
    const { problems } = await verify(dir);
    const importer = join(realpathSync(dir), lib, "dist/b.js");
    expect(problems.sort()).toEqual(
      [
        `${lib}/dist/b.js: import "vitest" does not resolve in the bundle (ERR_MODULE_NOT_FOUND: Cannot find package 'vitest' imported from ${importer})`,
        `${lib}/dist/b.test.js: a test file`,
        `${lib}/dist/test-support/fake.js: test support code`,
      ].sort(),
    );
  });

  it("reports a dynamic import whose specifier is computed", async () => {
    const { problems } = await verify(
      makeBundle({ "dist/lib.js": 'const name = "dep";\nawait import(name);\nexport {};' }),
    );
    expect(problems).toEqual([
      "dist/lib.js: import(name) has a computed specifier, which cannot be checked; import a string literal",
    ]);
  });

  it("reports an import that only resolves outside the bundle (a workspace's node_modules)", async () => {
    const outer = mkdtempSync(join(tmpdir(), "bundle-verify-outer-"));
    temporary.push(outer);
    mkdirSync(join(outer, "node_modules/leak"), { recursive: true });
    writeFileSync(
      join(outer, "node_modules/leak/package.json"),
      JSON.stringify({ name: "leak", exports: "./index.js" }),
    );
    writeFileSync(join(outer, "node_modules/leak/index.js"), "");
    const dir = makeBundle({ "dist/lib.js": 'import "leak";\nexport {};' }, join(outer, "bundle"));
    const { problems } = await verify(dir);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^dist\/lib\.js: import "leak" resolves to \/.*\/node_modules\/leak\/index\.js, outside the bundle$/,
    );
  });

  it("reports type declarations, source maps and TypeScript sources anywhere", async () => {
    const { problems } = await verify(
      makeBundle({
        "dist/main.js.map": "{}",
        "node_modules/dep/index.d.ts": "",
        "node_modules/dep/src/index.ts": "",
      }),
    );
    expect(problems.sort()).toEqual(
      [
        "dist/main.js.map: a type declaration, source map or TypeScript source",
        "node_modules/dep/index.d.ts: a type declaration, source map or TypeScript source",
        "node_modules/dep/src/index.ts: a type declaration, source map or TypeScript source",
      ].sort(),
    );
  });

  it("reports a bin that is missing", async () => {
    const { problems } = await verify(
      makeBundle({
        "package.json": JSON.stringify({ name: "app", type: "module", bin: "./dist/start.js" }),
      }),
    );
    expect(problems).toEqual(["package.json: bin ./dist/start.js is missing"]);
  });
});

describe("prune", () => {
  it("removes declarations, maps and TypeScript sources, and the folders they leave empty", () => {
    const dir = makeBundle({
      "dist/main.d.ts": "",
      "dist/main.js.map": "{}",
      "dist/main.d.ts.map": "{}",
      "node_modules/dep/src/index.ts": "",
      "node_modules/dep/src/index.mts": "",
      "node_modules/dep/types/index.d.cts": "",
      "node_modules/dep/LICENSE": "MIT",
      "node_modules/dep/data.json": "{}",
    });
    const before = walk(dir).files.length;
    const removed = prune(dir);
    expect(removed.files).toBe(6);
    expect(walk(dir).files.length).toBe(before - 6);
    expect(existsSync(join(dir, "node_modules/dep/src"))).toBe(false);
    expect(existsSync(join(dir, "node_modules/dep/types"))).toBe(false);
    expect(existsSync(join(dir, "node_modules/dep/LICENSE"))).toBe(true);
    expect(existsSync(join(dir, "node_modules/dep/data.json"))).toBe(true);
    expect(existsSync(join(dir, "dist/main.js"))).toBe(true);
  });
});
