import { describe, expect, it } from "vitest";
import { metricSum, parseLabels, parseSamples } from "./prometheus.js";

const text = `# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="workload",result="success"} 850
controller_runtime_reconcile_total{controller="workload",result="error"} 2
controller_runtime_reconcile_total{controller="workload",result="requeue_after"} 1000
controller_runtime_reconcile_total{controller="workload",result="odd}label"} 1
controller_runtime_reconcile_total 3
controller_runtime_reconcile_total_extra{controller="workload"} 99
controller_runtime_reconcile_time_seconds_bucket{controller="workload",le="0.005"} 12
`;

describe("Prometheus text parsing", () => {
  it("parses label values with escapes and braces", () => {
    expect(parseLabels('a="x",b="y\\"z",c="{}",d="line\\nbreak"')).toEqual({
      a: "x",
      b: 'y"z',
      c: "{}",
      d: "line\nbreak",
    });
  });

  it("reads only the samples of the exact metric name", () => {
    const samples = parseSamples(text, "controller_runtime_reconcile_total");
    expect(samples).toHaveLength(5);
    expect(samples[0]?.labels.result).toBe("success");
    expect(samples[0]?.value).toBe(850);
    expect(samples[3]?.labels.result).toBe("odd}label");
    expect(metricSum(text, "controller_runtime_reconcile_total")).toBe(1856);
    expect(
      metricSum('workqueue_depth{name="workload"} 3\nworkqueue_depth 2\n', "workqueue_depth"),
    ).toBe(5);
  });
});
