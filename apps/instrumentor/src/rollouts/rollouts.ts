/**
 * Rollouts as a resource the instrumentor spends (SPEC section 8): the budget of rollouts in
 * flight, read from the cluster (the rollout records on workloads) so that a restart or a new
 * leader keeps the bound; the end of a rollout (complete, or stuck at its deadline); rollback of
 * an instrumentation whose pods crash-loop or never become ready; the circuit breaker; fights
 * with another writer; the check that a workload is healthy before it is instrumented.
 */
import {
  type ManagedFieldsEntry,
  type Pod,
  RollbackAnnotation,
  RolloutAnnotation,
  rollsOut,
  type Workload,
  type WorkloadRef,
  workloadApiVersion,
  workloadKey,
  workloadResource,
} from "@odigos/crd-types";
import {
  type PodProblem,
  podProblem,
  type RollbackRecord,
  type RolloutAction,
  type RolloutRecord,
  readRollbackRecord,
  readRolloutRecord,
  rolloutProgress,
} from "@odigos/instrumentation-rules";
import { KubeClient, type KubeClientApi, type KubeError, Resources } from "@odigos/kube-client";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type { Logger } from "pino";
import { ClusterState, type ClusterStateApi } from "../cache/cluster-state.js";
import { Config, type RolloutSettings } from "../config.js";
import { EventRecorder, type EventRecorderApi, type EventTarget } from "../observability/events.js";
import { Log } from "../observability/log.js";
import { Metrics, type MetricsApi } from "../observability/metrics.js";
import { RolloutBudget, type RolloutEnd, type SlotAnswer } from "./budget.js";
import { Breaker, Fights } from "./guards.js";

/** What a workload's rollout needs now. */
export type Observation =
  | { readonly _tag: "Idle" }
  /** Rolling; look again at its deadline (changes before it queue the workload anyway). */
  | { readonly _tag: "InFlight"; readonly recheckMs: number }
  /** Its instrumented pods crash-loop or never became ready: roll the instrumentation back. */
  | {
      readonly _tag: "RollBack";
      readonly reason: RollbackRecord["reason"];
      readonly container: string;
      readonly detail: string;
    };

type RollBack = Extract<Observation, { readonly _tag: "RollBack" }>;

/** What `observe` found, and the waiting workloads a slot it freed wakes (to be queued). */
export interface Observed {
  readonly observation: Observation;
  readonly woken: ReadonlyArray<string>;
}

const idle: Observation = { _tag: "Idle" };
const granted: SlotAnswer = { _tag: "Granted" };
const nothingWoken: ReadonlyArray<string> = [];

export interface RolloutsApi {
  readonly settings: RolloutSettings;
  /** Reads every cached workload once: what is in flight, what was rolled back. Before the first write. */
  readonly scan: Effect.Effect<void>;
  /**
   * Ends a rollout that completed or passed its deadline; says when one must be rolled back, and
   * which waiting workloads the freed slot wakes (the caller queues them).
   */
  readonly observe: (ref: WorkloadRef, workload: Workload, now: number) => Observed;
  /** A slot for a device change (a rollback goes to the front of the line). */
  readonly admit: (ref: WorkloadRef, action: RolloutAction, now: number) => SlotAnswer;
  /** A waiting workload that needs no write any more. */
  readonly withdraw: (ref: WorkloadRef) => void;
  /** The annotations to write with a device change. */
  readonly annotations: (
    action: RolloutAction,
    workload: Workload,
    now: number,
    rollback?: RollbackRecord,
  ) => Record<string, string | null>;
  /**
   * A device change was written from the cached copy `from` (its resourceVersion the write's
   * precondition), decided at `at`.
   */
  readonly written: (ref: WorkloadRef, action: RolloutAction, from: Workload, at: number) => void;
  readonly breaker: Breaker;
  readonly fights: Fights;
  /** Each waiting workload's place in line for a slot (workload keys). */
  readonly waitingLine: () => ReturnType<RolloutBudget["waitingLine"]>;
  /**
   * Every field manager of the workload as the API server has it now (the cache keeps only the
   * newest other writer): a list by name, asked only when a fight's writer is not recorded.
   */
  readonly managedFieldsOf: (
    ref: WorkloadRef,
  ) => Effect.Effect<ReadonlyArray<ManagedFieldsEntry>, KubeError>;
  /** Whether the workload's current pods already crash-loop (before it is instrumented). */
  readonly crashLoopingBefore: (
    ref: WorkloadRef,
    workload: Workload,
  ) => Effect.Effect<PodProblem | undefined, KubeError>;
}

