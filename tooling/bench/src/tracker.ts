/**
 * The benchmark's view of the cluster, fed by its own watches (`@odigos/kube-client` Streams):
 * every workload's devices (and resource version, for the floor's patches) and which runtime
 * details exist; with pods, each workload's rollout (from its status) and every pod. Conditions
 * are checked as each event arrives, so a phase ends at the moment the last change is seen.
 */
import {
  OdigosResources,
  type WorkloadKind,
  workloadDecoder,
  workloadKey,
  workloadResource,
} from "@odigos/crd-types";
import { rolloutProgress } from "@odigos/instrumentation-rules";
import {
  hasStatus,
  KubeClient,
  type KubeClientApi,
  type KubeObject,
  listAll,
  type Resource,
  Resources,
} from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Fiber from "effect/Fiber";
import * as Stream from "effect/Stream";
import { RolloutCensus } from "./census.js";
import { carries, hasAnyDevice, stateOf, type WorkloadState } from "./workloads.js";

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: (at: number) => void;
}

type Apply = (type: "ADDED" | "MODIFIED" | "DELETED", object: KubeObject) => void;

/** Whether a raw workload is rolling: its controller has not reported its current spec rolled out. */
export const isRolling = (kind: WorkloadKind, raw: unknown): boolean => {
  const decoded = workloadDecoder(kind)(raw);
  return Either.isRight(decoded) && rolloutProgress(decoded.right)._tag !== "Complete";
};

/** With pods: which workload a pod belongs to (its key), from its namespace and labels. */
export type PodOwner = (
  namespace: string,
  labels: Readonly<Record<string, string>>,
) => string | undefined;

export class Tracker {
  private readonly workloads = new Map<string, WorkloadState>();
  private readonly instrumented = new Set<string>();
  private readonly withDevices = new Set<string>();
  private readonly runtimeDetails = new Set<string>();
  private readonly waiters = new Set<Waiter>();
  private fibers: Array<Fiber.RuntimeFiber<never, never>> = [];
  /** Watch events seen (all kinds, bookmarks included). */
  events = 0;
  /** With pods: rollouts in progress and pods created and deleted, from the same watches. */
  readonly census = new RolloutCensus();

  /**
   * `desired` maps a workload key to the devices it must carry when instrumented; `kinds` are
   * the workload kinds watched (Rollouts only while their CRD is installed: a watch of a
   * resource the server does not serve fails). With `podOwner`, the tracker also follows every
   * workload's rollout (its status: a CronJob's is complete at once, a Rollout's is Argo's) and
   * every pod.
   */
  constructor(
    private readonly kube: KubeClientApi,
    private readonly desired: ReadonlyMap<string, Readonly<Record<string, ReadonlyArray<string>>>>,
    private readonly kinds: ReadonlyArray<WorkloadKind>,
    private readonly onError: (error: Error) => void,
    private readonly podOwner?: PodOwner,
  ) {}

  /** With pods: workloads whose rollout is not complete. */
  get rollingCount(): number {
    return this.census.rollingCount;
  }

  get size(): number {
    return this.workloads.size;
  }

  /** Tracked workloads carrying exactly their desired devices. */
  get instrumentedCount(): number {
    return this.instrumented.size;
  }

  /** Tracked workloads carrying any device. */
  get withDevicesCount(): number {
    return this.withDevices.size;
  }

  get runtimeDetailsCount(): number {
    return this.runtimeDetails.size;
  }

  workload(key: string): WorkloadState | undefined {
    return this.workloads.get(key);
  }

  hasRuntimeDetails(namespace: string, name: string): boolean {
    return this.runtimeDetails.has(`${namespace}/${name}`);
  }

  /** Lists everything, then watches from there; resolves once listed. */
  async start(): Promise<void> {
    const followed: ReadonlyArray<readonly [Resource, Apply]> = [
      ...this.kinds.map(
        (kind) =>
          [
            workloadResource(kind),
            (type: string, object: KubeObject) => this.onWorkload(kind, type, object),
          ] as const,
      ),
      [
        OdigosResources.InstrumentedApplication,
        (type, object) => this.onRuntimeDetails(type, object),
      ],
      ...(this.podOwner === undefined
        ? []
        : [
            [
              Resources.Pod,
              (type: string, object: KubeObject) => this.onPod(type, object),
            ] as const,
          ]),
    ];
    this.listing = true;
    const versions = await Promise.all(
      followed.map(([resource, apply]) => Effect.runPromise(this.list(resource, apply))),
    ).finally(() => {
      this.listing = false;
    });
    this.fibers = followed.map(([resource, apply], index) =>
      Effect.runFork(this.follow(resource, apply, versions[index] ?? "")),
    );
  }

