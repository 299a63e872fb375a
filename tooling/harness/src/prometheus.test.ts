import { describe, expect, it } from "vitest";
import { metricSum, parseLabels, parseSamples } from "./prometheus.js";

const text = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="PATCH",version="v1"} 850
apiserver_request_total{code="409",component="apiserver",dry_run="",group="apps",resource="deployments",scope="resource",subresource="",verb="PATCH",version="v1"} 2
apiserver_request_total{code="201",component="apiserver",dry_run="",group="events.k8s.io",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 1000
apiserver_request_total{code="200",component="apiserver",dry_run="",group="odigos.io",resource="collectorsgroups",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 1
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 3
apiserver_request_total_extra{verb="GET"} 99
apiserver_request_duration_seconds_bucket{verb="GET",le="0.005"} 12
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
    const samples = parseSamples(text, "apiserver_request_total");
    expect(samples).toHaveLength(5);
    expect(samples[0]?.labels.resource).toBe("deployments");
    expect(samples[0]?.value).toBe(850);
    expect(metricSum(text, "apiserver_request_total")).toBe(1856);
    expect(
      metricSum('workqueue_depth{name="workload"} 3\nworkqueue_depth 2\n', "workqueue_depth"),
    ).toBe(5);
  });
});
