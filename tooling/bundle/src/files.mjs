// @ts-check
/** Walking a bundle folder, and which of its files the bundle must not hold. */
import { lstatSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Type declarations (`.d.ts`, `.d.mts`, `.d.cts`), source maps, TypeScript sources and build
 * info: nothing Node reads when it runs the app (`node dist/main.js`, without
 * `--enable-source-maps`), so the bundle script removes them from every package.
 */
export const strippedFile = /\.(?:[cm]?ts|map|tsbuildinfo)$/;

/**
 * Why a file of one of our own packages (the app or a workspace library; `path` relative to
 * the package) must not be in the bundle, or undefined when it may be.
 * @param {string} path
 * @returns {string | undefined}
 */
export const deniedOwnFile = (path) => {
  const segments = path.split("/");
  if (/\.(?:test|spec)\.[cm]?[jt]sx?$/.test(path)) return "a test file";
  if (segments.includes("test-support") || segments.includes("__tests__"))
    return "test support code";
  if (path.startsWith("dist/dev/")) return "dev-only code (dist/dev)";
  return undefined;
};

/**
 * @typedef {{ path: string, size: number, uid: number, mode: number, ino: number }} BundleFile
 *   A regular file, `path` relative to the walked folder with `/` separators.
 */

/**
 * Every regular file and symbolic link under `dir` (symbolic links are listed, not followed).
 * @param {string} dir
 * @returns {{ files: BundleFile[], links: string[], dirs: string[] }}
 */
export const walk = (dir) => {
  /** @type {BundleFile[]} */
  const files = [];
  /** @type {string[]} */
  const links = [];
  /** @type {string[]} */
  const dirs = [];
  /** @param {string} relative */
  const visit = (relative) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isSymbolicLink()) links.push(path);
      else if (entry.isDirectory()) {
        dirs.push(path);
        visit(path);
      } else if (entry.isFile()) {
        const stat = lstatSync(join(dir, path));
        files.push({ path, size: stat.size, uid: stat.uid, mode: stat.mode, ino: stat.ino });
      }
    }
  };
  visit("");
  return { files, links, dirs };
};

/**
 * Deletes every file `strippedFile` matches, then the folders left empty.
 * @param {string} dir
 */
export function prune(dir) {
  const { files, dirs } = walk(dir);
  let count = 0;
  let bytes = 0;
  for (const file of files) {
    if (!strippedFile.test(file.path)) continue;
    rmSync(join(dir, file.path));
    count += 1;
    bytes += file.size;
  }
  for (const sub of dirs.reverse()) {
    if (readdirSync(join(dir, sub)).length === 0) rmdirSync(join(dir, sub));
  }
  return { files: count, bytes };
}
