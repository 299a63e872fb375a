// @ts-check
/**
 * The chart's monitoring objects, off by default: rendered with them on, the PrometheusRule must
 * carry exactly the rule groups of files/alerts.yaml (the leader alert following
 * leaderElection.id), the dashboard ConfigMap exactly files/dashboard.json, and the PodMonitor
 * the metrics port.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import { chartDir } from "./manifests.mjs";

/** What the monitoring objects are rendered with: all on, and a Lease name of its own. */
export const monitoringArgs = [
  "--set",
  "monitoring.podMonitor.enabled=true",
  "--set",
  "monitoring.prometheusRule.enabled=true",
  "--set",
  "monitoring.dashboard.enabled=true",
  "--set",
  "leaderElection.id=custom-lease.example.com",
];

/**
 * @param {Map<string, string>} rendered `helm template` output per template, with {@link monitoringArgs}
 * @returns {string[]} problems
 */
export const checkMonitoring = (rendered) => {
  const problems = [];
  /** @param {string} file */
  const object = (file) => {
    const text = rendered.get(file);
    if (text === undefined) {
      problems.push(`${file} is not rendered with ${monitoringArgs.join(" ")}`);
      return undefined;
    }
    return parseAllDocuments(text)[0]?.toJS();
  };
  const rule = object("prometheusrule.yaml");
  if (rule !== undefined) {
    const source = readFileSync(join(chartDir, "files", "alerts.yaml"), "utf8");
    const expected = parse(
      source.replaceAll('name="instrumentor.odigos.io"', 'name="custom-lease.example.com"'),
    );
    if (rule.kind !== "PrometheusRule") problems.push(`prometheusrule.yaml renders ${rule.kind}`);
    if (!isDeepStrictEqual(rule.spec, expected))
      problems.push("the PrometheusRule's spec is not files/alerts.yaml (with the Lease's name)");
    if (!JSON.stringify(rule.spec).includes('name=\\"custom-lease.example.com\\"'))
      problems.push("the PrometheusRule's leader alert does not follow leaderElection.id");
  }
  const dashboard = object("dashboard.yaml");
  if (dashboard !== undefined) {
    const json = dashboard.data?.["odigos-instrumentor.json"];
    const expected = readFileSync(join(chartDir, "files", "dashboard.json"), "utf8");
    if (json?.trim() !== expected.trim())
      problems.push("the dashboard ConfigMap does not hold files/dashboard.json");
    if (dashboard.metadata?.labels?.grafana_dashboard !== "1")
      problems.push("the dashboard ConfigMap lacks the grafana_dashboard label");
  }
  const monitor = object("podmonitor.yaml");
  if (monitor !== undefined && monitor.spec?.podMetricsEndpoints?.[0]?.port !== "metrics")
    problems.push("the PodMonitor does not scrape the metrics port");
  return problems;
};
