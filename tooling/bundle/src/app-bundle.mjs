// @ts-check
/**
 * An app's production entry as one esbuild bundle: `dist/main.js` (tsc's output) and everything
 * it imports, tree-shaken, in `dist/bundle/` (`<entryName>.mjs` and `chunks/`). Each app's build
 * runs it after tsc, from its `scripts/bundle.mjs` (apps/instrumentor: `instrumentor.mjs`, what
 * the image ships; apps/kubectl-plugin: `kubectl-odigos_instrumentor.mjs`, what npm installs).
 * What is shipped is this folder without its maps (src/bundle.mjs assembles it).
 *
 * Why a bundle: `node dist/main.js --help` of the instrumentor with node_modules peaks at 120 MB
 * RSS with 23 MB of live heap, and takes about 0.6 s; the bundle 74 MB and 9 MB, 0.16 s (Node 24,
 * medians of 9 runs on a busy 2-core machine; the README has the figures and src/measure.mjs
 * measures them). Most of the difference is effect's hundreds of ES modules, each loaded, linked
 * and kept with its source text.
 *
 * - `splitting`: every dynamic import gets its own chunk, loaded only when it runs;
 *   `@kubernetes/client-node` (about 5 MB of the bundle, for kubeconfigs with credential plugins,
 *   apps/instrumentor/src/kube/credentials.ts) and `yaml` (kubeconfig files) stay out of a start
 *   with in-cluster credentials;
 * - whitespace and syntax minified, identifiers kept (stack traces stay readable), no
 *   `keepNames`: esbuild's `__name()` wrapper then ran at every creation of a named closure, 4 % of
 *   the instrumentor's CPU in a mass change (a CPU profile of `pnpm bench`, N=1000) and 1.6 MB of
 *   RSS (peak RSS of `--help`, medians of 9: 60.3 MB with it, 58.7 without, 58.1 with identifiers
 *   minified too, 59.5 unminified; about 1 MB is noise between batches). Without it a function or
 *   class that shares its name with another module's gets a suffix in the bundle (`Base3`): the
 *   three that do are Effect's, whose errors set their `name` explicitly, and every error of this
 *   project names itself by `_tag`;
 * - the entry's `#!/usr/bin/env node` (tsc keeps it from `src/main.ts`, esbuild keeps it first
 *   and marks the file executable): the file runs as an npm bin;
 * - the banner gives CommonJS dependencies a `require` for Node's built-ins (an ES module has none);
 * - source maps: linked, next to each file, without the sources' text (they point at `src/*.ts`
 *   through tsc's own maps, for `node --enable-source-maps dist/bundle/<entryName>.mjs` here);
 *   the shipped folders do not hold them: Node reads a map only with `--enable-source-maps`.
 *
 * It fails, naming what, when the bundle would need anything but Node's built-ins at run time
 * (apart from the optional requires below, which their packages guard), when it holds test
 * code, or when a chunk was made from CommonJS without the facade below. It also writes
 * THIRD-PARTY-NOTICES: the name, version, license and license text of every registry package
 * with code in the bundle, which their licenses ask copies to carry.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

/**
 * `require()`s of packages that are not installed, left in the bundle because their callers
 * catch the failure (esbuild bundles every require it can resolve and fails on the others
 * outside a `try`). Each is an optional speed-up or feature of a dependency of
 * `@kubernetes/client-node`, which both apps bundle (the plugin through the instrumentor's
 * `loadCredentials`). A new one fails the build until it is looked at and listed here.
 */
export const optionalRequires = new Map([
  ["bufferutil", "ws: optional native masking, falls back to JavaScript"],
  ["utf-8-validate", "ws: optional native UTF-8 check, falls back to JavaScript"],
  ["encoding", "node-fetch: optional charset conversion of textConverted(), never called"],
  ["supports-color", "debug: optional color detection, colors off without it"],
]);

/**
 * Whether Node loads `file` as CommonJS: `.cjs`, or `.js` in a package that is not `"type": "module"`.
 * @param {string} file
 */
const isCommonJs = (file) => {
  if (/\.cjs$/.test(file)) return true;
  if (!/\.js$/.test(file)) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, "utf8")).type !== "module";
    if (dirname(dir) === dir) return true;
  }
};

/**
 * The lines that make an ES module re-export `m`, a CommonJS module's exports, as Node's own
 * interop does: `default` is `m`, and each of its keys that is an identifier a named export.
 * With `skipGetters`, keys whose property is a getter are left out: destructuring runs them.
 * @param {Record<string, unknown>} m
 * @param {{ skipGetters?: boolean }} [options]
 */
