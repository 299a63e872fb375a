/**
 * The shape of a run's results, as the JSON file holds them: what each phase measured, the
 * floor runs, cycles and cold starts, the run with pods, and the targets it is judged by. Every
 * other module of the benchmark fills or reads these; this one imports none of them.
 */
import type { WorkloadKind } from "@odigos/crd-types";

// ---- figures shared by every phase -------------------------------------------------

/** Count, min, percentiles, max and mean of latency samples (ms). */
export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** What a client asked the API server for, from the audit log. */
export interface RequestSummary {
  readonly total: number;
  /** `verb resource[/subresource]` -> count, largest first. */
  readonly byVerbResource: Readonly<Record<string, number>>;
  readonly writes: number;
  /** create/update/patch/delete of Deployments, StatefulSets, DaemonSets, CronJobs, (Argo) Rollouts. */
  readonly workloadWrites: number;
  /** Distinct workloads written. */
  readonly workloadsWritten: number;
  /** Most writes to one workload. */
  readonly maxWritesPerWorkload: number;
  /** `get` of one workload of any kind (reads that should come from the cache). */
  readonly workloadGets: number;
  readonly eventCreates: number;
  /** 409 answers (a resourceVersion precondition failed). */
  readonly conflicts: number;
  /** Other answers >= 400. */
  readonly errors: number;
}

/** V8's heap spaces by name (`old_space`, `new_space`, `code_space`, …): committed and used bytes. */
export type V8Spaces = Readonly<Record<string, { readonly total: number; readonly used: number }>>;

/** Seconds V8 spent collecting garbage, by kind: prom-client's `nodejs_gc_duration_seconds`. */
export interface GcSeconds {
  readonly minor: number;
  readonly major: number;
  readonly incremental: number;
}

/** Where a process's resident memory is, by kind of mapping (bytes, from /proc/<pid>/smaps). */
export interface ResidentParts {
  /** The executable's code (its `r-xp` mapping): for Node, V8, its compilers, OpenSSL, ICU. */
  readonly binaryCode: number;
  /** The executable's read-only data: V8's and Node's snapshots, Node's built-in JS, ICU data. */
  readonly binaryReadOnly: number;
  /** Shared libraries (glibc, libstdc++) and any other mapped file. */
  readonly otherFiles: number;
  /** glibc malloc's main heap (`[heap]`, grown by brk). */
  readonly mallocHeap: number;
  /**
   * Anonymous mappings: V8's heap spaces (each an mmap of its own), malloc's other arenas and
   * its large blocks, thread stacks, V8's generated code.
   */
  readonly anonymous: number;
}

/** One row of a CPU profile's summary: a function or a package, and its self time. */
export interface ProfileLine {
  /** `function file:line` (file relative to the repo or the package, `(program)`, ...). */
  readonly where: string;
  /** The package or workspace folder it belongs to. */
  readonly owner: string;
  readonly ms: number;
  readonly percent: number;
}

/** Where the instrumentor's CPU went in one phase, from a CPU profile. */
export interface ProfileSummary {
  /** Sampled time while not idle. */
  readonly busyMs: number;
  readonly bySelf: ReadonlyArray<ProfileLine>;
  readonly byOwner: ReadonlyArray<ProfileLine>;
}

/** One target of an issue and whether this run met it. */
export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  /** `undefined`: not measured in this run. */
  readonly met: boolean | undefined;
}

// ---- a run without pods -----------------------------------------------------------

export interface PhaseResult {
  readonly name: string;
  readonly wallMs: number;
  /** Workloads the phase had to change. */
  readonly workloads: number;
  readonly apiServer: {
    /** `apiserver_request_total` deltas (every client) by `verb resource`. */
    readonly requests: Readonly<Record<string, number>>;
    readonly total: number;
    readonly cpuSeconds: number | undefined;
    readonly etcdCpuSeconds: number | undefined;
  };
  /** CPU outside the API server and the instrumentor, to judge how much the machine interfered. */
  readonly machine: {
    readonly benchCpuSeconds: number;
    /** Busy CPU of processes that are not part of the benchmark. */
    readonly otherCpuSeconds: number;
    readonly otherCores: number;
    /** How long the phase waited for other load to drop before it started. */
    readonly waitedForQuietMs: number;
  };
  /** The instrumentor's own requests (audit log, by its User-Agent pid) and its process figures. */
  readonly instrumentor?: {
    readonly requests: RequestSummary;
    readonly cpuSeconds: number | undefined;
    readonly peakRssBytes: number;
    readonly rssAfterBytes: number;
    /** `nodejs_heap_size_used_bytes` from its /metrics at the end of the phase. */
    readonly heapUsedBytes: number | undefined;
    /** VmHWM at the end of the phase: the process's peak RSS since it started. */
    readonly highWaterMarkBytes?: number | undefined;
    /** Seconds its V8 spent in garbage collection during the phase, by kind (its /metrics). */
    readonly gcSeconds?: GcSeconds | undefined;
  };
  /**
   * With pods (every client counted): requests by program from the audit log, objects the
   * controllers created, and the CPU of the cluster's other processes.
   */
  readonly cluster?: {
    readonly byComponent: Readonly<Record<string, RequestSummary>>;
    readonly replicaSetsCreated: number;
    /** Successful `create pods` in the audit log (cross-checks the watch's count). */
    readonly podsCreated: number;
    readonly controllerManagerCpuSeconds: number | undefined;
    readonly schedulerCpuSeconds: number | undefined;
    readonly kwokCpuSeconds: number | undefined;
  };
  /** The floor client's requests (audit log). */
  readonly floorClient?: RequestSummary;
  /** The benchmark's own driver and watch requests (audit log). */
  readonly bench?: RequestSummary;
}