export class Rollouts extends Context.Tag("@odigos/instrumentor/Rollouts")<
  Rollouts,
  RolloutsApi
>() {}

const fieldsOf = (ref: WorkloadRef) => ({
  workload: ref.name,
  namespace: ref.namespace,
  kind: ref.kind,
});
const targetOf = (ref: WorkloadRef, workload: Workload): EventTarget => ({
  apiVersion: workloadApiVersion(ref.kind),
  kind: ref.kind,
  namespace: ref.namespace,
  name: ref.name,
  uid: workload.metadata.uid,
});

class Tracker implements RolloutsApi {
  readonly budget: RolloutBudget;
  readonly breaker: Breaker;
  readonly fights: Fights;
  /** The slow-start window last logged, so each change of it is said once. */
  private announcedWindow = 0;
  /** Why each workload `observe` said to roll back is rolled back, until the rollback is written. */
  private readonly rollingBack = new Map<string, RollbackRecord["reason"]>();

  constructor(
    readonly settings: RolloutSettings,
    private readonly state: ClusterStateApi,
    private readonly client: KubeClientApi,
    private readonly log: Logger,
    private readonly events: EventRecorderApi,
    private readonly metrics: MetricsApi,
    private readonly now: () => number,
  ) {
    this.budget = new RolloutBudget(settings.maxConcurrentRollouts);
    this.breaker = new Breaker(settings.breakerThreshold, settings.breakerWindowMs);
    this.fights = new Fights(settings.fightLimit, settings.fightWindowMs);
  }

  get scan(): Effect.Effect<void> {
    return Effect.sync(() => {
      const now = this.now();
      for (const ref of this.state.allWorkloads()) {
        const workload = this.state.workload(ref);
        if (workload === undefined) continue;
        const key = workloadKey(ref);
        this.breaker.note(key, readRollbackRecord(workload.metadata.annotations));
        const record = readRolloutRecord(workload.metadata.annotations);
        if (record !== undefined && this.rolling(workload, record, now))
          this.budget.track(key, Date.parse(record.at));
      }
      const { inFlight } = this.budget.figures;
      if (inFlight > 0)
        this.log.info(
          { inFlight, limit: this.settings.maxConcurrentRollouts },
          "rollouts in flight found in the cluster: they count against the budget",
        );
    });
  }

  /** A rollout of ours that has not completed, within its deadline. */
  private rolling(workload: Workload, record: RolloutRecord, now: number): boolean {
    if (now - Date.parse(record.at) >= this.settings.rolloutTimeoutMs) return false;
    return !this.complete(workload, record);
  }

  private complete(workload: Workload, record: RolloutRecord): boolean {
    return (
      (workload.status?.observedGeneration ?? 0) >= record.generation &&
      rolloutProgress(workload)._tag === "Complete"
    );
  }

  observe(ref: WorkloadRef, workload: Workload, now: number): Observed {
    const key = workloadKey(ref);
    this.rollingBack.delete(key);
    const annotations = workload.metadata.annotations;
    this.breaker.note(key, readRollbackRecord(annotations));
    const record = readRolloutRecord(annotations);
    const crash = record?.action === "instrument" ? this.crashLoop(ref, record, now) : undefined;
    if (crash !== undefined) return this.rollBack(key, crash);
    const since = this.budget.inFlightSince(key);
    if (since === undefined) return { observation: idle, woken: nothingWoken };
    // Another writer replaced the template (and our record): the rollout is no longer ours.
    if (record === undefined || this.complete(workload, record)) {
      const woken = this.end(ref, "completed", now, { durationMs: now - since });
      return { observation: idle, woken };
    }
    const elapsed = now - since;
    // Everything a rollout's progress is judged from is watched (the workload's status, its
    // instrumented pods) and queues the workload when it changes: only the deadline needs a timer.
    // (A poll every 30 s kept a core busy with 20 000 rollouts in flight.)
    if (elapsed < this.settings.rolloutTimeoutMs) {
      const recheckMs = this.settings.rolloutTimeoutMs - elapsed;
      return { observation: { _tag: "InFlight", recheckMs }, woken: nothingWoken };
    }
    const notReady = this.podProblems(ref).find((problem) => problem._tag === "NotReady");
    if (
      record.action === "instrument" &&
      notReady?._tag === "NotReady" &&
      this.settings.rollbackRestarts > 0
    )
      return this.rollBack(key, {
        _tag: "RollBack",
        reason: "NotReady",
        container: notReady.container,
        detail: notReady.detail,
      });
    return { observation: idle, woken: this.reportStuck(ref, workload, elapsed) };
  }

