/**
 * Issue 35: pods the instrumentor has no business with must cost it nothing. Its pod cache lists
 * and watches only pods labelled `instrumentor.odigos.io/instrumented`; before, it received and
 * decoded every pod of the cluster. With `--other-pods P --other-workloads W`, W Deployments of
 * P pods in all, in a namespace that is not opted in, are seeded before any instrumentor starts;
 * once the first budget's instrumentor has instrumented its N workloads, the benchmark rolls
 * them (a pod-template annotation) while it idles, then lets it idle as long (at most 60 s).
 * Each stretch reports what the instrumentor received (`odigos_instrumentor_watch_events_total`,
 * by informer) and its CPU; a run without other pods has the idle stretch alone (30 s), to
 * compare with.
 */
import { workloadResource } from "@odigos/crd-types";
import { type InstrumentorProcess, parseSamples } from "@odigos/harness";
import { Resources } from "@odigos/kube-client";
import { createAll, pool, send, sleep, throttled } from "./meter.js";
import { type RunBasics, waitTracker } from "./run-context.js";
import type { IdleStretch, OtherPodsRun, PhaseResult } from "./types.js";
import { keyOf, type PodsShape, type WorkloadSpec, workloadManifest } from "./workloads.js";

export const otherNamespace = "bench-other";

/** Where the figures go and what the stretches watch, from a run with pods. */
export interface OtherPodsContext extends RunBasics {
  readonly census: {
    readonly podCount: number;
    begin(at: number): void;
    figures(at: number): { readonly podsCreated: number; readonly podsDeleted: number };
  };
  readonly shape: PodsShape;
}

/** An other workload: a Deployment in {@link otherNamespace} and its replicas. */
export interface OtherSpec {
  readonly spec: WorkloadSpec;
  readonly replicas: number;
}

/** `workloads` Deployments sharing `pods` pods (the first ones one more when it does not divide). */
export const otherSpecs = (pods: number, workloads: number): OtherSpec[] =>
  Array.from({ length: workloads }, (_, index) => ({
    spec: {
      index,
      kind: "Deployment" as const,
      namespace: otherNamespace,
      name: `other-${String(index).padStart(4, "0")}`,
      containers: [{ name: "app", language: "go" as const, resources: "none" as const }],
      selfOptIn: false,
    },
    replicas: Math.floor(pods / workloads) + (index < pods % workloads ? 1 : 0),
  }));

/** Until every other workload exists and none is rolling (the benchmark's watch). */
const waitOthersRolledOut = (
  run: OtherPodsContext,
  others: ReadonlyArray<OtherSpec>,
  what: string,
  changed: (key: string) => boolean = () => true,
): Promise<number> =>
  waitTracker(
    run,
    () =>
      run.tracker.rollingCount === 0 &&
      others.every(({ spec }) => {
        const state = run.tracker.workload(keyOf(spec));
        return state !== undefined && changed(keyOf(spec));
      }),
    what,
    () => `${run.tracker.rollingCount} rolling, ${run.census.podCount} pods`,
  );

/** Seeds the other workloads and waits until all their pods run; returns how long it took. */
export const seedOtherPods = async (
  run: OtherPodsContext,
  others: ReadonlyArray<OtherSpec>,
): Promise<number> => {
  const started = performance.now();
  const pods = others.reduce((sum, other) => sum + other.replicas, 0);
  run.log(`seeding ${pods} other pods: ${others.length} Deployments in ${otherNamespace}`);
  await send(
    run.driver.create(Resources.Namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: otherNamespace },
    }),
  );
  const creates = others.map(({ spec, replicas }) => ({
    resource: workloadResource(spec.kind),
    body: workloadManifest(spec, { ...run.shape, replicas }),
  }));
  await createAll(
    run.driver,
    creates,
    run.options.seedConcurrency,
    throttled(run.log, "creating the other Deployments", creates.length),
  );
  await waitOthersRolledOut(run, others, "other pods: rolled out");
  const ms = performance.now() - started;
  run.log(`other pods: ${pods} running after ${(ms / 1000).toFixed(1)} s`);
  return ms;
};

