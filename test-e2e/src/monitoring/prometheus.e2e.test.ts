// The chart's alerts and dashboard against a real Prometheus (built from the Go module proxy by
// @odigos/control-plane) scraping the instrumentor on a cluster with pods, with the chart's
// rules file loaded as is: every metric the rules and the dashboard name is one the instrumentor
// exports; a rollout that cannot complete fires OdigosInstrumentorRolloutStuck, and a rollback
// that opens the circuit breaker fires OdigosInstrumentorCircuitBreakerOpen (and
// OdigosInstrumentorRollbacks), as Prometheus' own API reports them; each resolves when its cause
// is gone (the workload opted out; the breaker cleared by the README's command).
import {
  ensurePrometheus,
  type PrometheusAlert,
  type PrometheusServer,
  podStageAnnotations,
  startPrometheus,
} from "@odigos/control-plane";
import { alertMetricNames, alertsFile, dashboardExprs, metricNames } from "@odigos/monitoring";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetBreakerByCommand } from "../support/breaker.js";
import { communityDevices, defaultSdks, device, javaEnterprise } from "../support/odigos.js";
import {
  type PodsBed,
  rollbackOf,
  startPodsBed,
  waitForRollout,
  waitForTemplateDevices,
} from "../support/pods-cluster.js";
import { leaderProcessOptions } from "../support/status-views.js";
import { waitFor } from "../support/wait-for.js";

const podName = "odigos-instrumentor-7c5d9-prom";
const goDevice = device("go");
const optIn = { "odigos.io/instrument": "true" };
const rolloutTimeoutS = 20;

