/**
 * What rollouts did to the cluster in a window of time, from the watch events the benchmark
 * sees (pure bookkeeping, fed by the tracker): which workloads are rolling and the most at
 * once; pods created and deleted (by UID, so a StatefulSet pod re-created under the same name
 * counts); per workload, the pods created in the window, those that ran, and their revisions.
 */
import type { RestartSummary, WorkloadRestarts } from "./types.js";

/** What the pods of one workload did in a window. */
export interface WorkloadPods {
  /** Pods created (new UIDs). */
  readonly created: number;
  /** Of those, pods that reached Running: the restarts a user sees. */
  readonly started: number;
  /** Distinct revisions (`pod-template-hash`, `controller-revision-hash`) of the pods created. */
  readonly revisions: number;
}

export interface CensusFigures {
  /**
   * The most workloads rolling at once in the window: the transitions replayed in the order of
   * their resourceVersion (one etcd revision for every kind), so that watches of different kinds
   * delivering out of step with each other cannot make two rollouts seem to overlap.
   */
  readonly maxRolling: number;
  /** Time-weighted mean of the workloads rolling over the window. */
  readonly meanRolling: number;
  readonly podsCreated: number;
  readonly podsDeleted: number;
  /** Pods created in the window that were deleted before they ever ran. */
  readonly podsStillborn: number;
  /** How long each rollout that completed in the window took (its first event rolling to its first complete), ms. */
  readonly rolloutMs: ReadonlyArray<number>;
  /** Per workload key (pods of no known workload are not counted). */
  readonly perWorkload: ReadonlyMap<string, WorkloadPods>;
}

interface PodEntry {
  readonly workload: string | undefined;
  readonly revision: string | undefined;
  /** The window it was created in (0: it existed before the benchmark looked). */
  readonly window: number;
  running: boolean;
}

interface Tally {
  created: number;
  started: number;
  readonly revisions: Set<string>;
}

export class RolloutCensus {
  private readonly rolling = new Set<string>();
  /** When each rolling workload was first seen rolling (arrival time). */
  private readonly rollingSince = new Map<string, number>();
  private durations: number[] = [];
  private readonly pods = new Map<string, PodEntry>();
  private window = 0;
  private windowStart = 0;
  private lastChange = 0;
  private area = 0;
  private startRolling: ReadonlyArray<string> = [];
  private transitions: Array<{
    readonly version: number;
    readonly key: string;
    readonly rolling: boolean;
  }> = [];
  private created = 0;
  private deleted = 0;
  private stillborn = 0;
  private perWorkload = new Map<string, Tally>();

  get rollingCount(): number {
    return this.rolling.size;
  }

  get podCount(): number {
    return this.pods.size;
  }

  isRolling(key: string): boolean {
    return this.rolling.has(key);
  }

  /**
   * A workload's rollout state as of `at` (`performance.now()`, when the event arrived) and
   * `version` (the object's resourceVersion then).
   */
  setRolling(key: string, rolling: boolean, at: number, version: number): void {
    if (rolling === this.rolling.has(key)) return;
    this.accumulate(at);
    if (rolling) {
      this.rolling.add(key);
      this.rollingSince.set(key, at);
    } else {
      this.rolling.delete(key);
      const since = this.rollingSince.get(key);
      this.rollingSince.delete(key);
      if (since !== undefined) this.durations.push(at - since);
    }
    this.transitions.push({ version, key, rolling });
  }

  private tally(workload: string): Tally {
    let tally = this.perWorkload.get(workload);
    if (tally === undefined) {
      tally = { created: 0, started: 0, revisions: new Set() };
      this.perWorkload.set(workload, tally);
    }
    return tally;
  }

  /**
   * A pod seen (added or modified); a UID not seen before was created. `known`: it was there
   * when the benchmark started watching (listed), not created.
   */
  podSeen(
    uid: string,
    workload: string | undefined,
    revision: string | undefined,
    running: boolean,
    known = false,
  ): void {
    let entry = this.pods.get(uid);
    if (entry === undefined) {
      entry = { workload, revision, window: known ? 0 : this.window, running: false };
      this.pods.set(uid, entry);
      if (!known) {
        this.created++;
        if (workload !== undefined) {
          const tally = this.tally(workload);
          tally.created++;
          if (revision !== undefined) tally.revisions.add(revision);
        }
      }
    }
    if (running && !entry.running) {
      entry.running = true;
      if (entry.window === this.window && entry.window !== 0 && entry.workload !== undefined)
        this.tally(entry.workload).started++;
    }
  }

