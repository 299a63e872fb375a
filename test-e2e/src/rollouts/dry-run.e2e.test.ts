// SPEC section 8, dry run and hidden costs, on a cluster with pods: with --dry-run over 1000
// Deployments, 20 CronJobs and 20 Argo Rollouts (their CRD installed, no Argo controller) the
// reported plan names every workload a real run then changes, and the audit log shows no mutating
// request by the dry run; after the real run, a converged cluster sees no write, and a restarted
// instrumentor causes no rollout and reads no single object (no GET), whatever the kind.

import { countable, filterAudit, writeVerbs } from "@odigos/control-plane";
import {
  type InstrumentorProcess,
  metricSum,
  parseSamples,
  startInstrumentor,
} from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRollout, installArgoRolloutsCrd, rolloutDevices } from "../support/argo-rollouts.js";
import { createCronJob, cronJobDevices } from "../support/cluster.js";
import { type PodsCluster, startPodsCluster } from "../support/pods-cluster.js";
import { waitFor } from "../support/wait-for.js";

const workloads = 1000;
const optedOut = 20;
const names = Array.from({ length: workloads }, (_, i) => `w${String(i).padStart(4, "0")}`);
const outNames = Array.from({ length: optedOut }, (_, i) => `out${i}`);
/** Of each other kind: CronJobs and Argo Rollouts. */
const others = 20;
const cronJobs = Array.from({ length: others }, (_, i) => `cron${i}`);
const rollouts = Array.from({ length: others }, (_, i) => `ro${i}`);
const go = [{ containerName: "app", language: "go" as const }];
const odigosNamespace = "odigos-system";

interface DryRunReport {
  readonly workloads: ReadonlyArray<{
    readonly name: string;
    readonly writes: ReadonlyArray<{ readonly verb: string; readonly action: string }>;
  }>;
  readonly totals: Record<string, number>;
}

/** Runs `create` for every name, 8 at a time (one at a time, 2100 objects took minutes under load). */
const inBatches = async (all: readonly string[], create: (name: string) => Promise<void>) => {
  for (let index = 0; index < all.length; index += 8)
    await Promise.all(all.slice(index, index + 8).map(create));
};

