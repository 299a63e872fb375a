import { describe, expect, it } from "vitest";
import { diffTotals, requestTotals, v8Spaces } from "./prometheus.js";

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

describe("apiserver_request_total", () => {
  it("sums apiserver_request_total by verb and resource, and diffs two scrapes", () => {
    const before = requestTotals(text);
    expect(before.get("patch deployments")).toBe(852);
    expect(before.get("patch collectorsgroups/status")).toBe(1);
    expect(before.get("get (non-resource)")).toBe(3);
    const after = requestTotals(
      text.replace("} 850", "} 1850").replace("} 1000", "} 1001").replace("} 3\n", "} 4\n"),
    );
    expect(diffTotals(before, after)).toEqual({
      "patch deployments": 1000,
      "get (non-resource)": 1,
      "post events": 1,
    });
  });
});

describe("V8's heap spaces", () => {
  it("reads committed and used bytes per space from prom-client's default metrics", () => {
    const metrics = [
      'nodejs_heap_space_size_total_bytes{space="old"} 20971520',
      'nodejs_heap_space_size_total_bytes{space="new"} 4194304',
      'nodejs_heap_space_size_used_bytes{space="old"} 15728640',
      'nodejs_heap_space_size_used_bytes{space="new"} 1048576',
      'nodejs_heap_space_size_available_bytes{space="old"} 1',
    ].join("\n");
    expect(v8Spaces(metrics)).toEqual({
      old: { total: 20971520, used: 15728640 },
      new: { total: 4194304, used: 1048576 },
    });
  });
});
