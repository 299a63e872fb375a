import {
  alertMetricNames,
  buildDashboard,
  dashboardExprs,
  metricNames,
  readAlerts,
} from "../index.js";

// The chart's alerts, as Prometheus reads them.
const alerts = readAlerts();
console.log(alerts[0]?.alert); // OdigosInstrumentorCircuitBreakerOpen
console.log(alerts[0]?.annotations?.runbook_url); // https://github.com/odigos-io/odigos-ts/blob/main/README.md#odigosinstrumentorcircuitbreakeropen

// The metric names an expression reads, from Prometheus' own PromQL grammar.
console.log(metricNames("sum by (reason) (increase(odigos_instrumentor_rollbacks_total[1h])) > 0")); // [ 'odigos_instrumentor_rollbacks_total' ]
console.log(alertMetricNames().includes("odigos_instrumentor_workloads")); // true

// The dashboard, built with Grafana's types; its expressions, Grafana variables and all.
const dashboard = buildDashboard();
console.log(dashboard.uid); // odigos-instrumentor
console.log(dashboardExprs().some((expr) => expr.includes("$__rate_interval"))); // true
