/**
 * A list-then-watch cache of one resource that never stops while its scope is open, with
 * client-go's reflector semantics: list, then watch from the list's version; a watch that ends
 * or fails is re-opened from the last version delivered (the server replays from there); only
 * an expired version (410) or a failed list starts over with a list, whose differences are
 * delivered as events. Objects are decoded once, here; one that fails is kept out of the cache
 * and reported.
 */
import type { DecodeError } from "@odigos/crd-types";
import {
  hasStatus,
  KubeClient,
  type KubeClientApi,
  type KubeError,
  type KubeObject,
  type Resource,
  type WatchEvent,
} from "@odigos/kube-client";
import type * as Chunk from "effect/Chunk";
import * as Clock from "effect/Clock";
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as FiberId from "effect/FiberId";
import type * as Scope from "effect/Scope";
import * as Stream from "effect/Stream";
import type { Logger } from "pino";
import { Backoff } from "../backoff.js";
import { Log } from "../observability/log.js";

/**
 * Items per list page (client-go's reflector asks 500). A page is parsed whole before its items
 * are decoded, and a page of 500 workloads, several MB of parsed JSON, outlives V8's young
 * generation, so the old generation grows to hold it at start-up and keeps that room. Pages of
 * 100 took the median RSS after the initial sync at 1000 workloads from 80.3 to 78.8 MB (six
 * starts each; 250: no change), for 10 list requests instead of 3; at 20 000 workloads, 200
 * instead of 40 made start-up 1.4 s longer (tooling/bench/README.md, "Memory").
 */
export const listPageSize = 100;

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
  /** Short name for logs and metrics, e.g. `Deployment`. */
  readonly name: string;
  readonly resource: Resource;
  /** Only this namespace; all when absent. */
  readonly namespace?: string | undefined;
  /** Only objects with these labels (a label selector), listed and watched so by the API server. */
  readonly labelSelector?: string | undefined;
  /** Only objects with these fields (e.g. `metadata.name=rollouts.argoproj.io`), as the labels. */
  readonly fieldSelector?: string | undefined;
  readonly decode: (raw: unknown) => Either.Either<A, DecodeError>;
  readonly resourceVersionOf: (value: A) => string;
  /**
   * A cheaper way to the value of a newer version of a cached object: `previous` brought up to
   * `raw` when `raw` moved only what this carries over (e.g. a status), `undefined` to decode
   * `raw` whole. When defined it must equal what `decode` gives.
   */
  readonly refresh?: ((previous: A, raw: unknown) => A | undefined) | undefined;
  /** Called synchronously for every change, in order. */
  readonly onEvent: (event: InformerEvent<A>) => void;
  /** Objects to keep in the cache; one that is not kept counts as absent (default: all). */
  readonly keep?: ((value: A) => boolean) | undefined;
  /** Called for every failed list or watch (for metrics). */
  readonly onFailure?: (() => void) | undefined;
  /**
   * Called with the number of objects the API server sent, before any is decoded or kept: a list
   * page's items, a watch chunk's events (bookmarks excluded). For metrics: what the informer costs.
   */
  readonly onReceived?: ((count: number) => void) | undefined;
  /** Items per list page. Default {@link listPageSize}. */
  readonly pageSize?: number | undefined;
  /** Drop a watch that delivered nothing (not even a bookmark) for this long. */
  readonly idleTimeoutMs?: number | undefined;
  /** First retry delay after a failed list or watch. Default 200 ms. */
  readonly retryBaseMs?: number | undefined;
}

export interface Informer<A> {
  readonly name: string;
  readonly get: (key: string) => A | undefined;
  readonly values: () => IterableIterator<A>;
  readonly size: () => number;
  /** The decode error of an object that is in the cluster but not in the cache. */
  readonly invalidReason: (key: string) => DecodeError | undefined;
  readonly hasSynced: () => boolean;
  /** Completes after the first complete list. */
  readonly synced: Effect.Effect<void>;
  /** Since when lists and watches have been failing without a success in between, if they are. */
  readonly failingSince: () => number | undefined;
  /** Counters for metrics and tests. */
  readonly stats: { lists: number; watches: number; expired: number; failures: number };
  /** Starts the list-and-watch loop in the current scope; it stops when the scope closes. */
  readonly start: Effect.Effect<void, never, Scope.Scope>;
}

