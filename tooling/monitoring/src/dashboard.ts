/**
 * The instrumentor's Grafana dashboard as code, built with Grafana's own types
 * (`@grafana/grafana-foundation-sdk`): the fleet by state and reason, the rollouts it causes and
 * their budget, its guards (rollbacks, breaker, fights), its traffic with the API server, and the
 * process. `pnpm --filter @odigos/monitoring generate` writes it into the chart.
 */
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

/** The dashboard's uid: stable, so that a provisioned copy is replaced, not duplicated. */
export const dashboardUid = "odigos-instrumentor";

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template.
const datasource = { type: "prometheus", uid: "${datasource}" };
/** The instrumentor's pods: generic metrics (process, Node.js) are read only from them. */
const ours = 'namespace=~"$namespace", pod=~"$pod"';

interface Query {
  readonly expr: string;
  readonly legend: string;
}

const target = ({ expr, legend }: Query, refId: string) =>
  new DataqueryBuilder().datasource(datasource).expr(expr).legendFormat(legend).refId(refId);

const refIds = "ABCDEFGH";

const timeseries = (
  title: string,
  description: string,
  unit: string,
  queries: ReadonlyArray<Query>,
  width = 8,
) => {
  const panel = new TimeseriesPanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .min(0)
    .height(8)
    .span(width);
  for (const [i, query] of queries.entries()) panel.withTarget(target(query, refIds[i] ?? "Z"));
  return panel;
};

const stat = (title: string, description: string, query: Query, width = 4) =>
  new StatPanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .height(4)
    .span(width)
    .withTarget(target(query, "A"));

const rate = (metric: string, by: string) =>
  `sum by (${by}) (rate(${metric}{${ours}}[$__rate_interval]))`;

const increase = (metric: string, by: string) =>
  `sum by (${by}) (increase(${metric}{${ours}}[$__rate_interval]))`;

const fleet = (): Array<cog.Builder<unknown>> => [
  new RowBuilder("Fleet"),
  stat("Instrumented", "Workloads carrying the devices they should, rollout complete", {
    expr: `max(sum by (pod) (odigos_instrumentor_workloads{${ours}, state="Instrumented"}))`,
    legend: "instrumented",
  }),
  stat("Not instrumented, opted in", "Opted-in workloads held, waiting or not instrumented", {
    expr: `max(sum by (pod) (odigos_instrumentor_workloads{${ours}, state=~"Waiting|Held|NotInstrumented", reason!~"NotOptedIn|OptedOutByWorkload"}))`,
    legend: "not instrumented",
  }),
  stat("Circuit breaker", "1 while the breaker stops all new instrumentation", {
    expr: `max(odigos_instrumentor_circuit_breaker_open{${ours}})`,
    legend: "open",
  }),
  stat("Leader", "Replicas holding the leader Lease (1 expected)", {
    expr: `sum(leader_election_master_status{${ours}})`,
    legend: "leaders",
  }),
  stat("Ready", "Replicas answering /readyz ok", {
    expr: `sum(odigos_instrumentor_ready{${ours}})`,
    legend: "ready",
  }),
  stat("Waiting for a slot", "Workloads waiting for a rollout slot (--max-concurrent-rollouts)", {
    expr: `max(odigos_instrumentor_rollouts_waiting{${ours}})`,
    legend: "waiting",
  }),
  timeseries("Workloads by state", "SPEC section 9: every workload's state", "short", [
    {
      expr: `max by (state) (sum by (pod, state) (odigos_instrumentor_workloads{${ours}}))`,
      legend: "{{state}}",
    },
  ]),
  timeseries(
    "Why not instrumented",
    "Workloads not instrumented (or held), by reason: kubectl odigos-instrumentor status -A lists them",
    "short",
    [
      {
        expr: `max by (reason) (sum by (pod, reason) (odigos_instrumentor_workloads{${ours}, state!="Instrumented"}))`,
        legend: "{{reason}}",
      },
    ],
    16,
  ),
];

