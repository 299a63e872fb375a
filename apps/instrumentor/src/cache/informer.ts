/**
 * A list-then-watch cache of one resource that can never stop silently: every
 * ended or failed watch reconnects from the last resource version with backoff,
 * an expired resource version (HTTP 410) triggers a re-list whose differences
 * are delivered as events, and a stream idle past its deadline is dropped and
 * re-opened. Objects are decoded once, here; one that fails is reported and
 * kept out of the cache.
 */
import type { DecodeError } from "@odigos/crd-types";
import * as Either from "effect/Either";
import type { KubeHttp } from "../kube/http.js";
import { KubeRequestError } from "../kube/http.js";
import { Backoff } from "../queue/backoff.js";

export type InformerEvent<A> =
  | {
      readonly type: "upsert";
      readonly key: string;
      readonly previous: A | undefined;
      readonly current: A;
    }
  | { readonly type: "delete"; readonly key: string; readonly previous: A }
  | {
      readonly type: "invalid";
      readonly key: string;
      readonly previous: A | undefined;
      readonly error: DecodeError;
    };

export interface InformerOptions<A> {
  /** Short name for logs and metrics, e.g. `deployments`. */
  readonly name: string;
  /** Collection path, e.g. `/apis/apps/v1/deployments`. */
  readonly path: string;
  readonly decode: (raw: unknown) => Either.Either<A, DecodeError>;
  readonly resourceVersionOf: (value: A) => string;
  readonly onEvent: (event: InformerEvent<A>) => void;
  readonly log: InformerLog;
  /** Items per list page. */
  readonly pageSize?: number;
  /** Drop a watch that delivered nothing (not even a bookmark) for this long. */
  readonly idleTimeoutMs?: number;
  /** First retry delay after a failed list or watch. */
  readonly retryBaseMs?: number;
}

export interface InformerLog {
  readonly info: (fields: Record<string, unknown>, message: string) => void;
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
}

interface RawMeta {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
  };
}

const keyOfRaw = (raw: unknown): string | undefined => {
  const metadata = (raw as RawMeta | undefined)?.metadata;
  if (metadata?.name === undefined) return undefined;
  return metadata.namespace === undefined
    ? metadata.name
    : `${metadata.namespace}/${metadata.name}`;
};

/** Raised inside the loop when the server no longer has our resource version. */
class Expired extends Error {}

export class Informer<A> {
  private readonly store = new Map<string, A>();
  private readonly invalid = new Map<string, DecodeError>();
  private stopped = false;
  private current: { close: () => void } | undefined;
  private wakeUp: (() => void) | undefined;
  private resolveSynced: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  private isSynced = false;
  /** The version the next watch resumes from: the last one any event or bookmark delivered. */
  private resumeVersion = "";
  /** Counters for metrics and tests. */
  readonly stats = { lists: 0, watches: 0, expired: 0, failures: 0 };

  constructor(
    private readonly kube: KubeHttp,
    private readonly options: InformerOptions<A>,
  ) {
    this.synced = new Promise((resolve) => {
      this.resolveSynced = resolve;
    });
  }

  get hasSynced(): boolean {
    return this.isSynced;
  }

  get(key: string): A | undefined {
    return this.store.get(key);
  }

  values(): IterableIterator<A> {
    return this.store.values();
  }

  get size(): number {
    return this.store.size;
  }

