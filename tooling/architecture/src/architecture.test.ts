/**
 * The shape of the repository, checked on every test run: each check is also run against a
 * small tree that breaks it, so that it is seen able to fail.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { instrumentorSrc, lengthBounds, packageDirs, shippedFiles } from "./checks.ts";
import { importCycles } from "./cycles.ts";
import { sourceFiles } from "./files.ts";
import { functionSpans, longFunctions } from "./function-length.ts";
import { relativeImports } from "./imports.ts";
import {
  libraryDependencyProblems,
  libraryRanks,
  manifestOf,
  toolingDependencies,
  unitTestConfigProblems,
} from "./packages.ts";
import { instrumentorRooms, layeringViolations } from "./rooms.ts";

const scratch = mkdtempSync(join(tmpdir(), "architecture-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `files` under a fresh directory; its path. */
const tree = (name: string, files: Readonly<Record<string, string>>): string => {
  const root = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
};

const graphOf = (files: ReadonlyArray<string>, root?: string) =>
  new Map(files.map((file) => [file, relativeImports(file, root)] as const));

describe("the instrumentor's rooms import only downwards", () => {
  it("holds for apps/instrumentor/src", () => {
    const files = sourceFiles(instrumentorSrc);
    expect(files.length).toBeGreaterThan(20);
    expect(layeringViolations(instrumentorSrc, files)).toEqual([]);
  });

  it("catches a cache that drives the queue, and an import between peers", () => {
    const root = tree("rooms", {
      "src/cache/state.ts": 'import { add } from "../controller/queue.js";\n',
      "src/controller/queue.ts": "export const add = 1;\n",
      "src/leader/lease.ts": 'import "../cache/state.js";\n',
      "src/rollouts/budget.ts": 'import type { X } from "../cache/state.js";\n',
    });
    const files = sourceFiles("src", root);
    const found = layeringViolations("src", files, instrumentorRooms, root);
    expect(found.map((violation) => violation.why)).toEqual([
      "cache -> controller runs upwards",
      "leader -> cache runs sideways",
    ]);
  });
});

describe("no import cycles", () => {
  it("holds in every package", () => {
    const cycles = packageDirs().flatMap((dir) => importCycles(graphOf(sourceFiles(dir))));
    expect(cycles).toEqual([]);
  });

  it("catches a cycle of type imports", () => {
    const root = tree("cycle", {
      "a.ts": 'import type { B } from "./b.ts";\nexport type A = B;\n',
      "b.ts": 'import type { A } from "./a.ts";\nexport type B = A;\n',
      "c.ts": 'import type { A } from "./a.ts";\n',
    });
    expect(importCycles(graphOf(["a.ts", "b.ts", "c.ts"], root))).toEqual([["a.ts", "b.ts"]]);
  });
});

describe("functions are short enough to read", () => {
  for (const { area, limit } of lengthBounds)
    it(`none in ${area}/ is longer than ${limit} lines (tests excluded)`, () => {
      const long = longFunctions(shippedFiles(area), limit).map(
        (span) => `${span.file}:${span.line} ${span.name} (${span.lines} lines)`,
      );
      expect(long).toEqual([]);
    });

  it("counts nested functions in the one that holds them", () => {
    const text = [
      "export const make = () => ({",
      "  a: () => 1,",
      "  b() {",
      "    return 2;",
      "  },",
      "});",
    ].join("\n");
    const spans = functionSpans("x.ts", text);
    expect(spans.map((span) => [span.name, span.lines])).toEqual([
      ["make", 6],
      ["a", 1],
      ["b", 3],
    ]);
  });
});

describe("packages depend only downwards", () => {
  it("libraries depend only on lower libraries and on no Kubernetes client library", () => {
    for (const name of Object.keys(libraryRanks)) {
      const dir = `packages/${name.replace("@odigos/", "")}`;
      expect(libraryDependencyProblems(manifestOf(dir))).toEqual([]);
    }
  });

  it("the product depends on no tooling but its compiler, bundler and test settings", () => {
    // All are build- or test-time tools: tsconfig for tsc, @odigos/bundle's bundleApp (esbuild)
    // for the bundle each app's build ends with (its scripts/bundle.mjs), and vitest-config for
    // vitest. What ships is their output; no module of theirs is imported at run time.
    const buildTools = ["@odigos/tsconfig", "@odigos/bundle", "@odigos/vitest-config"];
    const tooling = packageDirs()
      .filter((dir) => dir.startsWith("tooling/"))
      .map((dir) => manifestOf(dir).name)
      .filter((name) => !buildTools.includes(name));
    expect(tooling).toContain("@odigos/control-plane");
    for (const app of ["apps/instrumentor", "apps/kubectl-plugin"])
      expect({ app, tooling: toolingDependencies(manifestOf(app), tooling) }).toEqual({
        app,
        tooling: [],
      });
  });

  it("catches a library that depends on one beside it, or on the client library", () => {
    expect(
      libraryDependencyProblems({
        name: "@odigos/cleanup",
        dependencies: { "@odigos/device-patcher": "workspace:^", "@kubernetes/client-node": "2" },
      }),
    ).toEqual([
      "@odigos/cleanup depends on @odigos/device-patcher, not below it",
      "@odigos/cleanup depends on @kubernetes/client-node: libraries never do",
    ]);
  });
});

describe("unit tests run on the shared vitest settings", () => {
  it("holds for every package but the end-to-end suite, which has its own", () => {
    const dirs = packageDirs().filter((dir) => dir !== "test-e2e");
    expect(dirs).toContain("packages/instrumentation-rules");
    expect(dirs.flatMap((dir) => unitTestConfigProblems(dir))).toEqual([]);
  });

  it("catches a package on vitest's defaults, and a config of its own", () => {
    const manifest = (name: string, devDependencies = {}) =>
      JSON.stringify({ name, scripts: { test: "vitest run" }, devDependencies });
    const root = tree("vitest-config", {
      "a/package.json": manifest("a"),
      "b/package.json": manifest("b", { "@odigos/vitest-config": "workspace:*" }),
      "b/vitest.config.ts": 'import { defineConfig } from "vitest/config";\n',
      "c/package.json": JSON.stringify({ name: "c", scripts: { test: "node check.mjs" } }),
    });
    expect(["a", "b", "c"].flatMap((dir) => unitTestConfigProblems(dir, root))).toEqual([
      "a runs vitest without a vitest.config.ts",
      "b/vitest.config.ts does not build on @odigos/vitest-config",
    ]);
  });
});
