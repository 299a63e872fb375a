// @ts-check
/**
 * Run by verify.mjs as `node --experimental-import-meta-resolve resolve-imports.mjs`: reads
 * `[{ specifier, parent }]` (parent a file: URL) as JSON on stdin and writes, in the same order,
 * `{ url }` or `{ error }` as JSON on stdout. Node's own ESM resolver (exports maps, conditions,
 * symlinks), so a specifier resolves here exactly when it would when the app imports it.
 * Node does not check that a relative specifier's file exists: the caller does.
 */
// Without the flag Node ignores the parent argument and would resolve from this file: refuse.
if (
  import.meta.resolve("./probe.js", "file:///parent/of/probe.js") !== "file:///parent/of/probe.js"
) {
  process.stderr.write(
    "import.meta.resolve ignores its parent: run with --experimental-import-meta-resolve\n",
  );
  process.exit(2);
}
let input = "";
for await (const chunk of process.stdin) input += chunk;
/** @type {Array<{ specifier: string, parent: string }>} */
const requests = JSON.parse(input);
const results = requests.map(({ specifier, parent }) => {
  try {
    return { url: import.meta.resolve(specifier, parent) };
  } catch (error) {
    const { code, message } = /** @type {NodeJS.ErrnoException} */ (error);
    return { error: `${code ?? "error"}: ${message.split("\n")[0]}` };
  }
});
process.stdout.write(JSON.stringify(results));
