/**
 * SPEC section 9 in the operator: every cached workload's status (the library's
 * `workloadStatus`, the same judgement the reconciler writes by) with what only this process
 * knows (its place in line for a slot, a fight, the breaker, the collectors' grace), served as
 * JSON on `/status` beside `/metrics`, and counted by state and reason in
 * `odigos_instrumentor_workloads`. Computed when asked, never on the write path. The body's
 * shape is the library's `StatusReport`, which the kubectl plugin decodes.
 */
import { workloadKey } from "@odigos/crd-types";
import {
  describeFightWriter,
  type InstrumentorFacts,
  type StatusReport,
  type StatusReportEntry,
  sharedLiveFacts,
  type WorkloadLiveFacts,
  workloadStatus,
} from "@odigos/instrumentation-rules";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { ClusterState, type ClusterStateApi } from "../cache/cluster-state.js";
import { Config, type InstrumentorConfig } from "../config.js";
import { Routes } from "../observability/health.js";
import { Metrics } from "../observability/metrics.js";
import { Rollouts, type RolloutsApi } from "../rollouts/rollouts.js";

export type { StatusReport, StatusReportEntry };

/** What this process knows about itself, the same for every workload. */
const instrumentorFacts = (
  state: ClusterStateApi,
  rollouts: RolloutsApi,
  config: InstrumentorConfig,
  now: number,
): InstrumentorFacts => {
  const notReadySince = state.collectorsNotReadySince();
  const graceLeft =
    notReadySince === undefined ? 0 : config.collectorsUnreadyGraceMs - (now - notReadySince);
  return {
    at: new Date(now).toISOString(),
    rolloutTimeoutMs: config.rolloutTimeoutMs,
    breakerOpen: rollouts.breaker.isOpen,
    collectorsGraceLeftMs: Math.max(0, graceLeft),
    dryRun: config.dryRun,
  };
};

/** What this process knows about one workload that the cluster does not hold, if anything. */
const workloadFacts = (
  key: string,
  rollouts: RolloutsApi,
  line: ReturnType<RolloutsApi["waitingLine"]>,
): WorkloadLiveFacts | undefined => {
  const waiting = line.get(key);
  const fight = rollouts.fights.stoppedFor(key);
  if (waiting === undefined && fight === undefined) return undefined;
  return {
    ...(waiting === undefined ? {} : { waitingForSlot: waiting }),
    ...(fight === undefined ? {} : { fight: fightFacts(fight) }),
  };
};

/** A paused fight as `/status` gives it: who (in words, and the candidates when not recorded), until when. */
const fightFacts = (fight: NonNullable<ReturnType<RolloutsApi["fights"]["stoppedFor"]>>) => ({
  writer: describeFightWriter(fight.writer),
  ...(fight.writer._tag === "Unrecorded" ? { candidates: fight.writer.candidates } : {}),
  retryAt: new Date(fight.retryAt).toISOString(),
});

/**
 * Every cached workload's status, with the counts by state and reason and what the process
 * knows (the schema a reader decodes: `decodeLiveView` of `@odigos/instrumentation-rules`).
 */
export const statusReport = (
  state: ClusterStateApi,
  rollouts: RolloutsApi,
  config: InstrumentorConfig,
  now: number,
): StatusReport => {
  const configuration = state.configuration();
  const collectorsReady = state.collectorsReady();
  const line = rollouts.waitingLine();
  const instrumentor = instrumentorFacts(state, rollouts, config, now);
  const shared = sharedLiveFacts(instrumentor);
  const workloads: Array<StatusReportEntry> = [];
  const byState: Record<string, number> = {};
  const byReason: Record<string, number> = {};
  for (const ref of state.allWorkloads()) {
    const workload = state.workload(ref);
    if (workload === undefined) continue;
    const live = workloadFacts(workloadKey(ref), rollouts, line);
    const status = workloadStatus({
      workload,
      namespace: state.namespace(ref.namespace)?.metadata,
      odigosNamespace: state.odigosNamespace,
      runtimeDetails: state.runtimeDetailsOf(ref),
      collectorsReady,
      config: configuration._tag === "Available" ? configuration.config : undefined,
      configInvalid: configuration._tag === "Invalid" ? configuration.reason : undefined,
      now,
      rolloutTimeoutMs: config.rolloutTimeoutMs,
      live: { ...shared, ...live },
    });
    workloads.push({ ...ref, ...status, ...(live === undefined ? {} : { live }) });
    byState[status.state] = (byState[status.state] ?? 0) + 1;
    byReason[status.reason] = (byReason[status.reason] ?? 0) + 1;
  }
  return { instrumentor, summary: { byState, byReason }, workloads };
};

/** `/status` on the metrics listener, and the gauge by state and reason, updated on scrape. */
export const WorkloadStatusLive: Layer.Layer<
  never,
  never,
  ClusterState | Rollouts | Config | Routes | Metrics
> = Layer.effectDiscard(
  Effect.gen(function* () {
    const state = yield* ClusterState;
    const rollouts = yield* Rollouts;
    const config = yield* Config;
    const metrics = yield* Metrics;
    const clock = yield* Effect.clock;
    const report = () => statusReport(state, rollouts, config, clock.unsafeCurrentTimeMillis());
    (yield* Routes).register(
      "/status",
      Effect.sync(() => ({
        status: 200,
        contentType: "application/json",
        body: `${JSON.stringify(report())}\n`,
      })),
    );
    metrics.onScrape(() => {
      if (!state.hasSynced()) return;
      const counts = new Map<string, number>();
      for (const entry of report().workloads) {
        const pair = `${entry.state}/${entry.reason}`;
        counts.set(pair, (counts.get(pair) ?? 0) + 1);
      }
      metrics.workloads.reset();
      for (const [pair, count] of counts) {
        const [state = "", reason = ""] = pair.split("/");
        metrics.workloads.set({ state, reason }, count);
      }
    });
  }),
);
