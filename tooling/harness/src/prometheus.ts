/** Just enough of the Prometheus text format to read the instrumentor's and the API server's counters. */

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