  private rollBack(key: string, observation: RollBack): Observed {
    this.rollingBack.set(key, observation.reason);
    return { observation, woken: nothingWoken };
  }

  private podProblems(ref: WorkloadRef): ReadonlyArray<PodProblem> {
    const threshold =
      this.settings.rollbackRestarts > 0
        ? this.settings.rollbackRestarts
        : Number.POSITIVE_INFINITY;
    return this.state.instrumentedPods(ref).flatMap((pod: Pod) => podProblem(pod, threshold) ?? []);
  }

  /** A crash loop of the instrumented revision, within the rollback window of instrumenting it. */
  private crashLoop(ref: WorkloadRef, record: RolloutRecord, now: number): RollBack | undefined {
    if (
      this.settings.rollbackRestarts === 0 ||
      now - Date.parse(record.at) >= this.settings.rollbackWindowMs
    )
      return undefined;
    const problem = this.podProblems(ref).find((candidate) => candidate._tag === "CrashLoop");
    if (problem?._tag !== "CrashLoop") return undefined;
    return {
      _tag: "RollBack",
      reason: problem.reason,
      container: problem.container,
      detail: problem.detail,
    };
  }

  /** Says the rollout is stuck and frees its slot; the waiting workloads that wakes. */
  private reportStuck(
    ref: WorkloadRef,
    workload: Workload,
    elapsed: number,
  ): ReadonlyArray<string> {
    const progress = rolloutProgress(workload);
    const pods = this.podProblems(ref).map((problem) => problem.detail);
    const detail = [progress._tag === "Progressing" ? progress.detail : "", ...pods.slice(0, 2)]
      .filter((part) => part !== "")
      .join("; ");
    const note = `rollout not complete after ${Math.round(elapsed / 1000)} s (the rollout timeout): its slot is freed${detail === "" ? "" : `; ${detail}`}`;
    this.log.warn({ ...fieldsOf(ref), reason: "RolloutStuck", elapsedMs: elapsed }, note);
    this.events.warning(targetOf(ref, workload), "RolloutStuck", "Rollout", note);
    return this.end(ref, "stuck", this.now(), {});
  }

  private end(
    ref: WorkloadRef,
    end: RolloutEnd,
    now: number,
    fields: Record<string, unknown>,
  ): ReadonlyArray<string> {
    const woken = this.budget.release(workloadKey(ref), end, now);
    this.metrics.rolloutsEnded.inc({ result: end });
    if (end === "completed")
      this.log.info({ ...fieldsOf(ref), reason: "RolloutComplete", ...fields }, "rollout complete");
    return woken;
  }

  admit(ref: WorkloadRef, action: RolloutAction, now: number): SlotAnswer {
    // A CronJob's change restarts nothing (its next Job starts from the new template): no slot.
    if (!rollsOut(ref.kind)) return granted;
    const key = workloadKey(ref);
    // A rollback keeps the slot of the rollout it undoes; a failure restarts the slow start.
    if (action === "rollback") this.budget.fail(key);
    const answer = this.budget.request(key, now, { priority: action === "rollback" });
    const { window, inFlight, waiting } = this.budget.figures;
    if (answer._tag === "Granted" && window !== this.announcedWindow && !this.budget.unlimited) {
      this.announcedWindow = window;
      this.log.info(
        {
          reason: "RolloutWindow",
          window,
          inFlight,
          waiting,
          limit: this.settings.maxConcurrentRollouts,
        },
        `rollouts: up to ${window} at once now (${inFlight} rolling, ${waiting} waiting)`,
      );
    }
    return answer;
  }

