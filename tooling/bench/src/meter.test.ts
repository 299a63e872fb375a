import { describe, expect, it } from "vitest";
import { gcSecondsOf } from "./meter.js";

describe("the instrumentor's GC seconds", () => {
  it("are read from prom-client's nodejs_gc_duration_seconds by kind", () => {
    const text = [
      "# TYPE nodejs_gc_duration_seconds histogram",
      'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 10',
      'nodejs_gc_duration_seconds_sum{kind="minor"} 0.25',
      'nodejs_gc_duration_seconds_count{kind="minor"} 40',
      'nodejs_gc_duration_seconds_sum{kind="major"} 0.5',
      'nodejs_gc_duration_seconds_sum{kind="incremental"} 0.125',
      'nodejs_gc_duration_seconds_sum{kind="weakcb"} 0.001',
    ].join("\n");
    expect(gcSecondsOf(text)).toEqual({ minor: 0.25, major: 0.5, incremental: 0.125 });
  });

  it("are unknown when the metrics do not have them", () => {
    expect(gcSecondsOf("process_cpu_seconds_total 1")).toBeUndefined();
  });
});
