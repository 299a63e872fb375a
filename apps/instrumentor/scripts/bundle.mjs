#!/usr/bin/env node
// @ts-check
/**
 * The production entry as one esbuild bundle: `dist/main.js` (tsc's output) and everything it
 * imports, tree-shaken, in `dist/bundle/` (`instrumentor.mjs` and `chunks/`). Run by `build`
 * after tsc. What the image ships is this folder (tooling/bundle assembles it, without the maps).
 *
 * How, and the checks (nothing but Node's built-ins left to load at run time, no test code,
 * CommonJS import() facades, THIRD-PARTY-NOTICES): `bundleApp` of tooling/bundle, which the
 * kubectl plugin's build uses too. `@kubernetes/client-node` (credential plugins,
 * src/kube/credentials.ts) and `yaml` (kubeconfig files) are chunks of their own, loaded only
 * when a kubeconfig needs them: a pod with in-cluster credentials loads neither.
 */
import { fileURLToPath } from "node:url";
import { bundleApp } from "@odigos/bundle/app-bundle";

await bundleApp({
  appDir: fileURLToPath(new URL("..", import.meta.url)),
  entryName: "instrumentor",
  holder: "The Odigos instrumentor bundle",
});