const reExports = (m, { skipGetters = false } = {}) => {
  const names = Object.keys(m).filter(
    (name) =>
      /^[A-Za-z_$][\w$]*$/.test(name) &&
      name !== "default" &&
      name !== "__esModule" &&
      !(skipGetters && typeof Object.getOwnPropertyDescriptor(m, name)?.get === "function"),
  );
  return `export default m;\nexport const { ${names.join(", ")} } = m;\n`;
};

/**
 * esbuild's code splitting gives a dynamically imported CommonJS module a chunk that exports
 * only `default` (evanw/esbuild#3245, #4377, open), so `const { parse } = await import("yaml")`
 * (packages/kube-client, for kubeconfig files) would get `undefined`. This plugin puts an ES
 * module in front of each such import that exports the module's names, as Node's own CommonJS
 * interop does: `default` is `module.exports`, and each of its keys a named export.
 * The fix belongs here, not in the importing code: it covers every such import, present and
 * future, and the sources stay plain Node (kube-client had read `yaml.default?.parse ??
 * yaml.parse` for a while; it is back to `const { parse } = await import("yaml")`).
 * @type {import("esbuild").Plugin}
 */
const commonJsDynamicImports = {
  name: "commonjs-dynamic-imports",
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== "dynamic-import" || args.pluginData === "facade") return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: "facade",
      });
      if (resolved.errors.length > 0 || resolved.external || !isCommonJs(resolved.path))
        return undefined;
      return { path: resolved.path, namespace: "commonjs-facade" };
    });
    build.onLoad({ filter: /.*/, namespace: "commonjs-facade" }, (args) => {
      const source = JSON.stringify(args.path);
      return {
        contents: `import m from ${source};\n${reExports(createRequire(args.path)(args.path))}`,
        resolveDir: dirname(args.path),
      };
    });
  },
};

/**
 * Built-ins whose ES module namespace costs more than the module: Node builds a built-in's
 * namespace by reading every export, getters included, and on Node 24 `node:http` has lazy
 * getters (`WebSocket`, `CloseEvent`, `MessageEvent`) that load Node's whole bundled undici and
 * with it `http2` and the web streams. `import * as http from "node:http"` in an ES module then
 * holds 5.7 MB more RSS than `require("node:http")` (3.7 MB anonymous, 1.7 MB of it heap, and
 * 2 MB of Node's binary; `node --expose-gc`, after a full GC, on Node 24.22). The apps use none
 * of those exports: this plugin serves such a built-in to the bundle through `require`,
 * exporting only its plain (non-getter) properties.
 */
const builtinsByRequire = ["http"];

/** @type {import("esbuild").Plugin} */
const builtinsWithoutLazyExports = {
  name: "builtins-without-lazy-exports",
  setup(build) {
    const filter = new RegExp(`^(node:)?(${builtinsByRequire.join("|")})$`);
    build.onResolve({ filter }, (args) =>
      args.kind === "import-statement"
        ? { path: args.path.replace(/^node:/, ""), namespace: "builtin-by-require" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "builtin-by-require" }, (args) => {
      const module = createRequire(import.meta.url)(`node:${args.path}`);
      return {
        contents: [
          'import { createRequire } from "node:module";',
          `const m = createRequire(import.meta.url)("node:${args.path}");`,
          reExports(module, { skipGetters: true }),
        ].join("\n"),
      };
    });
  },
};

/**
 * Why the bundle is not self-contained (empty when it is): test code in it, an import left for
 * run time that is not a Node built-in (or a listed optional require), a chunk made straight
 * from CommonJS.
 * @param {string} appDir
 * @param {import("esbuild").Metafile} metafile paths relative to `appDir`
 * @returns {string[]}
 */