/** The metric names a Prometheus text exposition declares (histograms with their series' suffixes). */
const exportedNames = (text: string): Set<string> => {
  const names = new Set<string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = "", type] = match;
    names.add(name);
    if (type === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${name}${suffix}`);
  }
  return names;
};

describe("alerts and dashboard against a real Prometheus", { timeout: 420_000 }, () => {
  let bed: PodsBed;
  let prometheus: PrometheusServer | undefined;
  let ns: string;
  const leader = leaderProcessOptions(podName);

  // On a first run the global setup may still be building Prometheus: this waits for it (the
  // hook's bound is that build's, not the cluster's start).
  beforeAll(async () => {
    const release = await ensurePrometheus();
    bed = await startPodsBed({
      pods: { nodes: 2, devices: communityDevices },
      defaultSDKs: { ...defaultSdks, java: { sdkType: "native", sdkTier: "enterprise" } },
      args: [
        "--log-level=debug",
        ...leader.args,
        `--rollout-timeout=${rolloutTimeoutS}s`,
        "--breaker-threshold=1",
        "--rollback-restarts=2",
      ],
      env: leader.env,
    });
    prometheus = await startPrometheus({
      prometheus: release.prometheus,
      dataDir: bed.controlPlane.dataDir,
      targets: [
        {
          address: `127.0.0.1:${bed.instrumentor.metricsPort}`,
          labels: { namespace: bed.odigosNamespace, pod: podName },
        },
      ],
      ruleFiles: [alertsFile],
    });
    ns = await bed.namespace("alerts", optIn);
  }, 1_800_000);
  afterAll(async () => {
    // Before the control plane, whose stop() removes the folder of Prometheus' data and log.
    await prometheus?.stop();
    await bed?.stop();
  });

  const alerts = async (name: string): Promise<PrometheusAlert[]> =>
    ((await prometheus?.alerts()) ?? []).filter((alert) => alert.labels.alertname === name);
  const firing = (name: string, timeoutMs = 120_000) =>
    waitFor(
      async () => {
        const found = (await alerts(name)).filter((alert) => alert.state === "firing");
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs, intervalMs: 500, description: `${name} firing in Prometheus` },
    );
  const resolved = (name: string, timeoutMs = 180_000) =>
    waitFor(async () => (await alerts(name)).length === 0, {
      timeoutMs,
      intervalMs: 500,
      description: `${name} resolved in Prometheus`,
    });

  it("scrapes the instrumentor, and every metric the rules and the dashboard name is one it exports", async () => {
    await waitFor(
      async () => {
        const targets = (await prometheus?.targets()) ?? [];
        return targets.length === 1 && targets[0]?.health === "up";
      },
      { timeoutMs: 60_000, intervalMs: 500, description: "the instrumentor scraped, up" },
    );
    const exported = exportedNames(await bed.instrumentor.metrics());
    const used = new Set([...alertMetricNames(), ...dashboardExprs().flatMap(metricNames)]);
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !exported.has(name)).sort()).toEqual([]);
    // The leader alert selects the default Lease name: the gauge carries it.
    const leading = await waitFor(
      async () => {
        const samples =
          (await prometheus?.query(
            'leader_election_master_status{name="instrumentor.odigos.io"}',
          )) ?? [];
        return samples.length > 0 ? samples : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: "the leader gauge in Prometheus" },
    );
    expect(leading.map((sample) => sample.value)).toEqual([1]);
    // Nothing fires on a healthy, idle instrumentor.
    expect(((await prometheus?.alerts()) ?? []).map((alert) => alert.labels.alertname)).toEqual([]);
  });

  it("a rollout that cannot complete fires OdigosInstrumentorRolloutStuck, resolved once the workload is opted out", async () => {
    await bed.cluster.createWorkload("Deployment", ns, "stuck", { replicas: 1 });
    await waitForRollout(bed.cluster, "Deployment", ns, "stuck", 120_000);
    await bed.cluster.putRuntimeDetails("Deployment", ns, "stuck", [
      { containerName: "app", language: "java" },
    ]);
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "stuck", { app: [javaEnterprise] });
    const [alert] = await firing(
      "OdigosInstrumentorRolloutStuck",
      rolloutTimeoutS * 1000 + 120_000,
    );
    expect(alert?.labels).toMatchObject({ namespace: bed.odigosNamespace, severity: "warning" });
    expect(alert?.annotations.runbook_url).toMatch(/README\.md#odigosinstrumentorrolloutstuck$/);
    expect(alert?.annotations.description).toMatch(/^1 workloads have a rollout/);
    await bed.cluster.annotateWorkload("Deployment", ns, "stuck", {
      "odigos.io/instrument": "false",
    });
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "stuck", {}, 60_000);
    await resolved("OdigosInstrumentorRolloutStuck");
  });

  it("a rollback that opens the breaker fires OdigosInstrumentorCircuitBreakerOpen and OdigosInstrumentorRollbacks; clearing the breaker resolves the first", async () => {
    await bed.cluster.createWorkload("Deployment", ns, "crashy", {
      podAnnotations: { [podStageAnnotations.crashLoopResource]: goDevice },
    });
    await waitForRollout(bed.cluster, "Deployment", ns, "crashy", 120_000);
    await bed.cluster.putRuntimeDetails("Deployment", ns, "crashy", [
      { containerName: "app", language: "go" },
    ]);
    const record = await waitFor(() => rollbackOf(bed, ns, "crashy"), {
      timeoutMs: 120_000,
      description: `${ns}/crashy rolled back`,
    });
    const [open] = await firing("OdigosInstrumentorCircuitBreakerOpen");
    expect(open?.labels).toMatchObject({ namespace: bed.odigosNamespace, severity: "warning" });
    const rollbacks = await firing("OdigosInstrumentorRollbacks");
    expect(rollbacks.map((alert) => alert.labels.reason)).toEqual([record.reason]);
    // The README's command (apps/instrumentor/README.md, "Circuit breaker"), as a person runs it.
    await resetBreakerByCommand(bed.controlPlane.kubeconfigPath);
    await resolved("OdigosInstrumentorCircuitBreakerOpen");
    // A rollback stays news for the hour.
    expect((await alerts("OdigosInstrumentorRollbacks")).length).toBe(1);
  });
});