  waitingLine() {
    return this.budget.waitingLine();
  }

  withdraw(ref: WorkloadRef): void {
    this.budget.withdraw(workloadKey(ref));
  }

  annotations(action: RolloutAction, workload: Workload, now: number, rollback?: RollbackRecord) {
    // No rollout, so no record of one (nor a rollback: nothing watches a CronJob's Jobs).
    if (!rollsOut(workload.kind)) return {};
    const record: RolloutRecord = {
      action,
      at: new Date(now).toISOString(),
      generation: (workload.metadata.generation ?? 0) + 1,
    };
    const changes: Record<string, string | null> = { [RolloutAnnotation]: JSON.stringify(record) };
    // A rollback writes its record; instrumenting again (for other inputs) clears the old one.
    if (rollback !== undefined) changes[RollbackAnnotation] = JSON.stringify(rollback);
    else if (action === "instrument") changes[RollbackAnnotation] = null;
    return changes;
  }

  written(ref: WorkloadRef, action: RolloutAction, from: Workload, at: number): void {
    const key = workloadKey(ref);
    const generation = (from.metadata.generation ?? 0) + 1;
    if (action === "instrument") this.fights.instrumented(key, generation, from, at);
    else this.fights.forget(key);
    if (action !== "rollback" || !rollsOut(ref.kind)) return;
    // The rollback is a rollout of its own: its deadline counts from now, not from the write it
    // undoes (a rollback for pods not ready comes at that deadline, and was reported stuck at once).
    this.budget.restart(key, this.now());
    this.metrics.rollbacks.inc({ reason: this.rollingBack.get(key) ?? "unknown" });
    this.rollingBack.delete(key);
  }

  managedFieldsOf(ref: WorkloadRef): Effect.Effect<ReadonlyArray<ManagedFieldsEntry>, KubeError> {
    const selector = { namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` };
    return Effect.map(this.client.list(workloadResource(ref.kind), selector), (page) => {
      const entries = page.items[0]?.metadata.managedFields;
      return Array.isArray(entries) ? (entries as ReadonlyArray<ManagedFieldsEntry>) : [];
    });
  }

  crashLoopingBefore(
    ref: WorkloadRef,
    workload: Workload,
  ): Effect.Effect<PodProblem | undefined, KubeError> {
    const selector = workload.spec.selector?.matchLabels;
    const replicas = workload.status?.replicas ?? 0;
    const available =
      workload.kind === "DaemonSet"
        ? workload.status?.numberAvailable
        : workload.status?.availableReplicas;
    // Every pod available, or none at all: nothing can be crash-looping. Only otherwise ask the API server.
    if (
      this.settings.rollbackRestarts === 0 ||
      selector === undefined ||
      replicas === 0 ||
      (available ?? 0) >= replicas
    )
      return Effect.succeed(undefined);
    const labelSelector = Object.entries(selector)
      .map(([label, value]) => `${label}=${value}`)
      .join(",");
    return Effect.map(
      this.client.list(Resources.Pod, {
        namespace: ref.namespace,
        labelSelector,
        resourceVersion: "0",
      }),
      (page) =>
        page.items.flatMap((raw) => {
          const problem = podProblem(raw as unknown as Pod, this.settings.rollbackRestarts);
          return problem?._tag === "CrashLoop" ? [problem] : [];
        })[0],
    );
  }
}

export const RolloutsLive: Layer.Layer<
  Rollouts,
  never,
  Config | ClusterState | KubeClient | Log | EventRecorder | Metrics
> = Layer.effect(
  Rollouts,
  Effect.gen(function* () {
    const metrics = yield* Metrics;
    const tracker = new Tracker(
      yield* Config,
      yield* ClusterState,
      yield* KubeClient,
      yield* Log,
      yield* EventRecorder,
      metrics,
      yield* Effect.map(Effect.clock, (clock) => () => clock.unsafeCurrentTimeMillis()),
    );
    metrics.onScrape(() => {
      const { inFlight, waiting, window } = tracker.budget.figures;
      metrics.rolloutsInFlight.set(inFlight);
      metrics.rolloutsWaiting.set(waiting);
      metrics.rolloutWindow.set(window);
      metrics.fightsStopped.set(tracker.fights.stopped);
    });
    return tracker;
  }),
);
