#!/usr/bin/env node
// @ts-check
/**
 * The plugin as one esbuild bundle: `dist/main.js` (tsc's output) and everything it imports,
 * tree-shaken, in `dist/bundle/` (`kubectl-odigos_instrumentor.mjs`, which starts with
 * `#!/usr/bin/env node`, and `chunks/`). Run by `build` after tsc. What npm installs is this
 * folder (tooling/bundle assembles it, without the maps: `node tooling/bundle/src/bundle.mjs
 * <out-dir> --app kubectl-plugin`).
 *
 * How, and the checks (nothing but Node's built-ins left to load at run time, no test code,
 * CommonJS import() facades, THIRD-PARTY-NOTICES): `bundleApp` of tooling/bundle, the one the
 * instrumentor's build uses. `@kubernetes/client-node` (a kubeconfig whose user runs a
 * credential plugin) is a chunk loaded only when the kubeconfig needs it.
 */
import { fileURLToPath } from "node:url";
import { bundleApp } from "@odigos/bundle/app-bundle";

await bundleApp({
  appDir: fileURLToPath(new URL("..", import.meta.url)),
  entryName: "kubectl-odigos_instrumentor",
  holder: "The kubectl-odigos_instrumentor bundle",
});
