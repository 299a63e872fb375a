// @ts-check
/** The apps that ship as a bundle: what their builds make and what the shipped folder is. */

/**
 * @typedef {object} ShippedApp
 * @property {string} workspace the app's workspace package (turbo's `--filter`)
 * @property {string} dir the app's folder, relative to the repository
 * @property {string} entry the bundle's entry, in `<dir>/dist/bundle/` and at the shipped folder's top
 * @property {string} [packageName] the shipped package.json's name, when not the app's
 * @property {RegExp} [usage] what `node <entry> --help` prints (verify.mjs; default `Usage: `)
 */

/** @type {Readonly<Record<string, ShippedApp>>} */
export const apps = {
  // What the image holds in /app (the Dockerfile runs bundle.mjs without --app).
  instrumentor: {
    workspace: "@odigos/instrumentor",
    dir: "apps/instrumentor",
    entry: "instrumentor.mjs",
  },
  // What `npm install -g` of its `npm pack` tarball installs: the bin on the prefix's PATH,
  // where kubectl finds it as `kubectl odigos-instrumentor`.
  "kubectl-plugin": {
    workspace: "@odigos/kubectl-plugin",
    dir: "apps/kubectl-plugin",
    entry: "kubectl-odigos_instrumentor.mjs",
    packageName: "@odigos/kubectl-odigos-instrumentor",
    // @effect/cli's usage: a heading, then `$ <command>` (with colour codes even to a pipe).
    usage: /^\$ kubectl-odigos_instrumentor\b/m,
  },
};
