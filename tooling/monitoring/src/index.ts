/**
 * The instrumentor's alerting rules and Grafana dashboard as code (README, "Alerts and
 * dashboard"): the dashboard built with Grafana's types, the chart's rules read as data, and the
 * metric names both use (from Prometheus' own PromQL grammar).
 *
 * @packageDocumentation
 */
export { buildDashboard, dashboardExprs, dashboardJson, dashboardUid } from "./dashboard.js";
export { alertsFile, dashboardFile, readmeFile, repoRoot, rulesTestFile } from "./files.js";
export { metricNames, PromQLSyntaxError } from "./promql.js";
export { type AlertRule, alertMetricNames, readAlerts } from "./rules.js";
