// @ts-check
/**
 * Checks an assembled production bundle (tooling/bundle's output: esbuild's `.mjs` files, a
 * package.json, LICENSE and THIRD-PARTY-NOTICES), one line per problem:
 *
 * - every file is one of those: no `node_modules`, no type declaration, source map, TypeScript
 *   source or build info, no test file, nothing else; no symbolic link;
 * - every import of every `.mjs`, static or dynamic, is a Node built-in or a relative path to a
 *   file inside the bundle: a package specifier would need `node_modules`, which the image (or
 *   the plugin's npm package) does not have. A dynamic import with a computed specifier cannot be
 *   checked and is reported;
 * - package.json names a `bin` that exists, and `node <bin> --help` exits 0 printing the usage.
 *
 * `require()` calls are not parsed here: the app's build (app-bundle.mjs, from its scripts/bundle.mjs)
 * fails on any require esbuild left that is not of a Node built-in (or a listed optional one),
 * from esbuild's own record of the bundle.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { init, parse } from "es-module-lexer";
import { walk } from "./files.mjs";

/** The files a bundle holds besides its `.mjs` modules. */
export const metadataFiles = ["package.json", "LICENSE", "THIRD-PARTY-NOTICES"];

/**
 * Why `path` (relative to the bundle) must not be in it, or undefined when it may.
 * @param {string} path
 * @returns {string | undefined}
 */
export const deniedFile = (path) => {
  const segments = path.split("/");
  if (segments.includes("node_modules"))
    return "a file of node_modules: the bundle must need no installed package";
  if (/\.d\.[cm]?ts$/.test(path)) return "a type declaration";
  if (/\.map$/.test(path)) return "a source map";
  if (/\.[cm]?tsx?$/.test(path)) return "a TypeScript source";
  if (/\.tsbuildinfo$/.test(path)) return "TypeScript build info";
  if (
    /\.(?:test|spec)\.[cm]?[jt]sx?$/.test(path) ||
    segments.includes("test-support") ||
    segments.includes("__tests__")
  )
    return "test code";
  if (path.endsWith(".mjs") || metadataFiles.includes(path)) return undefined;
  return `not part of a bundle (only .mjs modules and ${metadataFiles.join(", ")} at the top are)`;
};

/**
 * @typedef {object} Verification
 * @property {string[]} problems one line each, naming the file; empty when the bundle is good
 * @property {string[]} bins the package's bin files, relative to the bundle
 * @property {number} checkedFiles modules parsed
 * @property {number} checkedImports import specifiers checked
 */

/**
 * @param {string} bundleDir
 * @param {{ usage?: RegExp | undefined }} [options] what `--help` must print (default: a line starting `Usage: `)
 * @returns {Promise<Verification>}
 */
export async function verifyBundle(bundleDir, options = {}) {
  const usage = options.usage ?? /^Usage: /m;
  const bundle = realpathSync(bundleDir);
  const { files, links, others } = walk(bundle);
  /** @type {string[]} */
  const problems = [];

  for (const link of links)
    problems.push(`${link}: a symbolic link (a bundle holds regular files only)`);
  for (const other of others) problems.push(`${other}: not a regular file`);
  for (const file of files) {
    const why = deniedFile(file.path);
    if (why !== undefined) problems.push(`${file.path}: ${why}`);
  }

  let checkedFiles = 0;
  let checkedImports = 0;
  await init;
  for (const file of files.filter((f) => f.path.endsWith(".mjs"))) {
    checkedFiles += 1;
    const source = readFileSync(join(bundle, file.path), "utf8");
    let imports;
    try {
      [imports] = parse(source, file.path);
    } catch (error) {
      problems.push(`${file.path}: cannot be parsed as a module: ${String(error)}`);
      continue;
    }
    const parent = pathToFileURL(join(bundle, file.path));
    for (const entry of imports) {
      if (entry.d === -2) continue; // import.meta
      if (entry.n === undefined) {
        const expression = source.slice(entry.ss, entry.se).replace(/\s+/g, " ");
        problems.push(
          `${file.path}: ${expression} has a computed specifier, which cannot be checked; import a string literal`,
        );
        continue;
      }
      checkedImports += 1;
      const problem = checkImport(bundle, parent, entry.n);
      if (problem !== undefined) problems.push(`${file.path}: import "${entry.n}" ${problem}`);
    }
  }

  /** @type {{ name?: unknown, bin?: unknown }} */
  let manifest = {};
  try {
    manifest = JSON.parse(readFileSync(join(bundle, "package.json"), "utf8"));
  } catch (error) {
    problems.push(`package.json: missing or not JSON (${String(error).split("\n")[0]})`);
  }
  if (existsSync(join(bundle, "package.json")) && typeof manifest.name !== "string")
    problems.push("package.json: no name");
  const bins = (
    typeof manifest.bin === "string"
      ? [manifest.bin]
      : typeof manifest.bin === "object" && manifest.bin !== null
        ? Object.values(manifest.bin)
        : []
  ).map((bin) => String(bin).replace(/^\.\//, ""));
  if (bins.length === 0 && existsSync(join(bundle, "package.json")))
    problems.push("package.json: no bin");
  for (const bin of bins) {
    const path = join(bundle, bin);
    if (!path.startsWith(bundle + sep) || !existsSync(path) || !statSync(path).isFile()) {
      problems.push(`package.json: bin ${bin} is missing`);
      continue;
    }
    const problem = runHelp(bundle, bin, usage);
    if (problem !== undefined) problems.push(`${bin}: ${problem}`);
  }

  return { problems, bins, checkedFiles, checkedImports };
}

/**
 * Why `specifier`, imported by the module at `parent`, would not load from the bundle alone.
 * @param {string} bundle real path of the bundle
 * @param {URL} parent
 * @param {string} specifier
 * @returns {string | undefined}
 */
const checkImport = (bundle, parent, specifier) => {
  if (isBuiltin(specifier)) return undefined;
  if (!/^(?:\.{1,2}\/|\/|file:)/.test(specifier))
    return "is a package (or other non-file specifier): the bundle would need node_modules";
  const url = new URL(specifier, parent);
  if (url.protocol !== "file:") return `resolves to ${url.href}, not a file`;
  const path = fileURLToPath(url);
  if (!existsSync(path)) return `resolves to ${relative(bundle, path)}, which does not exist`;
  const real = realpathSync(path);
  if (!real.startsWith(bundle + sep)) return `resolves to ${real}, outside the bundle`;
  if (!statSync(real).isFile()) return `resolves to ${relative(bundle, real)}, not a file`;
  return undefined;
};

/**
 * Runs `node <bin> --help` in the bundle with an empty environment (no NODE_OPTIONS, no
 * NODE_PATH); the usage must come on stdout with exit code 0.
 * @param {string} bundle
 * @param {string} bin
 * @param {RegExp} usage
 * @returns {string | undefined}
 */
const runHelp = (bundle, bin, usage) => {
  const result = spawnSync(process.execPath, [bin, "--help"], {
    cwd: bundle,
    env: {},
    encoding: "utf8",
    // Printing the usage takes well under a second; this only bounds a bundle that hangs.
    timeout: 60_000,
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(0, 5);
  if (result.error !== undefined)
    return `node ${bin} --help failed to run: ${result.error.message}`;
  if (result.status !== 0)
    return `node ${bin} --help exited with ${result.status ?? result.signal}: ${output.join(" | ")}`;
  if (!usage.test(result.stdout))
    return `node ${bin} --help printed no usage (${usage}): ${output.join(" | ")}`;
  return undefined;
};
