import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildDashboard, dashboardExprs, dashboardJson, dashboardUid } from "./dashboard.js";
import { dashboardFile } from "./files.js";
import { metricNames } from "./promql.js";

describe("the dashboard", () => {
  it("is in the chart as dashboard.ts builds it (run `pnpm --filter @odigos/monitoring generate`)", () => {
    expect(readFileSync(dashboardFile, "utf8")).toBe(dashboardJson());
  });

  it("has a stable uid, a Prometheus data source variable, and panels that fit a 24-column grid", () => {
    const dashboard = buildDashboard();
    expect(dashboard.uid).toBe(dashboardUid);
    expect(dashboard.templating?.list?.map((variable) => variable.name)).toEqual([
      "datasource",
      "namespace",
      "pod",
    ]);
    for (const panel of dashboard.panels ?? []) {
      const { x = 0, w = 0 } = (panel as { gridPos?: { x?: number; w?: number } }).gridPos ?? {};
      expect(x + w, `${(panel as { title?: string }).title} overflows`).toBeLessThanOrEqual(24);
    }
  });

  it("queries only valid PromQL, every panel at least one metric", () => {
    const panels = (buildDashboard().panels ?? []) as Array<{
      type: string;
      title: string;
      targets?: Array<{ expr?: string }>;
    }>;
    for (const panel of panels.filter((p) => p.type !== "row")) {
      const names = (panel.targets ?? []).flatMap((t) => metricNames(t.expr ?? ""));
      expect(names.length, panel.title).toBeGreaterThan(0);
    }
    expect(dashboardExprs().length).toBeGreaterThan(panels.length);
  });
});