describe("dry run and hidden costs on a cluster with pods", { timeout: 900_000 }, () => {
  let base: PodsCluster;
  let ns: string;
  const started: InstrumentorProcess[] = [];
  const start = async (args: readonly string[]) => {
    const process = await startInstrumentor({
      kubeconfigPath: base.controlPlane.kubeconfigPath,
      odigosNamespace,
      args: ["--log-level=debug", ...args],
    });
    started.push(process);
    return process;
  };
  /** Requests of one process that changed something, from the audit log. */
  const writesOf = async (pid: number) =>
    filterAudit((await base.controlPlane.readAuditEvents()).filter(countable), {
      verbs: writeVerbs,
      userAgent: (userAgent) => userAgent.endsWith(` pid/${pid}`),
    });
  /** Waits until the process has evaluated every workload it caches once, and is idle. */
  const everyWorkloadEvaluated = async (process: InstrumentorProcess) => {
    await process.waitForLog((line) => line.msg === "reconciling", 60_000);
    await waitFor(
      async () => {
        const text = await process.metrics();
        const cached = parseSamples(text, "odigos_instrumentor_cache_objects")
          .filter((sample) =>
            ["Deployment", "CronJob", "Rollout"].includes(sample.labels.informer ?? ""),
          )
          .reduce((sum, sample) => sum + sample.value, 0);
        return (
          cached >= workloads + optedOut + 2 * others &&
          metricSum(text, "controller_runtime_reconcile_total") >= cached
        );
      },
      { timeoutMs: 300_000, intervalMs: 500, description: "every workload evaluated" },
    );
    await process.idle(30_000);
  };

  beforeAll(async () => {
    base = await startPodsCluster();
    await base.cluster.createOdigosNamespace(odigosNamespace);
    await base.cluster.setCollectorsReady(odigosNamespace, "data-collection", true);
    ns = await base.namespace("dry", { "odigos.io/instrument": "true" });
    // No replicas: the rollouts a real run causes complete at once, and 1000 workloads stay cheap.
    await inBatches(names, async (name) => {
      await base.cluster.createWorkload("Deployment", ns, name, { replicas: 0 });
      await base.cluster.putRuntimeDetails("Deployment", ns, name, go);
    });
    await inBatches(outNames, async (name) => {
      await base.cluster.createWorkload("Deployment", ns, name, {
        replicas: 0,
        annotations: { "odigos.io/instrument": "false" },
      });
      await base.cluster.putRuntimeDetails("Deployment", ns, name, go);
    });
    const admin = base.controlPlane.kubeConfig();
    await installArgoRolloutsCrd(admin);
    await inBatches(cronJobs, async (name) => {
      await createCronJob(admin, ns, name, {});
      await base.cluster.putRuntimeDetailsNamed(ns, `cronjob-${name}`, { languages: go });
    });
    await inBatches(rollouts, async (name) => {
      await createRollout(admin, ns, name, {});
      await base.cluster.putRuntimeDetailsNamed(ns, `rollout-${name}`, { languages: go });
    });
    // 2100 objects: over a minute on a loaded 2-core machine, more than the default hook bound.
  }, 300_000);
  afterAll(async () => {
    for (const process of started) await process.stop("SIGTERM");
    await base?.stop();
  });

  it("--dry-run reports every write a real run makes, and makes none", async () => {
    const dry = await start(["--dry-run", "--leader-elect"]);
    await everyWorkloadEvaluated(dry);
    const report = (await (
      await fetch(`http://127.0.0.1:${dry.metricsPort}/dry-run`)
    ).json()) as DryRunReport;
    expect(report.totals).toMatchObject({
      workloads: workloads + optedOut + 2 * others,
      instrument: workloads + 2 * others,
      "delete runtime details": optedOut,
    });
    expect(await writesOf(dry.pid)).toEqual([]);
    // It never took the lease, so the real instrumentor beside it would lead.
    expect(dry.logs.some((line) => line.msg === "became leader")).toBe(false);
    expect(await dry.stop("SIGTERM")).toBe(0);

    const real = await start(["--max-concurrent-rollouts=0"]);
    await waitFor(
      async () => {
        const list = await base.cluster.apps.listNamespacedDeployment({ namespace: ns });
        return (
          list.items.filter(
            (d) =>
              Object.keys(d.spec?.template.spec?.containers[0]?.resources?.limits ?? {}).length > 0,
          ).length === workloads
        );
      },
      {
        timeoutMs: 300_000,
        intervalMs: 1_000,
        description: "the real run instrumented every workload",
      },
    );
    const admin = base.controlPlane.kubeConfig();
    for (const name of cronJobs)
      await waitFor(async () => (await cronJobDevices(admin, ns, name)).app?.length === 1, {
        timeoutMs: 60_000,
        description: `CronJob ${name} instrumented`,
      });
    for (const name of rollouts)
      await waitFor(async () => (await rolloutDevices(admin, ns, name)).app?.length === 1, {
        timeoutMs: 60_000,
        description: `Rollout ${name} instrumented`,
      });
    await waitFor(
      async () =>
        (
          (await base.cluster.custom.listNamespacedCustomObject({
            group: "odigos.io",
            version: "v1alpha1",
            namespace: ns,
            plural: "instrumentedapplications",
          })) as { items: unknown[] }
        ).items.length ===
        workloads + 2 * others,
      { timeoutMs: 120_000, description: "the opted-out runtime details deleted" },
    );
    await real.idle(30_000);
    const changed = new Set(
      (await writesOf(real.pid))
        .filter((event) => event.objectRef?.resource !== "events")
        .map((event) => event.objectRef?.name ?? ""),
    );
    const planned = new Set(report.workloads.map((entry) => entry.name));
    const deletedDetails = [...changed]
      .filter((name) => name.startsWith("deployment-"))
      .map((name) => name.slice("deployment-".length));
    const patched = [...changed].filter((name) => !name.startsWith("deployment-"));
    expect(new Set([...patched, ...deletedDetails])).toEqual(planned);
  });

  it("a converged cluster sees no write, and a restarted instrumentor causes no rollout", async () => {
    const [, real] = started;
    if (real === undefined) throw new Error("the real run did not start");
    const replicaSets = async () =>
      (await base.cluster.apps.listNamespacedReplicaSet({ namespace: ns })).items.length;
    /** Each Deployment's generation, once the controller manager has caught up with every one. */
    const generations = async () => {
      const list = await base.cluster.apps.listNamespacedDeployment({ namespace: ns });
      if (
        list.items.some((d) => (d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
      )
        return undefined;
      return Object.fromEntries(
        list.items.map((d) => [d.metadata?.name ?? "", d.metadata?.generation ?? 0]),
      );
    };
    const settled = await waitFor(generations, {
      timeoutMs: 300_000,
      intervalMs: 1_000,
      description: "every rollout observed by the controller manager",
    });
    const before = { writes: (await writesOf(real.pid)).length, replicaSets: await replicaSets() };
    expect(await real.stop("SIGTERM")).toBe(0);
    const again = await start([]);
    await everyWorkloadEvaluated(again);
    expect(await writesOf(again.pid)).toEqual([]);
    // And no read of one object: everything it decided came from its lists and watches.
    const gets = filterAudit((await base.controlPlane.readAuditEvents()).filter(countable), {
      verbs: new Set(["get"]),
      userAgent: (userAgent) => userAgent.endsWith(` pid/${again.pid}`),
    });
    expect(gets.map((event) => event.requestURI)).toEqual([]);
    // No rollout: no template changed (a generation would have), no ReplicaSet was made.
    expect(await waitFor(generations, { timeoutMs: 60_000, description: "generations" })).toEqual(
      settled,
    );
    expect(await replicaSets()).toBe(before.replicaSets);
    expect((await writesOf(real.pid)).length).toBe(before.writes);
  });
});
