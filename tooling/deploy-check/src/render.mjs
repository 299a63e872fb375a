// @ts-check
/** `pnpm --filter @odigos/deploy-check render`: regenerates deploy/manifests from the chart. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureHelm } from "./helm.mjs";
import { manifestsDir, readManifests, renderChart } from "./manifests.mjs";

const rendered = await renderChart(await ensureHelm());
mkdirSync(manifestsDir, { recursive: true });
for (const name of readManifests().keys()) {
  if (!rendered.has(name)) rmSync(join(manifestsDir, name));
}
for (const [name, content] of rendered) writeFileSync(join(manifestsDir, name), content);
process.stdout.write(
  `wrote ${[...rendered.keys()].map((name) => `deploy/manifests/${name}`).join(", ")}\n`,
);