interface RawMeta {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

const rawVersionOf = (raw: unknown): string | undefined =>
  (raw as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;

const keyOfRaw = (raw: unknown): string | undefined => {
  const metadata = (raw as RawMeta | undefined)?.metadata;
  if (metadata?.name === undefined) return undefined;
  return metadata.namespace === undefined
    ? metadata.name
    : `${metadata.namespace}/${metadata.name}`;
};

/** The cache and client-go's reflector loop around it. */
class Reflector<A> implements Informer<A> {
  private readonly cache = new Map<string, A>();
  private readonly invalid = new Map<string, DecodeError>();
  private readonly syncedSignal = Deferred.unsafeMake<void>(FiberId.none);
  private isSynced = false;
  private failing: number | undefined;
  /** The version the next watch resumes from: the last one any event or bookmark delivered. */
  private resumeVersion = "";
  private readonly backoff: Backoff;
  private readonly fields: { readonly informer: string };
  /** At debug level, every change is logged after its handler ran (tests wait for this line). */
  private readonly observed: ((type: string, key: string, object: KubeObject) => void) | undefined;
  readonly stats = { lists: 0, watches: 0, expired: 0, failures: 0 };
  readonly name: string;
  readonly synced: Effect.Effect<void>;

  constructor(
    private readonly client: KubeClientApi,
    private readonly log: Logger,
    private readonly options: InformerOptions<A>,
  ) {
    this.name = options.name;
    this.fields = { informer: options.name };
    this.synced = Deferred.await(this.syncedSignal);
    this.backoff = new Backoff({ baseMs: options.retryBaseMs ?? 200, maxMs: 5_000 });
    this.observed = log.isLevelEnabled("debug")
      ? (type, key, object) =>
          log.debug(
            { ...this.fields, type, key, resourceVersion: object.metadata?.resourceVersion },
            "observed",
          )
      : undefined;
  }

  get(key: string): A | undefined {
    return this.cache.get(key);
  }
  values(): IterableIterator<A> {
    return this.cache.values();
  }
  size(): number {
    return this.cache.size;
  }
  invalidReason(key: string): DecodeError | undefined {
    return this.invalid.get(key);
  }
  hasSynced(): boolean {
    return this.isSynced;
  }
  failingSince(): number | undefined {
    return this.failing;
  }

  get start(): Effect.Effect<void, never, Scope.Scope> {
    return Effect.asVoid(Effect.forkScoped(this.reflect()));
  }

  /** Decodes and stores one object, emitting an event when it changed. */
  private apply(key: string, raw: unknown, fromList: boolean): void {
    const previous = this.cache.get(key);
    if (previous !== undefined) {
      // A re-list serves every object again: one at the cached version is the cached one.
      if (fromList && rawVersionOf(raw) === this.options.resourceVersionOf(previous)) return;
      const refreshed = this.options.refresh?.(previous, raw);
      if (refreshed !== undefined) {
        this.put(key, previous, refreshed);
        return;
      }
    }
    const decoded = this.options.decode(raw);
    if (Either.isLeft(decoded)) {
      const known = this.invalid.get(key);
      this.invalid.set(key, decoded.left);
      if (previous !== undefined) this.cache.delete(key);
      if (known?.message !== decoded.left.message || previous !== undefined)
        this.options.onEvent({ type: "invalid", key, previous, error: decoded.left });
      return;
    }
    this.invalid.delete(key);
    this.put(key, previous, decoded.right);
  }

  /** Keeps `current` (or drops it, when the cache does not keep it) and emits the change. */
  private put(key: string, previous: A | undefined, current: A): void {
    if (this.options.keep !== undefined && !this.options.keep(current)) {
      this.remove(key);
      return;
    }
    this.cache.set(key, current);
    this.options.onEvent({ type: "upsert", key, previous, current });
  }

  private remove(key: string): void {
    const previous = this.cache.get(key);
    this.cache.delete(key);
    this.invalid.delete(key);
    if (previous !== undefined) this.options.onEvent({ type: "delete", key, previous });
  }

  /** Lists every page, replaces the cache, emits the differences; returns the list's version. */
  private list(): Effect.Effect<string, KubeError> {
    return Effect.gen(this, function* () {
      const seen = new Set<string>();
      let next: string | undefined;
      let version = "";
      do {
        const page = yield* this.client.list(this.options.resource, {
          namespace: this.options.namespace,
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          limit: this.options.pageSize ?? listPageSize,
          continue: next,
        });
        this.options.onReceived?.(page.items.length);
        for (const raw of page.items) {
          const key = keyOfRaw(raw);
          if (key === undefined) continue;
          seen.add(key);
          this.apply(key, raw, true);
          this.observed?.("LISTED", key, raw);
        }
        version = page.resourceVersion;
        next = page.continue;
      } while (next !== undefined);
      for (const key of [...this.cache.keys()]) if (!seen.has(key)) this.remove(key);
      for (const key of [...this.invalid.keys()]) if (!seen.has(key)) this.invalid.delete(key);
      this.stats.lists += 1;
      this.failing = undefined;
      if (!this.isSynced) {
        this.isSynced = true;
        yield* Deferred.succeed(this.syncedSignal, undefined);
      }
      return version;
    });
  }

  private onEvents(events: Chunk.Chunk<WatchEvent>): void {
    this.failing = undefined;
    let received = 0;
    for (const event of events) {
      const object: KubeObject = event.object;
      if (event.type !== "BOOKMARK") {
        received += 1;
        const key = keyOfRaw(object);
        if (key === undefined) continue;
        if (event.type === "DELETED") this.remove(key);
        else this.apply(key, object, false);
        this.observed?.(event.type, key, object);
      }
      const version = object.metadata?.resourceVersion;
      if (version !== undefined && version !== "") this.resumeVersion = version;
    }
    if (received > 0) this.options.onReceived?.(received);
  }

  /** One watch from the resume version; ends when the server ends it. */
  private watch(): Effect.Effect<void, KubeError> {
    return Effect.suspend(() => {
      // Server-side timeout spread over 5-10 minutes, like client-go, so watches do not reconnect in lockstep.
      const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
      this.stats.watches += 1;
      const stream = this.client.watch(this.options.resource, {
        namespace: this.options.namespace,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        resourceVersion: this.resumeVersion,
        allowBookmarks: true,
        timeoutSeconds,
        idleTimeoutMs: this.options.idleTimeoutMs ?? (timeoutSeconds + 30) * 1000,
      });
      return Stream.runForEachChunk(stream, (events) => Effect.sync(() => this.onEvents(events)));
    });
  }

  private retryAfter(what: "list" | "watch", error: KubeError): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      this.stats.failures += 1;
      this.options.onFailure?.();
      // Refused (RBAC): a restart would not help, so it does not count against /healthz; it is logged.
      if (!hasStatus(error, 401) && !hasStatus(error, 403))
        this.failing ??= yield* Clock.currentTimeMillis;
      const delayMs = this.backoff.next();
      const reason = error._tag === "KubeStatusError" ? error.reason : undefined;
      this.log.warn(
        { ...this.fields, reason, err: error.message, retryInMs: delayMs },
        `${what} failed: retrying`,
      );
      yield* Effect.sleep(delayMs);
    });
  }

  /** client-go's reflector loop: list, watch and resume until an expired version calls for a list. */
  private reflect(): Effect.Effect<never> {
    return Effect.gen(this, function* () {
      for (;;) {
        const listed = yield* Effect.either(this.list());
        if (Either.isLeft(listed)) {
          yield* this.retryAfter("list", listed.left);
          continue;
        }
        this.backoff.reset();
        this.resumeVersion = listed.right;
        yield* this.watchUntilExpired();
      }
    });
  }

  private watchUntilExpired(): Effect.Effect<void> {
    return Effect.gen(this, function* () {
      for (;;) {
        const watched = yield* Effect.either(this.watch());
        if (Either.isRight(watched)) {
          this.backoff.reset();
          continue;
        }
        if (hasStatus(watched.left, 410)) {
          this.stats.expired += 1;
          this.log.info(
            { ...this.fields, resourceVersion: this.resumeVersion },
            "watch resource version expired (410): re-listing",
          );
          return;
        }
        yield* this.retryAfter("watch", watched.left);
      }
    });
  }
}

/** An informer over `client`, not yet started: see {@link Informer.start}. */
export const createInformer = <A>(
  client: KubeClientApi,
  log: Logger,
  options: InformerOptions<A>,
): Informer<A> => new Reflector(client, log, options);

/** An informer, not yet started: see {@link Informer.start}. */
export const makeInformer = <A>(
  options: InformerOptions<A>,
): Effect.Effect<Informer<A>, never, KubeClient | Log> =>
  Effect.map(Effect.all([KubeClient, Log]), ([client, log]) => new Reflector(client, log, options));
