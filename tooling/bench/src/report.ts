/** The results as markdown: figures per phase, targets, and who asked the API server for what. */
import type { RequestSummary, Summary, Target } from "./types.js";

/** A markdown table with padded columns; `align` per column, `l` (default) or `r`. */
export const renderTable = (
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align: ReadonlyArray<"l" | "r"> = [],
): string => {
  const escapeCell = (cell: string) => cell.replaceAll("|", "\\|").replaceAll("\n", " ");
  const cells = [headers, ...rows].map((row) =>
    headers.map((_, index) => escapeCell(row[index] ?? "")),
  );
  const widths = headers.map((_, index) =>
    Math.max(3, ...cells.map((row) => (row[index] ?? "").length)),
  );
  const pad = (cell: string, index: number) =>
    align[index] === "r" ? cell.padStart(widths[index] ?? 0) : cell.padEnd(widths[index] ?? 0);
  const line = (row: ReadonlyArray<string>) => `| ${row.map(pad).join(" | ")} |`;
  const rule = `| ${widths
    .map((width, index) => (align[index] === "r" ? `${"-".repeat(width - 1)}:` : "-".repeat(width)))
    .join(" | ")} |`;
  const [head = [], ...body] = cells;
  return [line(head), rule, ...body.map(line)].join("\n");
};

export const seconds = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? "–" : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const millis = (ms: number | undefined): string =>
  ms === undefined || !Number.isFinite(ms) ? "–" : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
export const ratio = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? "–" : `${value.toFixed(2)}×`;
export const megabytes = (bytes: number | undefined): string =>
  bytes === undefined || bytes === 0 ? "–" : `${(bytes / 1024 / 1024).toFixed(0)} MB`;
export const fixed = (value: number | undefined, digits = 2): string =>
  value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);

export interface PhaseRow {
  readonly name: string;
  readonly wallMs: number | undefined;
  readonly floorMs?: number | undefined;
  readonly bestFloorMs?: number | undefined;
  readonly bestFloorConcurrency?: number | undefined;
  /** Workloads the phase had to change (for per-workload figures). */
  readonly workloads?: number | undefined;
  readonly requests?: RequestSummary | undefined;
  readonly apiServerRequests?: number | undefined;
  readonly peakRssBytes?: number | undefined;
  readonly cpuSeconds?: number | undefined;
  readonly apiServerCpuSeconds?: number | undefined;
  /** Cores used by processes outside the benchmark. */
  readonly otherCores?: number | undefined;
}

export const renderPhases = (rows: ReadonlyArray<PhaseRow>, floorConcurrency = 8): string =>
  renderTable(
    [
      "phase",
      "wall",
      `floor c=${floorConcurrency}`,
      "× floor",
      "best floor",
      "× best",
      "instr. requests",
      "workload writes / wl",
      "other writes",
      "409s",
      "workload GETs",
      "API-server requests (all)",
      "peak RSS",
      "instr. CPU",
      "apiserver CPU",
      "other load",
    ],
    rows.map((row) => {
      const perWorkload =
        row.requests !== undefined && row.workloads !== undefined && row.workloads > 0
          ? `${fixed(row.requests.workloadWrites / row.workloads)} (${row.requests.workloadWrites}/${row.workloads}, max ${row.requests.maxWritesPerWorkload})`
          : row.requests === undefined
            ? "–"
            : String(row.requests.workloadWrites);
      return [
        row.name,
        seconds(row.wallMs),
        seconds(row.floorMs),
        row.floorMs === undefined || row.wallMs === undefined
          ? "–"
          : ratio(row.wallMs / row.floorMs),
        row.bestFloorMs === undefined
          ? "–"
          : `${seconds(row.bestFloorMs)} (c=${row.bestFloorConcurrency ?? "?"})`,
        row.bestFloorMs === undefined || row.wallMs === undefined
          ? "–"
          : ratio(row.wallMs / row.bestFloorMs),
        row.requests === undefined ? "–" : String(row.requests.total),
        perWorkload,
        row.requests === undefined
          ? "–"
          : String(row.requests.writes - row.requests.workloadWrites),
        row.requests === undefined ? "–" : String(row.requests.conflicts),
        row.requests === undefined ? "–" : String(row.requests.workloadGets),
        row.apiServerRequests === undefined ? "–" : String(row.apiServerRequests),
        megabytes(row.peakRssBytes),
        row.cpuSeconds === undefined ? "–" : `${fixed(row.cpuSeconds)} s`,
        row.apiServerCpuSeconds === undefined ? "–" : `${fixed(row.apiServerCpuSeconds)} s`,
        row.otherCores === undefined ? "–" : `${fixed(row.otherCores, 1)} cores`,
      ];
    }),
    ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
  );

export const renderTargets = (targets: ReadonlyArray<Target>): string =>
  renderTable(
    ["target", "goal", "measured", "met"],
    targets.map((target) => [
      target.name,
      target.target,
      target.measured,
      target.met === undefined ? "n/a" : target.met ? "yes" : "**no**",
    ]),
  );

export const renderLatency = (
  rows: ReadonlyArray<{ readonly name: string; readonly summary: Summary | undefined }>,
): string =>
  renderTable(
    ["latency", "n", "p50", "p90", "p99", "max"],
    rows.map(({ name, summary }) => [
      name,
      String(summary?.count ?? 0),
      millis(summary?.p50),
      millis(summary?.p90),
      millis(summary?.p99),
      millis(summary?.max),
    ]),
    ["l", "r", "r", "r", "r", "r"],
  );

/** `patch deployments 850 · create events 1000` (largest first, at most `limit`). */
export const breakdown = (counts: Readonly<Record<string, number>>, limit = 8): string => {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, limit).map(([key, count]) => `${key} ${count}`);
  if (entries.length > limit) shown.push(`… ${entries.length - limit} more`);
  return shown.length === 0 ? "none" : shown.join(" · ");
};
