/** Where the chart keeps what this package checks and generates. */
import { fileURLToPath } from "node:url";

/** The repository's root (this file is in tooling/monitoring/src or its dist). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The chart's rule groups (the PrometheusRule's spec). */
export const alertsFile = fileURLToPath(
  new URL("../../../deploy/helm/instrumentor/files/alerts.yaml", import.meta.url),
);

/** The dashboard JSON generated from `dashboard.ts` (the dashboard ConfigMap's data). */
export const dashboardFile = fileURLToPath(
  new URL("../../../deploy/helm/instrumentor/files/dashboard.json", import.meta.url),
);

/** promtool's unit tests of the rules. */
export const rulesTestFile = fileURLToPath(new URL("../rules.test.yaml", import.meta.url));

/** The README whose "Alerts and dashboard" section the runbook URLs point at. */
export const readmeFile = fileURLToPath(new URL("../../../README.md", import.meta.url));
