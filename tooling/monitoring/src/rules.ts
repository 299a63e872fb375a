/** The chart's alerting rules as data: what the tests check of each alert. */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { alertsFile } from "./files.js";
import { metricNames } from "./promql.js";

/** One alerting rule, as Prometheus reads it. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

interface RuleGroups {
  readonly groups: ReadonlyArray<{
    readonly name: string;
    readonly rules: ReadonlyArray<AlertRule>;
  }>;
}

/** Every alert of a rules file (default: the chart's), in file order. */
export function readAlerts(file: string = alertsFile): AlertRule[] {
  const parsed = parse(readFileSync(file, "utf8")) as RuleGroups;
  return parsed.groups.flatMap((group) => group.rules.filter((rule) => "alert" in rule));
}

/** The metric names the alerts read, each once, sorted. */
export function alertMetricNames(alerts: ReadonlyArray<AlertRule> = readAlerts()): string[] {
  return [...new Set(alerts.flatMap((rule) => metricNames(rule.expr)))].sort();
}