  /** A pod removed from the API (its DELETED event). */
  podGone(uid: string): void {
    const entry = this.pods.get(uid);
    if (entry === undefined) return;
    this.pods.delete(uid);
    this.deleted++;
    if (entry.window === this.window && entry.window !== 0 && !entry.running) this.stillborn++;
  }

  /** Starts a new window at `at`: counts from zero, the peak from what rolls now. */
  begin(at: number): void {
    this.window++;
    this.windowStart = at;
    this.lastChange = at;
    this.area = 0;
    this.startRolling = [...this.rolling];
    this.transitions = [];
    this.durations = [];
    this.created = 0;
    this.deleted = 0;
    this.stillborn = 0;
    this.perWorkload = new Map();
  }

  /** The figures of the window so far, up to `at`. */
  figures(at: number): CensusFigures {
    this.accumulate(at);
    const span = at - this.windowStart;
    return {
      maxRolling: peakRolling(this.startRolling, this.transitions),
      meanRolling: span > 0 ? this.area / span : this.rolling.size,
      podsCreated: this.created,
      podsDeleted: this.deleted,
      podsStillborn: this.stillborn,
      rolloutMs: [...this.durations],
      perWorkload: new Map(
        [...this.perWorkload].map(([key, tally]) => [
          key,
          { created: tally.created, started: tally.started, revisions: tally.revisions.size },
        ]),
      ),
    };
  }

  private accumulate(at: number): void {
    if (at > this.lastChange) {
      this.area += this.rolling.size * (at - this.lastChange);
      this.lastChange = at;
    }
  }
}

/** The most keys in the set at once, applying `transitions` in resourceVersion order to `start`. */
export const peakRolling = (
  start: ReadonlyArray<string>,
  transitions: ReadonlyArray<{
    readonly version: number;
    readonly key: string;
    readonly rolling: boolean;
  }>,
): number => {
  const rolling = new Set(start);
  let peak = rolling.size;
  const ordered = transitions
    .map((transition, index) => ({ ...transition, index }))
    .sort((a, b) => a.version - b.version || a.index - b.index);
  for (const { key, rolling: on } of ordered) {
    if (on) rolling.add(key);
    else rolling.delete(key);
    peak = Math.max(peak, rolling.size);
  }
  return peak;
};

/**
 * Pods restarted per workload in a phase against what each must restart: every changed
 * workload one new revision and exactly its replicas started (a rollout replaces each pod
 * once), the others nothing.
 */
export const summarizeRestarts = (
  perWorkload: ReadonlyMap<string, WorkloadPods>,
  changed: ReadonlyMap<string, number>,
): RestartSummary => {
  let exact = 0;
  let started = 0;
  let created = 0;
  const doubleRollouts: WorkloadRestarts[] = [];
  const more: WorkloadRestarts[] = [];
  const fewer: WorkloadRestarts[] = [];
  for (const [workload, replicas] of changed) {
    const pods = perWorkload.get(workload) ?? { created: 0, started: 0, revisions: 0 };
    const entry: WorkloadRestarts = { workload, replicas, ...pods };
    started += pods.started;
    created += pods.created;
    if (pods.revisions > 1) doubleRollouts.push(entry);
    else if (pods.started > replicas) more.push(entry);
    else if (pods.started < replicas) fewer.push(entry);
    else exact++;
  }
  let unchangedStarted = 0;
  for (const [workload, pods] of perWorkload)
    if (!changed.has(workload)) unchangedStarted += pods.started;
  const byStarted = (a: WorkloadRestarts, b: WorkloadRestarts) => b.started - a.started;
  return {
    exact,
    doubleRollouts: doubleRollouts.sort((a, b) => b.revisions - a.revisions),
    more: more.sort(byStarted),
    fewer: fewer.sort((a, b) => a.started - b.started),
    unchangedStarted,
    meanStarted: changed.size === 0 ? 0 : started / changed.size,
    meanCreated: changed.size === 0 ? 0 : created / changed.size,
  };
};
