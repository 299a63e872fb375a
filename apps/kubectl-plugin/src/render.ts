/** The plugin's text output: the fleet summary first, then a table, as kubectl prints. */
import type { DesiredDevices } from "@odigos/instrumentation-rules";
import type { FleetReport, StatusRow } from "./fleet.js";

/** Columns padded to their widest cell, two spaces apart, as `kubectl get` aligns them. */
export const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
) => {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join("  ");
  return [line(header), ...rows.map(line)].join("\n");
};

/** `app: go-ebpf-community` per container, short device names. */
export const describeDevices = (devices: DesiredDevices): string =>
  Object.entries(devices)
    .map(
      ([container, names]) =>
        `${container}:${names.map((name) => name.replace("instrumentation.odigos.io/", "")).join("+")}`,
    )
    .join(",") || "-";

const counts = (record: Readonly<Partial<Record<string, number>>>) =>
  Object.entries(record)
    .sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))
    .map(([key, count]) => `${key} ${count}`)
    .join(", ");

/** The summary lines: totals by state, then by reason. */
export const renderSummary = (report: FleetReport): string =>
  [
    `${report.total} workloads: ${counts(report.byState) || "none"}`,
    `by reason: ${counts(report.byReason) || "none"}`,
    "unavailable" in report.live
      ? `live facts unavailable: ${report.live.unavailable}; queue positions, fights, the breaker and the collectors' grace are not shown`
      : `live facts: ${report.live.source} at ${report.live.at}`,
    ...report.invalid.map((problem) => `not decoded: ${problem}`),
  ].join("\n");

const cells = (row: StatusRow, wide: boolean): ReadonlyArray<string> => [
  row.namespace,
  row.kind,
  row.name,
  row.state,
  row.reason,
  describeDevices(row.devices.present),
  row.pods === null ? "-" : `${row.pods.withDevice}/${row.pods.desired ?? "-"}`,
  ...(wide ? [row.message, row.remedy ?? ""] : []),
];

/** `status` as text: the summary, a blank line, one row per workload. */
export const renderStatus = (report: FleetReport, wide: boolean): string => {
  const header = ["NAMESPACE", "KIND", "NAME", "STATE", "REASON", "DEVICES", "PODS"];
  const rows = report.rows.map((row) => cells(row, wide));
  return `${renderSummary(report)}\n\n${table(wide ? [...header, "MESSAGE", "REMEDY"] : header, rows)}\n`;
};