  stop(): void {
    for (const fiber of this.fibers) Effect.runFork(Fiber.interrupt(fiber));
    this.fibers = [];
  }

  /**
   * Resolves with `performance.now()` of the event after which `check` first
   * held (at once if it holds now); rejects after `timeoutMs`.
   */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
    if (check()) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiters.add(waiter);
    });
  }

  private changed(): void {
    if (this.waiters.size === 0) return;
    const at = performance.now();
    for (const waiter of [...this.waiters]) {
      if (waiter.check()) {
        this.waiters.delete(waiter);
        waiter.resolve(at);
      }
    }
  }

  private onWorkload(kind: WorkloadKind, type: string, raw: unknown): void {
    const state = stateOf(kind, raw);
    if (state === undefined) return;
    const key = workloadKey(state);
    if (this.podOwner !== undefined)
      this.census.setRolling(
        key,
        type !== "DELETED" && isRolling(kind, raw),
        performance.now(),
        Number(state.resourceVersion) || 0,
      );
    if (type === "DELETED") {
      this.workloads.delete(key);
      this.instrumented.delete(key);
      this.withDevices.delete(key);
    } else {
      this.workloads.set(key, state);
      const desired = this.desired.get(key);
      if (desired !== undefined && carries(state, desired)) this.instrumented.add(key);
      else this.instrumented.delete(key);
      if (hasAnyDevice(state)) this.withDevices.add(key);
      else this.withDevices.delete(key);
    }
    this.changed();
  }

  /** True during the first list: pods then are known, not created. */
  private listing = false;

  private onPod(type: string, object: KubeObject): void {
    const uid = object.metadata.uid;
    if (uid === undefined || this.podOwner === undefined) return;
    if (type === "DELETED") this.census.podGone(uid);
    else {
      const labels = object.metadata.labels ?? {};
      this.census.podSeen(
        uid,
        this.podOwner(object.metadata.namespace ?? "", labels),
        labels["pod-template-hash"] ?? labels["controller-revision-hash"],
        (object as { status?: { phase?: string } }).status?.phase === "Running",
        this.listing,
      );
    }
    this.changed();
  }

  private onRuntimeDetails(type: string, object: KubeObject): void {
    const key = `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
    if (type === "DELETED") this.runtimeDetails.delete(key);
    else this.runtimeDetails.add(key);
    this.changed();
  }

  /** Every page; each item applied as ADDED; the version to watch from. */
  private list(resource: Resource, apply: Apply) {
    return listAll(resource).pipe(
      Effect.provideService(KubeClient, this.kube),
      Effect.map(({ items, resourceVersion }) => {
        for (const item of items) apply("ADDED", item);
        this.changed();
        return resourceVersion;
      }),
    );
  }

  /** Watches from `from` for ever: a watch that ends resumes from the last version, 410 re-lists. */
  private follow(resource: Resource, apply: Apply, from: string): Effect.Effect<never> {
    let version = from;
    const watchOnce = Effect.suspend(() =>
      Stream.runForEach(
        this.kube.watch(resource, { resourceVersion: version, timeoutSeconds: 3600 }),
        (event) =>
          Effect.sync(() => {
            this.events++;
            if (event.type !== "BOOKMARK") apply(event.type, event.object);
            version = event.object.metadata.resourceVersion ?? version;
          }),
      ),
    );
    return Effect.forever(
      watchOnce.pipe(
        Effect.catchAll((error) =>
          hasStatus(error, 410)
            ? Effect.map(this.list(resource, apply), (listed) => {
                version = listed;
              })
            : Effect.zipRight(
                Effect.sync(() => this.onError(new Error(error.message))),
                Effect.sleep(200),
              ),
        ),
        // A failed re-list is reported like a failed watch, and retried.
        Effect.catchAll((error) =>
          Effect.zipRight(
            Effect.sync(() => this.onError(new Error(error.message))),
            Effect.sleep(200),
          ),
        ),
      ),
    );
  }
}
