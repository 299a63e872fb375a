import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deniedFile, verifyBundle } from "./verify.mjs";

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A folder laid out as tooling/bundle lays out a bundle: an entry that prints its usage for
 * `--help` and otherwise loads a chunk; chunks that import each other and Node built-ins.
 */
const goodBundle: Record<string, string> = {
  "package.json": JSON.stringify({
    name: "app",
    version: "1.0.0",
    type: "module",
    bin: { app: "./main.mjs" },
  }),
  LICENSE: "Apache-2.0",
  "THIRD-PARTY-NOTICES": "dep@1.0.0 (MIT)",
  "main.mjs": [
    "#!/usr/bin/env node",
    "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);",
    'import { shared } from "./chunks/shared.mjs";',
    'import { readFileSync } from "node:fs";',
    'if (process.argv.includes("--help")) console.log("Usage: app [flags]");',
    'else await import("./chunks/later.mjs");',
    "void shared, readFileSync, require;",
  ].join("\n"),
  "chunks/shared.mjs": 'import "fs/promises";\nexport const shared = 1;',
  "chunks/later.mjs": 'import { shared } from "./shared.mjs";\nexport default shared;',
};

/** Writes `files` over the good bundle (null deletes one) under a new temporary folder. */
const makeBundle = (files: Record<string, string | null>, under?: string): string => {
  const root = under ?? mkdtempSync(join(tmpdir(), "bundle-verify-"));
  if (under === undefined) temporary.push(root);
  for (const [path, content] of Object.entries({ ...goodBundle, ...files })) {
    if (content === null) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
};

/** A chunk only the non-help path loads, with `source` (so `--help` still works). */
const lateChunk = (source: string) => ({ "chunks/later.mjs": source });

describe("verifyBundle", () => {
  it("accepts a bundle whose imports are all Node built-ins or its own files, and whose bin prints the usage", async () => {
    const result = await verifyBundle(makeBundle({}));
    expect(result.problems).toEqual([]);
    expect(result.bins).toEqual(["main.mjs"]);
    expect(result.checkedFiles).toBe(3);
    // main: module, ./chunks/shared.mjs, node:fs, ./chunks/later.mjs; shared: fs/promises; later: ./shared.mjs
    expect(result.checkedImports).toBe(6);
  });

  it("reports a package specifier, static or dynamic: it would need node_modules", async () => {
    const { problems } = await verifyBundle(
      makeBundle(
        lateChunk('import { a } from "effect/Effect";\nexport default await import("@scope/pkg");'),
      ),
    );
    expect(problems).toEqual([
      'chunks/later.mjs: import "effect/Effect" is a package (or other non-file specifier): the bundle would need node_modules',
      'chunks/later.mjs: import "@scope/pkg" is a package (or other non-file specifier): the bundle would need node_modules',
    ]);
  });

  it("reports a package specifier even when a node_modules above the bundle would resolve it", async () => {
    const outer = mkdtempSync(join(tmpdir(), "bundle-verify-outer-"));
    temporary.push(outer);
    mkdirSync(join(outer, "node_modules/leak"), { recursive: true });
    writeFileSync(
      join(outer, "node_modules/leak/package.json"),
      JSON.stringify({ name: "leak", exports: "./index.js" }),
    );
    writeFileSync(join(outer, "node_modules/leak/index.js"), "");
    const dir = makeBundle(lateChunk('import "leak";'), join(outer, "bundle"));
    const { problems } = await verifyBundle(dir);
    expect(problems).toEqual([
      'chunks/later.mjs: import "leak" is a package (or other non-file specifier): the bundle would need node_modules',
    ]);
  });

  it("reports a relative import of a file the bundle does not hold, and one that leaves the bundle", async () => {
    const outer = mkdtempSync(join(tmpdir(), "bundle-verify-outer-"));
    temporary.push(outer);
    writeFileSync(join(outer, "outside.mjs"), "export {};");
    const dir = makeBundle(
      lateChunk('import "./gone.mjs";\nimport "../../outside.mjs";\nexport default 1;'),
      join(outer, "bundle"),
    );
    const { problems } = await verifyBundle(dir);
    expect(problems).toEqual([
      'chunks/later.mjs: import "./gone.mjs" resolves to chunks/gone.mjs, which does not exist',
      `chunks/later.mjs: import "../../outside.mjs" resolves to ${join(realpathSync(outer), "outside.mjs")}, outside the bundle`,
    ]);
  });

  it("reports a dynamic import whose specifier is computed", async () => {
    const { problems } = await verifyBundle(
      makeBundle(lateChunk('const name = "./shared.mjs";\nexport default await import(name);')),
    );
    expect(problems).toEqual([
      "chunks/later.mjs: import(name) has a computed specifier, which cannot be checked; import a string literal",
    ]);
  });

  it("reports a module that does not parse", async () => {
    const { problems } = await verifyBundle(makeBundle(lateChunk("export default }}}")));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^chunks\/later\.mjs: cannot be parsed as a module: /);
  });

  it("reports declarations, source maps, TypeScript sources, test code, node_modules and anything else", async () => {
    const { problems } = await verifyBundle(
      makeBundle({
        "main.d.mts": "",
        "main.mjs.map": "{}",
        "src/main.ts": "",
        "tsconfig.tsbuildinfo": "",
        "chunks/main.test.mjs": "",
        "test-support/fake.mjs": "",
        "node_modules/dep/index.js": "",
        "dist/main.js": "",
        "README.md": "",
      }),
    );
    expect(problems.sort()).toEqual(
      [
        "main.d.mts: a type declaration",
        "main.mjs.map: a source map",
        "src/main.ts: a TypeScript source",
        "tsconfig.tsbuildinfo: TypeScript build info",
        "chunks/main.test.mjs: test code",
        "test-support/fake.mjs: test code",
        "node_modules/dep/index.js: a file of node_modules: the bundle must need no installed package",
        "dist/main.js: not part of a bundle (only .mjs modules and package.json, LICENSE, THIRD-PARTY-NOTICES at the top are)",
        "README.md: not part of a bundle (only .mjs modules and package.json, LICENSE, THIRD-PARTY-NOTICES at the top are)",
      ].sort(),
    );
  });

  it("reports a symbolic link", async () => {
    const dir = makeBundle({});
    symlinkSync("main.mjs", join(dir, "link.mjs"));
    const { problems } = await verifyBundle(dir);
    expect(problems).toEqual(["link.mjs: a symbolic link (a bundle holds regular files only)"]);
  });

  it("reports a missing bin, and a package.json without one or without a name", async () => {
    expect(
      (
        await verifyBundle(
          makeBundle({ "package.json": JSON.stringify({ name: "app", bin: "./start.mjs" }) }),
        )
      ).problems,
    ).toEqual(["package.json: bin start.mjs is missing"]);
    expect(
      (await verifyBundle(makeBundle({ "package.json": JSON.stringify({ type: "module" }) })))
        .problems,
    ).toEqual(["package.json: no name", "package.json: no bin"]);
    const { problems } = await verifyBundle(makeBundle({ "package.json": null }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^package\.json: missing or not JSON \(Error: ENOENT/);
  });

  it("reports a bin whose --help fails or prints no usage", async () => {
    const failing = await verifyBundle(
      makeBundle({ "main.mjs": 'import "./chunks/later.mjs";\nthrow new Error("boom");' }),
    );
    expect(failing.problems).toHaveLength(1);
    expect(failing.problems[0]).toMatch(/^main\.mjs: node main\.mjs --help exited with 1: .*boom/);

    const silent = await verifyBundle(makeBundle({ "main.mjs": 'console.log("hello");' }));
    expect(silent.problems).toEqual([
      "main.mjs: node main.mjs --help printed no usage (/^Usage: /m): hello",
    ]);
  });

  it("runs --help without the caller's environment (NODE_OPTIONS, NODE_PATH)", async () => {
    const dir = makeBundle({
      "main.mjs": 'console.log("Usage: " + (Object.keys(process.env).join(",") || "none"));',
    });
    const { problems } = await verifyBundle(dir, { usage: /^Usage: none$/m });
    expect(problems).toEqual([]);
  });
});

describe("deniedFile", () => {
  it("allows .mjs modules and the three metadata files at the top only", () => {
    expect(deniedFile("instrumentor.mjs")).toBeUndefined();
    expect(deniedFile("chunks/dist-ABC.mjs")).toBeUndefined();
    expect(deniedFile("package.json")).toBeUndefined();
    expect(deniedFile("LICENSE")).toBeUndefined();
    expect(deniedFile("THIRD-PARTY-NOTICES")).toBeUndefined();
    expect(deniedFile("chunks/package.json")).toMatch(/^not part of a bundle/);
    expect(deniedFile("main.cjs")).toMatch(/^not part of a bundle/);
  });
});
