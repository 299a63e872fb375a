/**
 * The benchmark's view of the cluster, fed by its own watches: every
 * workload's devices (and resource version, for the floor's patches) and which
 * runtime details exist. Conditions are checked as each event arrives, so a
 * phase ends at the moment the last change is seen.
 */
import { type KubeClient, KubeError, type WatchStream } from "./kube.js";
import {
  carries,
  hasAnyDevice,
  pluralOf,
  stateOf,
  type WorkloadKind,
  type WorkloadState,
  workloadKey,
} from "./workloads.js";

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: (at: number) => void;
}

const kinds: ReadonlyArray<WorkloadKind> = ["Deployment", "StatefulSet", "DaemonSet"];
const runtimeDetailsPath = "/apis/odigos.io/v1alpha1/instrumentedapplications";

export class Tracker {
  private readonly workloads = new Map<string, WorkloadState>();
  private readonly instrumented = new Set<string>();
  private readonly withDevices = new Set<string>();
  private readonly runtimeDetails = new Set<string>();
  private readonly waiters = new Set<Waiter>();
  private readonly streams = new Set<WatchStream>();
  private stopped = false;
  /** Watch events seen (all kinds). */
  events = 0;

  /** `desired` maps a workload key to the devices it must carry when instrumented. */
  constructor(
    private readonly kube: KubeClient,
    private readonly desired: ReadonlyMap<string, Readonly<Record<string, ReadonlyArray<string>>>>,
    private readonly onError: (error: Error) => void,
  ) {}

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
    await Promise.all([
      ...kinds.map((kind) =>
        this.follow(`/apis/apps/v1/${pluralOf[kind]}`, (type, raw) =>
          this.onWorkload(kind, type, raw),
        ),
      ),
      this.follow(runtimeDetailsPath, (type, raw) => this.onRuntimeDetails(type, raw)),
    ]);
  }

  stop(): void {
    this.stopped = true;
    for (const stream of this.streams) stream.close();
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
    const key = workloadKey(kind, state.namespace, state.name);
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

  private onRuntimeDetails(type: string, raw: unknown): void {
    const metadata = (raw as { metadata?: { name?: string; namespace?: string } }).metadata;
    if (metadata?.name === undefined) return;
    const key = `${metadata.namespace ?? ""}/${metadata.name}`;
    if (type === "DELETED") this.runtimeDetails.delete(key);
    else this.runtimeDetails.add(key);
    this.changed();
  }

  /** List (paged), then watch forever from the list's version; re-list on 410. */
  private async follow(path: string, apply: (type: string, raw: unknown) => void): Promise<void> {
    const list = async (): Promise<string> => {
      let continueToken: string | undefined;
      let version = "";
      do {
        const query = new URLSearchParams({ limit: "500" });
        if (continueToken !== undefined) query.set("continue", continueToken);
        const { body } = await this.kube.request("GET", `${path}?${query}`);
        const page = body as {
          items?: unknown[];
          metadata?: { resourceVersion?: string; continue?: string };
        };
        for (const item of page.items ?? []) apply("ADDED", item);
        version = page.metadata?.resourceVersion ?? version;
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken !== undefined);
      return version;
    };
    let version = await list();
    const loop = async () => {
      while (!this.stopped) {
        const query = new URLSearchParams({
          watch: "1",
          allowWatchBookmarks: "true",
          resourceVersion: version,
          timeoutSeconds: "3600",
        });
        let expired = false;
        try {
          const stream = await this.kube.watch(`${path}?${query}`, (event) => {
            this.events++;
            const object = event.object as {
              code?: number;
              metadata?: { resourceVersion?: string };
            };
            if (event.type === "ERROR") {
              if (object.code === 410) expired = true;
              return;
            }
            if (event.type !== "BOOKMARK") apply(event.type, event.object);
            version = object.metadata?.resourceVersion ?? version;
          });
          this.streams.add(stream);
          if (this.stopped) stream.close();
          await stream.ended.finally(() => this.streams.delete(stream));
        } catch (error) {
          if (this.stopped) return;
          if (error instanceof KubeError && error.status === 410) expired = true;
          else {
            this.onError(error instanceof Error ? error : new Error(String(error)));
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
        if (expired && !this.stopped) version = await list();
      }
    };
    void loop().catch((error: unknown) =>
      this.onError(error instanceof Error ? error : new Error(String(error))),
    );
  }
}
