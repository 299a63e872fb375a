// @ts-check
/**
 * `pnpm --filter @odigos/deploy-check test`: `helm lint --strict` of the chart, then
 * `helm template` must equal deploy/manifests (run the `render` script after changing the chart).
 */
import { ensureHelm, run } from "./helm.mjs";
import { chartDir, compareManifests, readManifests, renderChart } from "./manifests.mjs";
import { checkMonitoring, monitoringArgs } from "./monitoring.mjs";

const helm = await ensureHelm();
const lint = await run(helm, ["lint", "--strict", chartDir]);
process.stdout.write(lint.stdout);
if (lint.code !== 0) {
  process.stderr.write(`helm lint failed:\n${lint.stderr}`);
  process.exit(1);
}
const rendered = await renderChart(helm);
const problems = compareManifests(rendered, readManifests());
if (problems.length > 0) {
  process.stderr.write(
    `deploy/manifests is not what the chart renders:\n${problems.join("\n")}\n\nRun: pnpm --filter @odigos/deploy-check render\n`,
  );
  process.exit(1);
}
const monitoringLint = await run(helm, ["lint", "--strict", chartDir, ...monitoringArgs]);
if (monitoringLint.code !== 0) {
  process.stderr.write(
    `helm lint with monitoring on failed:\n${monitoringLint.stderr}${monitoringLint.stdout}`,
  );
  process.exit(1);
}
const monitoringProblems = checkMonitoring(await renderChart(helm, monitoringArgs));
if (monitoringProblems.length > 0) {
  process.stderr.write(
    `the chart's monitoring objects are wrong:\n${monitoringProblems.join("\n")}\n`,
  );
  process.exit(1);
}
process.stdout.write(
  "the PodMonitor, PrometheusRule and dashboard ConfigMap render as files/ holds them\n",
);
process.stdout.write(
  `deploy/manifests matches helm template (${[...rendered.keys()].join(", ")})\n`,
);
