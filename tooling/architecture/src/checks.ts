/** The repository's bounds on shape, as data the test and the report share. */
import { isTestFile, sourceFiles } from "./files.ts";

/** The longest function allowed per area (ARCHITECTURE.md; issue 33). */
export const lengthBounds: ReadonlyArray<{ readonly area: string; readonly limit: number }> = [
  { area: "apps", limit: 80 },
  { area: "packages", limit: 80 },
  { area: "tooling", limit: 100 },
];

/** The non-test source files of an area. */
export const shippedFiles = (area: string): ReadonlyArray<string> =>
  sourceFiles(area).filter((file) => !isTestFile(file));

/** Workspace package directories (`apps/x`, `packages/x`, `tooling/x`, `test-e2e`). */
export const packageDirs = (): ReadonlyArray<string> => {
  const dirs = new Set<string>();
  for (const file of [
    ...sourceFiles("apps"),
    ...sourceFiles("packages"),
    ...sourceFiles("tooling"),
    ...sourceFiles("test-e2e"),
  ]) {
    const parts = file.split("/");
    dirs.add(parts[0] === "test-e2e" ? "test-e2e" : `${parts[0]}/${parts[1]}`);
  }
  return [...dirs].sort();
};

export const instrumentorSrc = "apps/instrumentor/src";