export interface FloorRun {
  readonly concurrency: number;
  readonly ready: PhaseResult;
  readonly unready: PhaseResult;
}

export interface CycleResult {
  readonly cycle: number;
  readonly ready: PhaseResult;
  readonly unready: PhaseResult;
  /** Instrumentor RSS once the cycle settled. */
  readonly rssAfterBytes: number;
  /**
   * With the GC probe, after the first and the last cycle: heap used right after a forced full
   * GC, and RSS then.
   */
  readonly liveHeapBytes?: number | undefined;
  readonly rssAfterGcBytes?: number | undefined;
  /**
   * The probe's full GC before this cycle discarded compiled code (V8 flushes it in a forced
   * GC), so this cycle ran partly cold: shown, but not in the medians.
   */
  readonly followsGcProbe?: boolean | undefined;
}

/**
 * One fresh instrumentor process timed through one cycle (cold: its first writes), between two
 * floor runs at the reference concurrency made just before it started and just after it stopped.
 */
export interface ColdStart {
  readonly start: number;
  readonly ready: PhaseResult;
  readonly unready: PhaseResult;
  readonly floorBefore: FloorRun;
  readonly floorAfter: FloorRun;
  /**
   * The floor client in a fresh process of its own, right after the instrumentor stopped: its
   * first passes, cold as the instrumentor's first cycle (runs before this field have none).
   */
  readonly freshFloor?: FloorRun | undefined;
  /** RSS once its initial reconcile was done, as `startup.rssAfterSyncBytes`. */
  readonly rssAfterSyncBytes: number;
}

/** One run of `kubectl odigos-instrumentor status -A -o json`: a new process, as kubectl starts it. */
export interface PluginStatusRun {
  /** Spawn to exit. */
  readonly ms: number;
  /** The `total` of its output: the workloads it listed. */
  readonly workloads: number;
  /** Its requests (audit log, by its User-Agent `kubectl-odigos_instrumentor/…`). */
  readonly requests: RequestSummary;
  /** Its answers >= 400 by `verb resource code` (e.g. `get leases 404`: no leader Lease). */
  readonly failed: Readonly<Record<string, number>>;
}

/** `kubectl odigos-instrumentor status -A` timed on the converged cluster, a run at a time. */
export interface PluginStatusResult {
  /** What was run, from the repository root (`KUBECONFIG` set to the cluster's). */
  readonly command: string;
  /** The workloads seeded: what each run must list. */
  readonly expected: number;
  readonly runs: ReadonlyArray<PluginStatusRun>;
  readonly medianMs: number | undefined;
  readonly maxMs: number | undefined;
  /** The runs as one phase: the API server's CPU, other load, the instrumentor's requests meanwhile. */
  readonly phase?: PhaseResult | undefined;
  /** Why the plugin could not run (not built, an error of its own): the rest of the run goes on. */
  readonly error?: string | undefined;
}

