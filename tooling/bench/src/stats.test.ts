import { describe, expect, it } from "vitest";
import { median, percentile, summarize } from "./stats.js";

describe("percentile (nearest rank)", () => {
  it("picks the smallest sample with at least p percent at or below it", () => {
    const values = [15, 20, 35, 40, 50];
    expect(percentile(values, 0)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
  });

  it("does not depend on the order of the samples", () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
  });

  it("p99 of 200 samples is the 198th smallest", () => {
    const values = Array.from({ length: 200 }, (_, index) => 200 - index);
    expect(percentile(values, 99)).toBe(198);
  });

  it("is undefined for no samples and rejects p outside 0-100", () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe("summarize", () => {
  it("gives count, extremes, percentiles and mean", () => {
    const summary = summarize([4, 1, 3, 2]);
    expect(summary).toEqual({ count: 4, min: 1, p50: 2, p90: 4, p99: 4, max: 4, mean: 2.5 });
    expect(summarize([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
  });
});
