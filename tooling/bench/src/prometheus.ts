/** `apiserver_request_total` by verb and resource, and the difference between two scrapes. */
import { parseSamples } from "@odigos/harness";
import type { V8Spaces } from "./types.js";

/** `verb resource[/subresource]` for an `apiserver_request_total` sample; non-resource URLs as `verb (non-resource)`. */
const requestKey = (labels: Readonly<Record<string, string>>): string => {
  const verb = (labels.verb ?? "?").toLowerCase();
  const resource = labels.resource ?? "";
  if (resource === "") return `${verb} (non-resource)`;
  const subresource = labels.subresource ?? "";
  return `${verb} ${resource}${subresource === "" ? "" : `/${subresource}`}`;
};

/** `apiserver_request_total` summed by {@link requestKey}. */
export const requestTotals = (text: string): Map<string, number> => {
  const totals = new Map<string, number>();
  for (const sample of parseSamples(text, "apiserver_request_total")) {
    const key = requestKey(sample.labels);
    totals.set(key, (totals.get(key) ?? 0) + sample.value);
  }
  return totals;
};

/** `after - before` per key, keeping only keys that moved, sorted by count (largest first). */
export const diffTotals = (
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): Record<string, number> => {
  const diff: Array<[string, number]> = [];
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) diff.push([key, delta]);
  }
  diff.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return Object.fromEntries(diff);
};

/**
 * V8's heap spaces from a Node process's prom-client default metrics
 * (`nodejs_heap_space_size_total_bytes` and `…_used_bytes`, label `space`).
 */
export const v8Spaces = (text: string): V8Spaces => {
  const spaces: Record<string, { total: number; used: number }> = {};
  for (const [metric, field] of [
    ["nodejs_heap_space_size_total_bytes", "total"],
    ["nodejs_heap_space_size_used_bytes", "used"],
  ] as const) {
    for (const { labels, value } of parseSamples(text, metric)) {
      const name = labels.space;
      if (name === undefined) continue;
      spaces[name] ??= { total: 0, used: 0 };
      spaces[name][field] = value;
    }
  }
  return spaces;
};
