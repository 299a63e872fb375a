// @ts-check
/** Walking a bundle folder. */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * @typedef {{ path: string, size: number, uid: number, mode: number }} BundleFile
 *   A regular file, `path` relative to the walked folder with `/` separators.
 */

/**
 * Every regular file, symbolic link and other entry (a FIFO, a socket) under `dir`; symbolic
 * links are listed, not followed.
 * @param {string} dir
 * @returns {{ files: BundleFile[], links: string[], others: string[] }}
 */
export const walk = (dir) => {
  /** @type {BundleFile[]} */
  const files = [];
  /** @type {string[]} */
  const links = [];
  /** @type {string[]} */
  const others = [];
  /** @param {string} relative */
  const visit = (relative) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isSymbolicLink()) links.push(path);
      else if (entry.isDirectory()) visit(path);
      else if (entry.isFile()) {
        const stat = lstatSync(join(dir, path));
        files.push({ path, size: stat.size, uid: stat.uid, mode: stat.mode });
      } else others.push(path);
    }
  };
  visit("");
  return { files, links, others };
};
