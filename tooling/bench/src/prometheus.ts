/** `apiserver_request_total` by verb and resource, and the difference between two scrapes. */
import { parseSamples } from "@odigos/harness";

/** `verb resource[/subresource]` for an `apiserver_request_total` sample; non-resource URLs as `verb (non-resource)`. */
export const requestKey = (labels: Readonly<Record<string, string>>): string => {
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
