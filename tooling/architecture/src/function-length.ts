/**
 * How long each function is, in lines from its first to its last: nested functions count in
 * the one that holds them (a factory returning an object of methods is as long as all of them).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { repoRoot } from "./files.ts";

export interface FunctionSpan {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

const nameOf = (node: ts.SignatureDeclaration, source: ts.SourceFile): string => {
  if (node.name !== undefined) return node.name.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))
    return parent.name.getText(source);
  return "(anonymous)";
};

/** Every function with a body in `text`, as `file` (arrow functions, methods, generators too). */
export const functionSpans = (file: string, text: string): ReadonlyArray<FunctionSpan> => {
  const kind = /\.m?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const spans: Array<FunctionSpan> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      spans.push({ file, line: start + 1, name: nameOf(node, source), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
};

/** Functions of `files` longer than `limit` lines, longest first. */
export const longFunctions = (
  files: ReadonlyArray<string>,
  limit: number,
  root = repoRoot,
): ReadonlyArray<FunctionSpan> =>
  files
    .flatMap((file) => functionSpans(file, readFileSync(join(root, file), "utf8")))
    .filter((span) => span.lines > limit)
    .sort((a, b) => b.lines - a.lines);

/** The longest function of `files`, if any. */
export const longestFunction = (
  files: ReadonlyArray<string>,
  root = repoRoot,
): FunctionSpan | undefined => longFunctions(files, 0, root)[0];
