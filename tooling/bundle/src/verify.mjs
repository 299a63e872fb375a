// @ts-check
/**
 * Checks a production bundle (a folder laid out by `pnpm deploy`):
 *
 * - no file anywhere is a type declaration, source map or TypeScript source;
 * - our own packages (the bundle's root package, the app, and every package of the bundle
 *   named like a workspace package) hold no test file, no test support code and no `dist/dev`;
 * - every import of every JavaScript file of our own packages, static or dynamic, resolves with
 *   Node's ESM resolver to a file that exists inside the bundle (or to a Node built-in): a
 *   devDependency, a file left out by `files`, or a path that only resolves inside the workspace
 *   is reported with the importing file. A dynamic import whose specifier is computed cannot be
 *   checked and is reported too;
 * - every `bin` of the root package exists.
 *
 * Registry packages are not parsed: their optional imports are theirs to guard, and running
 * the bundle (test-e2e/src/bundle) loads every module the app imports statically.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { init, parse } from "es-module-lexer";
import { deniedOwnFile, strippedFile, walk } from "./files.mjs";

const resolver = fileURLToPath(new URL("./resolve-imports.mjs", import.meta.url));

/**
 * @typedef {object} Verification
 * @property {string[]} problems one line each, naming the file; empty when the bundle is good
 * @property {string[]} ownPackages folders (relative to the bundle) of the packages checked import by import
 * @property {number} checkedFiles JavaScript files parsed
 * @property {number} checkedImports import specifiers resolved
 */

/**
 * @param {string} bundleDir
 * @param {{ ownPackages: ReadonlyArray<string> }} options names of the workspace packages
 * @returns {Promise<Verification>}
 */
export async function verifyBundle(bundleDir, options) {
  const bundle = realpathSync(bundleDir);
  const { files } = walk(bundle);
  /** @type {string[]} */
  const problems = [];

  for (const file of files) {
    if (strippedFile.test(file.path))
      problems.push(`${file.path}: a type declaration, source map or TypeScript source`);
  }

  const names = new Set(options.ownPackages);
  /** @param {string} dir */
  const packageName = (dir) => {
    try {
      return /** @type {{ name?: unknown }} */ (
        JSON.parse(readFileSync(join(bundle, dir, "package.json"), "utf8"))
      ).name;
    } catch {
      return undefined;
    }
  };
  // The root, and every `node_modules/<name>` folder holding a workspace package of that name.
  const ownPackages = [
    "",
    ...new Set(
      files
        .filter((file) => file.path.endsWith("/package.json"))
        .map((file) => file.path.slice(0, -"/package.json".length))
        .filter((dir) => {
          const name = packageName(dir);
          return (
            typeof name === "string" && names.has(name) && dir.endsWith(`node_modules/${name}`)
          );
        }),
    ),
  ];
  if (typeof packageName("") !== "string") problems.push("package.json: missing or without a name");

  /** @type {Array<{ specifier: string, parent: string, file: string }>} */
  const requests = [];
  let checkedFiles = 0;
  await init;
  for (const dir of ownPackages) {
    const prefix = dir === "" ? "" : `${dir}/`;
    const own = files.filter(
      (file) =>
        file.path.startsWith(prefix) && !file.path.slice(prefix.length).includes("node_modules/"),
    );
    for (const file of own) {
      const why = deniedOwnFile(file.path.slice(prefix.length));
      if (why !== undefined) problems.push(`${file.path}: ${why}`);
    }
    for (const file of own.filter((f) => /\.m?js$/.test(f.path))) {
      checkedFiles += 1;
      const source = readFileSync(join(bundle, file.path), "utf8");
      let imports;
      try {
        [imports] = parse(source, file.path);
      } catch (error) {
        problems.push(`${file.path}: cannot be parsed as a module: ${String(error)}`);
        continue;
      }
      const parent = pathToFileURL(join(bundle, file.path)).href;
      for (const entry of imports) {
        if (entry.d === -2) continue; // import.meta
        if (entry.n === undefined) {
          const expression = source.slice(entry.ss, entry.se).replace(/\s+/g, " ");
          problems.push(
            `${file.path}: ${expression} has a computed specifier, which cannot be checked; import a string literal`,
          );
          continue;
        }
        requests.push({ specifier: entry.n, parent, file: file.path });
      }
    }
  }

  const results = await resolveAll(
    requests.map(({ specifier, parent }) => ({ specifier, parent })),
  );
  requests.forEach((request, index) => {
    const result = results[index];
    const what = `${request.file}: import "${request.specifier}"`;
    if (result === undefined || "error" in result) {
      problems.push(`${what} does not resolve in the bundle (${result?.error ?? "no answer"})`);
      return;
    }
    if (result.url.startsWith("node:")) return;
    if (!result.url.startsWith("file:")) {
      problems.push(`${what} resolves to ${result.url}, not a file of the bundle`);
      return;
    }
    const path = fileURLToPath(result.url);
    if (!existsSync(path)) {
      problems.push(`${what} resolves to ${path}, which does not exist`);
      return;
    }
    const real = realpathSync(path);
    if (!real.startsWith(bundle + sep))
      problems.push(`${what} resolves to ${real}, outside the bundle`);
  });

  const manifest = readPackageJson(bundle);
  const bins =
    typeof manifest.bin === "string" ? [manifest.bin] : Object.values(manifest.bin ?? {});
  for (const bin of bins) {
    if (!existsSync(join(bundle, bin))) problems.push(`package.json: bin ${bin} is missing`);
  }

  return { problems, ownPackages, checkedFiles, checkedImports: requests.length };
}

/**
 * @param {string} dir
 * @returns {{ name?: string, bin?: string | Record<string, string> }}
 */
const readPackageJson = (dir) => {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  } catch {
    return {};
  }
};

/**
 * Node's resolver, in a child process with the flag that lets `import.meta.resolve` take a parent.
 * @param {Array<{ specifier: string, parent: string }>} requests
 * @returns {Promise<Array<{ url: string } | { error: string }>>}
 */
const resolveAll = (requests) =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--experimental-import-meta-resolve", "--no-warnings", resolver],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) {
        reject(new Error(`${resolver} exited with ${code}: ${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout));
    });
    child.stdin.end(JSON.stringify(requests));
  });
