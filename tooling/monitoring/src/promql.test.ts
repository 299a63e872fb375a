import { describe, expect, it } from "vitest";
import { metricNames, PromQLSyntaxError } from "./promql.js";

describe("metricNames", () => {
  it("names every selected metric, not functions, labels or keywords", () => {
    expect(
      metricNames(
        'sum by (reason) (increase(odigos_instrumentor_rollbacks_total{reason!="x"}[1h])) > 0 and on() max(leader_election_master_status) == 1 or histogram_quantile(0.9, sum by (le) (rate(controller_runtime_reconcile_time_seconds_bucket[5m])))',
      ),
    ).toEqual([
      "controller_runtime_reconcile_time_seconds_bucket",
      "leader_election_master_status",
      "odigos_instrumentor_rollbacks_total",
    ]);
  });

  it("reads Grafana's expressions, with their variables", () => {
    expect(
      metricNames(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template.
        'sum by (kind) (rate(odigos_instrumentor_writes_total{namespace=~"$namespace", pod=~"${pod}"}[$__rate_interval]))',
      ),
    ).toEqual(["odigos_instrumentor_writes_total"]);
  });

  it("fails on what Prometheus would not parse, naming the expression", () => {
    expect(() => metricNames("sum(rate(foo[5m])")).toThrow(PromQLSyntaxError);
    expect(() => metricNames("sum(rate(foo[5m])")).toThrow(/sum\(rate\(foo\[5m\]\)/);
  });
});
