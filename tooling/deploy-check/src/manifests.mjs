// @ts-check
/**
 * The chart and the plain manifests rendered from it: deploy/manifests/<template>.yaml holds
 * exactly what `helm template` prints for deploy/helm/instrumentor/templates/<template>.yaml.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, run } from "./helm.mjs";

export const chartDir = join(repoRoot, "deploy", "helm", "instrumentor");
export const manifestsDir = join(repoRoot, "deploy", "manifests");
/** What the plain manifests are rendered with: the names and namespace Odigos users know. */
export const releaseName = "odigos-instrumentor";
export const releaseNamespace = "odigos-system";

const header = [
  "# Rendered from deploy/helm/instrumentor by `pnpm --filter @odigos/deploy-check render`",
  `# (helm template ${releaseName} deploy/helm/instrumentor --namespace ${releaseNamespace}).`,
  "# Do not edit: change the chart and render again; CI checks they match.",
].join("\n");

/**
 * Splits `helm template` output into one file per template.
 * @param {string} output
 * @returns {Map<string, string>} file name -> content
 */
export const splitBySource = (output) => {
  const files = new Map();
  const documents = output.split(/^---\n/m).filter((doc) => doc.trim() !== "");
  for (const doc of documents) {
    const source = /^# Source: [^/]+\/templates\/(.+\.yaml)$/m.exec(doc)?.[1];
    if (source === undefined) throw new Error(`a rendered document has no # Source line:\n${doc}`);
    const name = source.replaceAll("/", "-");
    const previous = files.get(name);
    files.set(name, `${previous ?? `${header}\n`}---\n${doc.endsWith("\n") ? doc : `${doc}\n`}`);
  }
  return files;
};

/**
 * `helm template` of the chart, split per template.
 * @param {string} helm
 * @param {string[]} [extraArgs] more `helm template` arguments (`--set ...`)
 * @returns {Promise<Map<string, string>>}
 */
export const renderChart = async (helm, extraArgs = []) => {
  const result = await run(helm, [
    "template",
    releaseName,
    chartDir,
    "--namespace",
    releaseNamespace,
    ...extraArgs,
  ]);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return splitBySource(result.stdout);
};

/** @returns {Map<string, string>} the committed manifests */
export const readManifests = () => {
  const files = new Map();
  if (!existsSync(manifestsDir)) return files;
  for (const name of readdirSync(manifestsDir).sort()) {
    if (name.endsWith(".yaml")) files.set(name, readFileSync(join(manifestsDir, name), "utf8"));
  }
  return files;
};

/**
 * Differences between what the chart renders and what deploy/manifests holds.
 * @param {Map<string, string>} rendered
 * @param {Map<string, string>} committed
 * @returns {string[]}
 */
export const compareManifests = (rendered, committed) => {
  const problems = [];
  for (const [name, content] of rendered) {
    const current = committed.get(name);
    if (current === undefined) {
      problems.push(`deploy/manifests/${name} is missing`);
      continue;
    }
    if (current === content) continue;
    const want = content.split("\n");
    const have = current.split("\n");
    const line = want.findIndex((text, index) => have[index] !== text);
    const at = line === -1 ? want.length : line;
    problems.push(
      `deploy/manifests/${name} differs at line ${at + 1}:\n  chart renders: ${JSON.stringify(want[at])}\n  file has:      ${JSON.stringify(have[at])}`,
    );
  }
  for (const name of committed.keys()) {
    if (!rendered.has(name)) problems.push(`deploy/manifests/${name} is not rendered by the chart`);
  }
  return problems;
};