/** `odigos_instrumentor_watch_events_total` by informer, from the instrumentor's /metrics. */
export const received = async (process: InstrumentorProcess): Promise<Record<string, number>> => {
  const text = await process.metrics().catch(() => "");
  return Object.fromEntries(
    parseSamples(text, "odigos_instrumentor_watch_events_total").map((sample) => [
      sample.labels.informer ?? "",
      sample.value,
    ]),
  );
};

const delta = (
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): Record<string, number> =>
  Object.fromEntries(
    [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .sort()
      .map((informer) => [informer, (after[informer] ?? 0) - (before[informer] ?? 0)]),
  );

/** One stretch with the instrumentor idle: `work` runs, then the figures. */
const stretch = async (
  run: OtherPodsContext,
  process: InstrumentorProcess,
  name: string,
  rolled: number,
  work: () => Promise<unknown>,
): Promise<IdleStretch> => {
  const mark = await run.meter.begin(true);
  const before = await received(process);
  const started = performance.now();
  run.census.begin(started);
  await work();
  const wallMs = performance.now() - started;
  // Pods of the last rollouts still being deleted are counted; the instrumentor's events reach it.
  await sleep(1000);
  const pods = run.census.figures(performance.now());
  const after = await received(process);
  const phase: PhaseResult = await run.meter.end(mark, name, wallMs, rolled);
  const entry: IdleStretch = {
    phase,
    received: delta(before, after),
    rolled,
    podsCreated: pods.podsCreated,
    podsDeleted: pods.podsDeleted,
  };
  const all = Object.entries(entry.received).filter(([, count]) => count > 0);
  run.log(
    `${name}: ${(wallMs / 1000).toFixed(1)} s, the instrumentor received ${entry.received.Pod ?? 0} pod events (everything: ${all.map(([informer, count]) => `${informer} ${count}`).join(", ") || "nothing"}), CPU ${(phase.instrumentor?.cpuSeconds ?? 0).toFixed(2)} s; ${pods.podsCreated} pods created, ${pods.podsDeleted} deleted`,
  );
  return entry;
};

/** Rolls every other workload once (a pod-template annotation), until all are rolled out. */
const churnOthers = async (
  run: OtherPodsContext,
  others: ReadonlyArray<OtherSpec>,
): Promise<void> => {
  const round = String(Date.now());
  const versions = new Map(
    others.map(({ spec }) => [keyOf(spec), run.tracker.workload(keyOf(spec))?.resourceVersion]),
  );
  await pool(
    others,
    run.options.seedConcurrency,
    async ({ spec }) => {
      await send(
        run.driver.patch(
          workloadResource(spec.kind),
          spec.name,
          {
            type: "merge",
            body: { spec: { template: { metadata: { annotations: { "bench/churn": round } } } } },
          },
          { namespace: spec.namespace },
        ),
      );
    },
    throttled(run.log, "rolling the other Deployments", others.length),
  );
  await waitOthersRolledOut(
    run,
    others,
    "other pods: churn",
    (key) => run.tracker.workload(key)?.resourceVersion !== versions.get(key),
  );
};

/**
 * With the instrumentor idle on its converged workloads: the churn of the other pods (when
 * there are any), then as long again with nothing changing (at most 60 s: CPU is compared per
 * second, and a minute tells an idle instrumentor's rate well enough).
 */
export const idleStretches = async (
  run: OtherPodsContext,
  process: InstrumentorProcess,
  others: ReadonlyArray<OtherSpec>,
): Promise<Pick<OtherPodsRun, "churn" | "idle">> => {
  const churn =
    others.length === 0
      ? undefined
      : await stretch(run, process, "other pods: churn", others.length, () =>
          churnOthers(run, others),
        );
  const idleMs = Math.min(churn?.phase.wallMs ?? 30_000, 60_000);
  const idle = await stretch(run, process, "idle", 0, () => sleep(idleMs));
  return { ...(churn === undefined ? {} : { churn }), idle };
};