export interface BenchResult {
  readonly version: 1;
  readonly startedAt: string;
  finishedAt?: string;
  readonly command: string;
  readonly options: Record<string, unknown>;
  readonly machine: Record<string, unknown>;
  controlPlane?: { readonly startMs: number; readonly server: string };
  seeding?: {
    readonly workloads: number;
    readonly namespaces: number;
    readonly byKind: Record<string, number>;
    readonly multiContainer: number;
    readonly containers: number;
    readonly devicesWhenReady: number;
    readonly ms: number;
    readonly requests: number;
  };
  floor?: {
    readonly reference: number;
    readonly runs: FloorRun[];
    /** The reference concurrency again once the instrumentor has stopped (the machine may have changed meanwhile). */
    after?: FloorRun;
    single?: {
      readonly add: Summary | undefined;
      readonly remove: Summary | undefined;
      readonly all: Summary | undefined;
    };
  };
  startup?: {
    readonly startedMs: number;
    readonly cachesSyncedMs: number;
    readonly readyMs: number;
    /** Spawn to the initial reconcile of every workload done. */
    readonly initialReconcileMs: number;
    readonly rssAfterSyncBytes: number;
    /** RSS after sync split: the process's own memory, and mapped file pages (Node's binary). */
    readonly rssSplitAfterSync?: { readonly anonBytes: number; readonly fileBytes: number };
    /** RSS after sync by kind of mapping (/proc/<pid>/smaps). */
    readonly residentAfterSync?: ResidentParts;
    /** V8's heap spaces after sync, from the instrumentor's own `nodejs_heap_space_size_*_bytes`. */
    readonly v8SpacesAfterSync?: V8Spaces;
    readonly phase: PhaseResult;
  };
  cycles?: CycleResult[];
  /** With `--cold-starts`: fresh instrumentor processes, each timed through one cycle. */
  coldStarts?: ColdStart[];
  finalReady?: PhaseResult;
  singleChange?: {
    readonly phase: PhaseResult;
    readonly optOut: Summary | undefined;
    /** From the runtime details' re-creation (the node agent's report) to the device. */
    readonly optIn: Summary | undefined;
    /** From the opt-in annotation write to the device (includes waiting for the instrumentor to settle). */
    readonly optInFromAnnotation: Summary | undefined;
    readonly all: Summary | undefined;
  };
  steady?: PhaseResult;
  /** `kubectl odigos-instrumentor status -A` once every workload is instrumented (not with `--no-plugin`). */
  pluginStatus?: PluginStatusResult;
  shutdown?: { readonly code: number | string; readonly ms: number };
  instrumentor?: {
    /** The script run, from the repository root: the bundle unless `--instrumentor-main` said otherwise. */
    readonly entry: string;
    readonly pid: number;
    readonly highWaterMarkBytes: number;
    readonly logLines: number;
    readonly logLevels: Record<string, number>;
    readonly unstructuredLines: number;
    readonly lastProblems: string[];
    readonly cpuProfileDir: string | undefined;
  };
  /** With `--pods`: mass rollouts on a cluster with pods, per budget. */
  pods?: PodsResult;
  /** With `--cpu-profile-dir`: the instrumentor's top self-time functions per phase. */
  profiles?: Record<string, ProfileSummary & { readonly file: string }>;
  targets?: Target[];
  error?: string;
}

// ---- a run with pods (`--pods`) ----------------------------------------------------

export interface WorkloadRestarts {
  readonly workload: string;
  readonly replicas: number;
  readonly created: number;
  readonly started: number;
  readonly revisions: number;
}

export interface RestartSummary {
  /** Changed workloads rolled exactly once: one new revision, `replicas` pods started. */
  readonly exact: number;
  /** Changed workloads whose pods were replaced by more than one new revision: a double rollout. */
  readonly doubleRollouts: ReadonlyArray<WorkloadRestarts>;
  /** One revision, but more pods started than replicas (a pod replaced again: not the instrumentor's doing). */
  readonly more: ReadonlyArray<WorkloadRestarts>;
  /** Fewer pods started than replicas (a rollout that did not finish in the phase). */
  readonly fewer: ReadonlyArray<WorkloadRestarts>;
  /** Pods started for workloads the phase did not change (must be 0). */
  readonly unchangedStarted: number;
  /** Mean pods started per changed workload (must be its replicas). */
  readonly meanStarted: number;
  /** Mean pods created per changed workload (started, plus pods deleted before they ran). */
  readonly meanCreated: number;
}

/** The ideal time of a mass rollout: waves × one rollout's time. */
export interface Ideal {
  readonly budget: number;
  readonly waves: ReadonlyArray<number>;
  /** One rollout's time it is built on. */
  readonly rolloutMs: number;
  /** waves × rolloutMs. */
  readonly ms: number;
}

