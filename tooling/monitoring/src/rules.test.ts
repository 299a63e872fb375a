import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readmeFile } from "./files.js";
import { alertMetricNames, readAlerts } from "./rules.js";

/** GitHub's anchor of a markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replaceAll(/[^\w\- ]/g, "")
    .replaceAll(" ", "-");

describe("the chart's alerts", () => {
  const alerts = readAlerts();

  it("each say what it means and what to do: summary, description, and a runbook section of the README", () => {
    const headings = new Set(
      readFileSync(readmeFile, "utf8")
        .split("\n")
        .filter((line) => line.startsWith("#"))
        .map((line) => anchor(line.replace(/^#+/, ""))),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    for (const rule of alerts) {
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? "";
      expect(url, rule.alert).toMatch(
        /^https:\/\/github\.com\/odigos-io\/odigos-ts\/blob\/main\/README\.md#/,
      );
      const section = url.split("#")[1] ?? "";
      expect(section, rule.alert).toBe(rule.alert.toLowerCase());
      expect(headings.has(section), `README has no section #${section}`).toBe(true);
      expect(["critical", "warning", "info"], rule.alert).toContain(rule.labels?.severity);
    }
  });

  it("have distinct names and read the instrumentor's metrics", () => {
    expect(new Set(alerts.map((rule) => rule.alert)).size).toBe(alerts.length);
    expect(alertMetricNames(alerts)).toEqual([
      "leader_election_master_status",
      "odigos_instrumentor_circuit_breaker_open",
      "odigos_instrumentor_fights",
      "odigos_instrumentor_ready",
      "odigos_instrumentor_rollbacks_total",
      "odigos_instrumentor_rollouts_waiting",
      "odigos_instrumentor_watch_failures_total",
      "odigos_instrumentor_workloads",
    ]);
  });
});
