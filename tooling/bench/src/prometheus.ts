/** Just enough of the Prometheus text format to diff counters. */

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const unescapeLabel = (value: string): string =>
  value.replace(/\\(.)/g, (_, char: string) => (char === "n" ? "\n" : char));

/** Parses `a="x",b="y\"z"` (the part between the braces). */
export const parseLabels = (text: string): Record<string, string> => {
  const labels: Record<string, string> = {};
  const pattern = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/g;
  for (const match of text.matchAll(pattern)) {
    const [, name, value] = match;
    if (name !== undefined && value !== undefined) labels[name] = unescapeLabel(value);
  }
  return labels;
};

/** Every sample of metric `name` (exact name, no suffix) in a Prometheus text exposition. */
export const parseSamples = (text: string, name: string): Sample[] => {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    let valuePart: string;
    if (rest.startsWith("{")) {
      // Label values may hold `}`; the label set ends at the last `}` before the value.
      const close = rest.lastIndexOf("}");
      if (close < 0) continue;
      labels = parseLabels(rest.slice(1, close));
      valuePart = rest.slice(close + 1);
    } else if (rest.startsWith(" ")) {
      valuePart = rest;
    } else {
      continue; // another metric sharing the prefix, e.g. `name_bucket`
    }
    const value = Number(valuePart.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) samples.push({ labels, value });
  }
  return samples;
};

/** Sum of every sample of `name`. */
export const metricSum = (text: string, name: string): number =>
  parseSamples(text, name).reduce((sum, sample) => sum + sample.value, 0);

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