/** One phase of mass rollouts: the meter's figures and what the watches saw. */
export interface RolloutPhase {
  /** API server, audit log by client and program, CPU, memory; `wallMs` = `rolledOutMs`. */
  readonly phase: PhaseResult;
  /** The instrumentor's `--max-concurrent-rollouts` (0 = unlimited; none: the benchmark's own writes). */
  readonly budget: number | undefined;
  /** Workloads the phase had to change (and roll). */
  readonly changed: number;
  /** From the trigger until every workload's template was as wanted (the instrumentor's writes). */
  readonly devicesMs: number;
  /** From the trigger until every changed workload was rolled out (observedGeneration current, updated = desired = available). */
  readonly rolledOutMs: number;
  /** The most workloads rolling at once (from the watch of workload status, every event). */
  readonly maxRolling: number;
  /** Time-weighted mean of the workloads rolling over the phase. */
  readonly meanRolling: number;
  /** Pods that appeared and disappeared in the phase (watch, by UID). */
  readonly podsCreated: number;
  readonly podsDeleted: number;
  /** Pods created in the phase and deleted before they ever ran. */
  readonly podsStillborn: number;
  /** Each workload's rollout in the phase, from its first event rolling to its first complete. */
  readonly rolloutMs: Summary | undefined;
  /** Pods restarted per changed workload against its replicas (lists cut at 20). */
  readonly restarts: RestartSummary & {
    readonly doubleRolloutCount: number;
    readonly moreCount: number;
    readonly fewerCount: number;
  };
}

export interface Calibration {
  /** Each single rollout's time (patch → rolled out, seen by the watch), per kind, in order. */
  readonly perKindMs: Readonly<Partial<Record<WorkloadKind, number[]>>>;
  readonly medianMs: Readonly<Partial<Record<WorkloadKind, number>>>;
  /** The kinds' medians weighted by the seeded mix. */
  readonly mixMs: number;
}

export interface BudgetRun {
  readonly budget: number;
  /** Spawn → `/readyz` 200, start-up with collectors not ready (nothing to write). */
  readonly startup: PhaseResult;
  readonly readyMs: number;
  readonly rssAfterSyncBytes: number;
  readonly instrument: RolloutPhase;
  /** `odigos_instrumentor_cache_objects{informer="Pod"}` once every workload is instrumented. */
  readonly podCacheAfterInstrument: number | undefined;
  /** A fresh instrumentor on the converged cluster: it must write nothing, restart no pod. */
  readonly restart: RolloutPhase;
  readonly uninstrument: RolloutPhase;
  readonly podCacheAfterUninstrument: number | undefined;
  /** waves × one rollout's time, filled in once the calibration after the budgets is known. */
  ideal?: Ideal;
  uninstrumentIdeal?: Ideal;
}

/** A stretch of the instrumentor idle on its converged workloads (issue 35). */
export interface IdleStretch {
  /** The meter's figures: the instrumentor's CPU and requests, the API server's, other load. */
  readonly phase: PhaseResult;
  /** `odigos_instrumentor_watch_events_total` deltas over the stretch, by informer. */
  readonly received: Readonly<Record<string, number>>;
  /** Workloads the benchmark rolled (not the instrumentor's: the other pods' Deployments). */
  readonly rolled: number;
  /** Pods created and deleted in the stretch (the benchmark's pod watch). */
  readonly podsCreated: number;
  readonly podsDeleted: number;
}

/**
 * Issue 35: pods the instrumentor has no business with (Deployments in a namespace that is not
 * opted in) must cost it nothing. Measured with the first budget's instrumentor once it has
 * instrumented every workload; in a run without other pods, `idle` alone, to compare with.
 */
export interface OtherPodsRun {
  /** `--other-pods` and `--other-workloads` (0 and 0: the run to compare with). */
  readonly pods: number;
  readonly workloads: number;
  /** Seeding them, until every one ran (before any instrumentor started). */
  readonly seedMs: number;
  /** The instrumentor whose figures these are. */
  readonly budget: number;
  /** Its RSS after the initial sync (also in `budgets[0]`), and what it had received by then. */
  readonly rssAfterSyncBytes: number;
  readonly receivedAtSync: Readonly<Record<string, number>>;
  /** The other workloads rolled (a pod-template annotation changed) until every one is rolled out. */
  readonly churn?: IdleStretch;
  /** Nothing changes, for as long as the churn took but at most 60 s (30 s without one). */
  readonly idle: IdleStretch;
}

export interface PodsResult {
  readonly nodes: number;
  readonly nodesWithoutDevices: number;
  readonly replicas: number;
  readonly podReadyDelayMs: number;
  readonly podReadyJitterMs: number;
  readonly uninstrumentBudget: number;
  seed?: RolloutPhase;
  calibration?: {
    readonly before: Calibration;
    after?: Calibration;
    /** The unit of the ideal: the faster of the two calibrations' mix. */
    rolloutMs?: number;
  };
  readonly budgets: BudgetRun[];
  /** Seeding `--other-pods`, until every one ran. */
  otherPodsSeedMs?: number;
  /** Issue 35 (absent in runs before it). */
  otherPods?: OtherPodsRun;
}