  /** The decode error of an object that is in the cluster but not in the cache. */
  invalidReason(key: string): DecodeError | undefined {
    return this.invalid.get(key);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops intake: closes the stream and ends the loop. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.close();
    this.wakeUp?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * client-go's reflector loop: list, then watch from the list's version; a
   * failed watch is re-opened from the last version seen (nothing is missed:
   * the server replays from there); only an expired version, or a failed
   * list, starts over with a list.
   */
  private async run(): Promise<void> {
    // Capped low: a re-connect is one cheap request, and a recovering API server should be followed quickly.
    const backoff = new Backoff({ baseMs: this.options.retryBaseMs ?? 200, maxMs: 5_000 });
    while (!this.stopped) {
      try {
        this.resumeVersion = await this.list();
        backoff.reset();
      } catch (error) {
        if (this.stopped) break;
        await this.retryAfterFailure("list", error, backoff);
        continue;
      }
      while (!this.stopped) {
        try {
          await this.watch(this.resumeVersion);
          backoff.reset();
        } catch (error) {
          if (this.stopped) break;
          if (error instanceof Expired) {
            this.stats.expired++;
            this.options.log.info(
              { informer: this.options.name, resourceVersion: this.resumeVersion },
              "watch resource version expired (410): re-listing",
            );
            break;
          }
          await this.retryAfterFailure("watch", error, backoff);
        }
      }
    }
  }

  private async retryAfterFailure(
    what: "list" | "watch",
    error: unknown,
    backoff: Backoff,
  ): Promise<void> {
    this.stats.failures++;
    const delayMs = backoff.next();
    const reason = error instanceof KubeRequestError ? error.reason : undefined;
    this.options.log.warn(
      { informer: this.options.name, reason, err: String(error), retryInMs: delayMs },
      `${what} failed: retrying`,
    );
    await this.sleep(delayMs);
  }

  /** Lists every page, replaces the cache and emits the differences. */
  private async list(): Promise<string> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let listVersion = "";
    do {
      const query = new URLSearchParams({ limit: String(this.options.pageSize ?? 500) });
      if (continueToken !== undefined) query.set("continue", continueToken);
      const { body } = await this.kube.request("GET", `${this.options.path}?${query}`, {
        timeoutMs: 60_000,
      });
      const page = body as {
        items?: ReadonlyArray<unknown>;
        metadata?: { resourceVersion?: string; continue?: string };
      };
      for (const raw of page.items ?? []) {
        const key = keyOfRaw(raw);
        if (key === undefined) continue;
        seen.add(key);
        this.apply(key, raw, true);
      }
      listVersion = page.metadata?.resourceVersion ?? listVersion;
      continueToken = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
    } while (continueToken !== undefined && !this.stopped);
    for (const [key, previous] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.options.onEvent({ type: "delete", key, previous });
    }
    for (const key of [...this.invalid.keys()]) if (!seen.has(key)) this.invalid.delete(key);
    this.stats.lists++;
    if (!this.isSynced) {
      this.isSynced = true;
      this.resolveSynced?.();
    }
    return listVersion;
  }

  /** Decodes and stores one object, emitting an event when it changed. */
  private apply(key: string, raw: unknown, fromList: boolean): void {
    const previous = this.store.get(key);
    const decoded = this.options.decode(raw);
    if (Either.isLeft(decoded)) {
      const known = this.invalid.get(key);
      this.invalid.set(key, decoded.left);
      if (previous !== undefined) this.store.delete(key);
      if (known?.message !== decoded.left.message || previous !== undefined) {
        this.options.onEvent({ type: "invalid", key, previous, error: decoded.left });
      }
      return;
    }
    this.invalid.delete(key);
    const current = decoded.right;
    if (
      fromList &&
      previous !== undefined &&
      this.options.resourceVersionOf(previous) === this.options.resourceVersionOf(current)
    ) {
      return;
    }
    this.store.set(key, current);
    this.options.onEvent({ type: "upsert", key, previous, current });
  }

  /** One watch from `resourceVersion`, advancing {@link resumeVersion} with every event. */
  private async watch(resourceVersion: string): Promise<void> {
    // Server-side timeout spread over 5-10 minutes, like client-go, so watches do not reconnect in lockstep.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const query = new URLSearchParams({
      watch: "1",
      allowWatchBookmarks: "true",
      resourceVersion,
      timeoutSeconds: String(timeoutSeconds),
    });
    let expired = false;
    let stream: { close: () => void; ended: Promise<void> } | undefined;
    try {
      stream = await this.kube.watch(
        `${this.options.path}?${query}`,
        (event) => {
          const object = event.object as RawMeta & { code?: number };
          switch (event.type) {
            case "ADDED":
            case "MODIFIED": {
              const key = keyOfRaw(object);
              if (key !== undefined) this.apply(key, object, false);
              break;
            }
            case "DELETED": {
              const key = keyOfRaw(object);
              if (key === undefined) break;
              const previous = this.store.get(key);
              this.store.delete(key);
              this.invalid.delete(key);
              if (previous !== undefined) this.options.onEvent({ type: "delete", key, previous });
              break;
            }
            case "BOOKMARK":
              break;
            case "ERROR":
              if (object.code === 410) expired = true;
              else throw new Error(`watch error event: ${JSON.stringify(object)}`);
              stream?.close();
              return;
            default:
              return;
          }
          const version = object.metadata?.resourceVersion;
          if (version !== undefined) this.resumeVersion = version;
        },
        this.options.idleTimeoutMs ?? (timeoutSeconds + 30) * 1000,
      );
    } catch (error) {
      if (error instanceof KubeRequestError && error.status === 410) throw new Expired();
      throw error;
    }
    this.current = stream;
    // stop() may have run while the stream was opening.
    if (this.stopped) stream.close();
    this.stats.watches++;
    try {
      await stream.ended;
    } catch (error) {
      if (error instanceof KubeRequestError && error.status === 410) throw new Expired();
      throw error;
    } finally {
      this.current = undefined;
    }
    if (expired) throw new Expired();
  }
}
