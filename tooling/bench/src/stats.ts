/** Small statistics over latency samples. */
import type { Summary } from "./types.js";

/**
 * The `p`-th percentile (0-100) of `values` by the nearest-rank method: the
 * smallest sample such that at least `p` percent of the samples are at or
 * below it. `undefined` for no samples.
 */
export const percentile = (values: ReadonlyArray<number>, p: number): number | undefined => {
  if (values.length === 0) return undefined;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0-100`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
};

/** Count, min, p50, p90, p99, max and mean; `undefined` for no samples. */
export const summarize = (values: ReadonlyArray<number>): Summary | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => percentile(sorted, p) ?? Number.NaN;
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
};

/** The median of `values` (nearest rank), `undefined` for none. */
export const median = (values: ReadonlyArray<number>): number | undefined => percentile(values, 50);
