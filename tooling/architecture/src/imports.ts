/** What a module imports, read with TypeScript's own pre-processor (type-only imports count). */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";
import { repoRoot } from "./files.ts";

/** Every specifier a file imports or re-exports, static or dynamic. */
export const specifiersOf = (text: string): ReadonlyArray<string> =>
  ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);

/** `./x.js` written in TypeScript source means `./x.ts`. */
const resolveRelative = (from: string, specifier: string, root: string): string | undefined => {
  const base = normalize(join(dirname(from), specifier));
  const candidates = [
    base,
    base.replace(/\.js$/, ".ts"),
    base.replace(/\.mjs$/, ".mts"),
    `${base}.ts`,
    join(base, "index.ts"),
  ];
  return candidates.find((candidate) => existsSync(join(root, candidate)));
};

/** The repository files `file` imports by a relative path (paths relative to `root`). */
export const relativeImports = (file: string, root = repoRoot): ReadonlyArray<string> =>
  specifiersOf(readFileSync(join(root, file), "utf8"))
    .filter((specifier) => specifier.startsWith("."))
    .flatMap((specifier) => resolveRelative(file, specifier, root) ?? []);

/** The packages `file` imports by name (`@odigos/crd-types`, `node:fs`, `effect/Effect`, ...). */
export const packageImports = (file: string, root = repoRoot): ReadonlyArray<string> =>
  specifiersOf(readFileSync(join(root, file), "utf8")).filter(
    (specifier) => !specifier.startsWith("."),
  );

export const relativeTo = (root: string, path: string) => relative(root, path);