const rollouts = (): Array<cog.Builder<unknown>> => [
  new RowBuilder("Rollouts and guards"),
  timeseries(
    "Rollouts",
    "Rollouts the instrumentor caused: in flight, waiting, and the window the slow start allows",
    "short",
    [
      { expr: `max(odigos_instrumentor_rollouts_in_flight{${ours}})`, legend: "in flight" },
      { expr: `max(odigos_instrumentor_rollouts_waiting{${ours}})`, legend: "waiting" },
      { expr: `max(odigos_instrumentor_rollout_window{${ours}})`, legend: "window (0: unlimited)" },
    ],
  ),
  timeseries(
    "Rollouts ended",
    "By result: completed, stuck (past --rollout-timeout), failed",
    "short",
    [{ expr: increase("odigos_instrumentor_rollouts_total", "result"), legend: "{{result}}" }],
  ),
  timeseries(
    "Rollbacks and fights",
    "Instrumentations rolled back, by reason; fights with other writers",
    "short",
    [
      {
        expr: increase("odigos_instrumentor_rollbacks_total", "reason"),
        legend: "rollback: {{reason}}",
      },
      { expr: `max(odigos_instrumentor_fights{${ours}})`, legend: "fights paused" },
      { expr: increase("odigos_instrumentor_fights_total", "pod"), legend: "fights detected" },
    ],
  ),
];

const traffic = (): Array<cog.Builder<unknown>> => [
  new RowBuilder("API server"),
  timeseries(
    "Writes",
    "Writes sent to the API server, by kind, verb and result (0 when converged)",
    "wps",
    [
      {
        expr: rate("odigos_instrumentor_writes_total", "kind, verb, result"),
        legend: "{{verb}} {{kind}} {{result}}",
      },
    ],
  ),
  timeseries(
    "Watch events",
    "Objects each informer received (list items and watch events)",
    "ops",
    [
      { expr: rate("odigos_instrumentor_watch_events_total", "informer"), legend: "{{informer}}" },
      {
        expr: rate("odigos_instrumentor_watch_failures_total", "informer"),
        legend: "failures: {{informer}}",
      },
    ],
  ),
  timeseries("Reconciles", "Reconciles by result, and the work queue's depth", "short", [
    { expr: rate("controller_runtime_reconcile_total", "result"), legend: "{{result}} /s" },
    { expr: `max(workqueue_depth{${ours}})`, legend: "queue depth" },
    {
      expr: rate("odigos_instrumentor_decode_errors_total", "kind"),
      legend: "decode errors: {{kind}} /s",
    },
  ]),
];

const process = (): Array<cog.Builder<unknown>> => [
  new RowBuilder("Process"),
  timeseries(
    "Memory",
    "Resident memory and V8 heap per replica",
    "bytes",
    [
      { expr: `process_resident_memory_bytes{${ours}}`, legend: "RSS {{pod}}" },
      { expr: `nodejs_heap_size_used_bytes{${ours}}`, legend: "heap used {{pod}}" },
    ],
    12,
  ),
  timeseries(
    "CPU",
    "CPU seconds per second per replica",
    "percentunit",
    [{ expr: rate("process_cpu_seconds_total", "pod"), legend: "{{pod}}" }],
    12,
  ),
];

/** The dashboard, as Grafana's types build it. */
export function buildDashboard(): Dashboard {
  const builder = new DashboardBuilder("Odigos instrumentor")
    .uid(dashboardUid)
    .description('What the Odigos instrumentor does and why: README, "Alerts and dashboard"')
    .tags(["odigos", "instrumentor"])
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .tooltip(DashboardCursorSync.Crosshair)
    .withVariable(
      new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"),
    )
    .withVariable(
      new QueryVariableBuilder("namespace")
        .label("Namespace")
        .datasource(datasource)
        .query("label_values(odigos_instrumentor_ready, namespace)")
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .includeAll(true)
        .allValue(".*"),
    )
    .withVariable(
      new QueryVariableBuilder("pod")
        .label("Pod")
        .datasource(datasource)
        .query('label_values(odigos_instrumentor_ready{namespace=~"$namespace"}, pod)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .includeAll(true)
        .allValue(".*"),
    );
  for (const panel of [...fleet(), ...rollouts(), ...traffic(), ...process()]) {
    if (panel instanceof RowBuilder) builder.withRow(panel);
    else builder.withPanel(panel as cog.Builder<never>);
  }
  return builder.build();
}

/** The dashboard as the chart holds it: JSON, two-space indented, one trailing newline. */
export const dashboardJson = (): string => `${JSON.stringify(buildDashboard(), null, 2)}\n`;

/** Every PromQL expression of the dashboard's panels and variables. */
export function dashboardExprs(dashboard: Dashboard = buildDashboard()): string[] {
  const panels = (dashboard.panels ?? []) as Array<{ targets?: Array<{ expr?: string }> }>;
  const fromPanels = panels.flatMap((panel) => (panel.targets ?? []).flatMap((t) => t.expr ?? []));
  const fromVariables = (dashboard.templating?.list ?? []).flatMap((variable) => {
    const query = variable.query;
    const inner =
      typeof query === "string" ? /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1] : undefined;
    return inner === undefined ? [] : [inner];
  });
  return [...fromPanels, ...fromVariables];
}