export const bundleProblems = (appDir, metafile) => {
  /** @type {string[]} */
  const problems = [];
  for (const input of Object.keys(metafile.inputs)) {
    if (/\.(test|spec)\.[cm]?js$|(^|\/)(test-support|__tests__)\//.test(input))
      problems.push(`${input}: test code in the bundle`);
  }
  for (const [output, { imports }] of Object.entries(metafile.outputs)) {
    for (const { path, kind, external } of imports) {
      if (!external || isBuiltin(path)) continue;
      if (kind === "require-call" && optionalRequires.has(path)) continue;
      problems.push(
        `${output}: ${kind} "${path}" is not bundled and not a Node built-in: the bundle would need node_modules`,
      );
    }
  }
  // The plugin's facades are the entries of dynamically imported CommonJS; a chunk made straight
  // from CommonJS would export only `default` (see commonJsDynamicImports).
  for (const [output, { entryPoint }] of Object.entries(metafile.outputs)) {
    if (
      entryPoint !== undefined &&
      !/^[\w-]+:/.test(entryPoint) &&
      isCommonJs(join(appDir, entryPoint))
    )
      problems.push(
        `${output}: a chunk made from CommonJS ${entryPoint}, whose named exports an import() would not see`,
      );
  }
  return problems;
};

/**
 * THIRD-PARTY-NOTICES: every registry package with code in an output file.
 * @param {string} appDir
 * @param {import("esbuild").Metafile} metafile paths relative to `appDir`
 * @param {string} holder what holds the code, the notices' first words ("The Odigos instrumentor bundle")
 * @returns {{ text: string, packages: number }}
 */
export const thirdPartyNotices = (appDir, metafile, holder) => {
  /** @type {Map<string, number>} */
  const bytesByPackage = new Map();
  for (const { inputs: used } of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(used)) {
      // A plugin's module ("commonjs-facade:<path>") holds no code of the package itself.
      if (/^[\w-]+:/.test(input)) continue;
      const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match?.[1] === undefined || bytesInOutput === 0) continue;
      bytesByPackage.set(match[1], (bytesByPackage.get(match[1]) ?? 0) + bytesInOutput);
    }
  }
  const notices = [...bytesByPackage.keys()]
    .map((dir) => {
      const packageDir = join(appDir, dir);
      /** @type {{ name: string, version: string, license?: string }} */
      const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
      const licenseFile = readdirSync(packageDir).find((name) =>
        /^(licen[cs]e|copying)/i.test(name),
      );
      const text =
        licenseFile === undefined
          ? `(the package ships no license file; its package.json says ${manifest.license ?? "nothing"})`
          : readFileSync(join(packageDir, licenseFile), "utf8").trim();
      return { id: `${manifest.name}@${manifest.version}`, license: manifest.license, text };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const text = `${holder} holds code of these packages, under their licenses:\n\n${notices
    .map((n) => `${n.id} (${n.license ?? "no license field"})`)
    .join("\n")}\n\n${notices.map((n) => `${"=".repeat(78)}\n${n.id}\n\n${n.text}\n`).join("\n")}`;
  return { text, packages: notices.length };
};

/**
 * @typedef {object} AppBundle
 * @property {string} appDir the app's folder (absolute)
 * @property {string} entryName the entry's name in the bundle, without `.mjs` (the bin's file)
 * @property {string} holder the notices' first words: "The Odigos instrumentor bundle"
 * @property {string} [entry] tsc's output to bundle, relative to `appDir` (default `dist/main.js`)
 */

/**
 * Bundles `<appDir>/<entry>` into `<appDir>/dist/bundle/` (emptied first): `<entryName>.mjs`,
 * `chunks/`, their maps and THIRD-PARTY-NOTICES. Exits the process with 1, naming each problem,
 * when the bundle is not self-contained; prints a summary line to stderr.
 * @param {AppBundle} options
 * @returns {Promise<import("esbuild").Metafile>}
 */
export async function bundleApp({ appDir, entryName, holder, entry = "dist/main.js" }) {
  const outdir = join(appDir, "dist/bundle");
  rmSync(outdir, { recursive: true, force: true });
  const { metafile } = await build({
    absWorkingDir: appDir,
    entryPoints: { [entryName]: join(appDir, entry) },
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    splitting: true,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: false,
    banner: {
      js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);",
    },
    sourcemap: "linked",
    sourcesContent: false,
    metafile: true,
    logLevel: "warning",
    plugins: [commonJsDynamicImports, builtinsWithoutLazyExports],
  });

  const problems = bundleProblems(appDir, metafile);
  if (problems.length > 0) {
    process.stderr.write(
      `[bundle] dist/bundle is not self-contained:\n  ${problems.join("\n  ")}\n`,
    );
    process.exit(1);
  }
  const notices = thirdPartyNotices(appDir, metafile, holder);
  writeFileSync(join(outdir, "THIRD-PARTY-NOTICES"), notices.text);

  const files = Object.entries(metafile.outputs).filter(([path]) => !path.endsWith(".map"));
  const bytes = files.reduce((sum, [, output]) => sum + output.bytes, 0);
  process.stderr.write(
    `[bundle] dist/bundle: ${files.length} files, ${(bytes / 1_000_000).toFixed(1)} MB of JavaScript (${notices.packages} third-party packages), maps beside them\n`,
  );
  return metafile;
}
