/**
 * Prints the figures the checks bound: the longest function per area, the import graph of the
 * instrumentor's rooms, cycles. `pnpm --filter @odigos/architecture report`.
 */
import { instrumentorSrc, lengthBounds, packageDirs, shippedFiles } from "./checks.ts";
import { importCycles } from "./cycles.ts";
import { isTestFile, sourceFiles } from "./files.ts";
import { longestFunction } from "./function-length.ts";
import { relativeImports } from "./imports.ts";
import { layeringViolations, roomOf } from "./rooms.ts";

const lines: Array<string> = ["## Longest function per area (tests excluded)", ""];
for (const { area, limit } of lengthBounds) {
  const longest = longestFunction(shippedFiles(area));
  const where = longest === undefined ? "none" : `${longest.file}:${longest.line} ${longest.name}`;
  lines.push(`- ${area}/: ${longest?.lines ?? 0} lines (bound ${limit}): ${where}`);
}
lines.push("", "## Imports between the instrumentor's rooms (tests excluded)", "");
const edges = new Map<string, number>();
const files = sourceFiles(instrumentorSrc);
for (const file of files.filter((one) => !isTestFile(one))) {
  const from = roomOf(file.slice(instrumentorSrc.length + 1))?.name ?? "?";
  for (const target of relativeImports(file)) {
    const to = roomOf(target.slice(instrumentorSrc.length + 1))?.name ?? "?";
    if (to !== from) edges.set(`${from} -> ${to}`, (edges.get(`${from} -> ${to}`) ?? 0) + 1);
  }
}
for (const [edge, count] of [...edges].sort()) lines.push(`- ${edge} (${count})`);
const violations = layeringViolations(instrumentorSrc, files);
lines.push("", `Violations: ${violations.length}`);
for (const violation of violations)
  lines.push(`- ${violation.file} imports ${violation.imports}: ${violation.why}`);
const cycles = packageDirs().flatMap((dir) =>
  importCycles(new Map(sourceFiles(dir).map((file) => [file, relativeImports(file)] as const))),
);
lines.push("", `Import cycles in any package: ${cycles.length}`);
for (const cycle of cycles) lines.push(`- ${cycle.join(" <-> ")}`);
process.stdout.write(`${lines.join("\n")}\n`);
