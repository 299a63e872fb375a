/**
 * An API server in memory, behind the same `KubeClient` interface as the live one, for unit
 * tests of anything that talks to a cluster: one resourceVersion counter for every object (as
 * etcd has), UIDs, `generation` bumped on spec changes, 404, 409 on a stale resourceVersion or a
 * failed delete precondition, ordered watch events with bookmarks, and faults a test injects:
 * a status code for the next matching requests (409, 429, 500, …), dropped watches, and an
 * expired history (410).
 *
 * Simplifications, on purpose: strategic-merge and apply patches are JSON merge patches (apply
 * records its field manager); a label selector is equality-based (`a=b`, `a!=b`, `a`, `!a`);
 * deleting a namespace does not delete what is in it; admission and validation do not exist.
 */
import { randomUUID } from "node:crypto";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Stream from "effect/Stream";
import type * as StreamEmit from "effect/StreamEmit";
import jsonPatch from "fast-json-patch";
import {
  type DeleteOptions,
  KubeClient,
  type KubeClientApi,
  type KubeObject,
  type ListOptions,
  type ListPage,
  type Patch,
  type Selectors,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from "../client.js";
import { type KubeError, KubeStatusError, KubeTransportError } from "../errors.js";
import { collectionPath, objectPath, type Resource } from "../resource.js";

/** The verbs a fault or a recorded request names (as the audit log names them). */
export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

/** One request the fake answered, in order. */
export interface RecordedRequest {
  readonly verb: Verb;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  readonly fieldManager: string | undefined;
  /** HTTP code of the answer (200 for a watch that opened). */
  readonly code: number;
}

/** Which requests a fault applies to; an absent field matches anything. */
export interface RequestMatcher {
  readonly verb?: Verb | undefined;
  /** Plural, e.g. `deployments`. */
  readonly resource?: string | undefined;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

type Mutable = Record<string, unknown> & { metadata: Record<string, unknown> };

interface Watcher {
  readonly resource: string;
  /** Events held back while the watch "lags" (see `holdWatches`). */
  readonly held: Array<WatchEvent>;
  readonly selectors: Selectors;
  readonly bookmarks: boolean;
  readonly emit: StreamEmit.EmitOpsPush<KubeError, WatchEvent>;
}

interface HistoryEntry {
  readonly rv: number;
  readonly resource: string;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly object: KubeObject;
}

interface Fault {
  readonly matcher: RequestMatcher;
  readonly code: number;
  readonly reason: string;
  remaining: number;
}

const reasons: Readonly<Record<number, string>> = {
  400: "BadRequest",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

const clone = <A>(value: A): A => structuredClone(value);
const keyOf = (namespace: string | undefined, name: string) =>
  namespace === undefined ? name : `${namespace}/${name}`;
const resourceKey = (resource: Resource) => `${resource.group}/${resource.plural}`;

/** RFC 7386 JSON merge patch. */
const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return clone(patch);
  const result: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
};

const matchesLabels = (labels: Record<string, string>, selector: string | undefined): boolean => {
  if (selector === undefined || selector === "") return true;
  return selector.split(",").every((term) => {
    const requirement = term.trim();
    const notEqual = /^([^!=]+)!=(.*)$/.exec(requirement);
    if (notEqual) return labels[notEqual[1] ?? ""] !== notEqual[2];
    const equal = /^([^!=]+)==?(.*)$/.exec(requirement);
    if (equal) return labels[equal[1] ?? ""] === equal[2];
    if (requirement.startsWith("!")) return !(requirement.slice(1) in labels);
    return requirement in labels;
  });
};

const matchesFields = (object: KubeObject, selector: string | undefined): boolean => {
  if (selector === undefined || selector === "") return true;
  return selector.split(",").every((term) => {
    const match = /^([^!=]+)(!=|==?)(.*)$/.exec(term.trim());
    if (match === null) return false;
    const [, field = "", operator, value] = match;
    let current: unknown = object;
    for (const part of field.split(".")) current = (current as Record<string, unknown>)?.[part];
    const equal = String(current ?? "") === value;
    return operator === "!=" ? !equal : equal;
  });
};

const matches = (object: KubeObject, selectors: Selectors): boolean =>
  (selectors.namespace === undefined || object.metadata.namespace === selectors.namespace) &&
  matchesLabels(object.metadata.labels ?? {}, selectors.labelSelector) &&
  matchesFields(object, selectors.fieldSelector);

/** How a request is recorded; `code` is added once it is answered. */
const recordOf = (
  verb: Verb,
  resource: string,
  namespace: string | undefined,
  name: string | undefined,
  subresource?: string | undefined,
  fieldManager?: string | undefined,
): Omit<RecordedRequest, "code"> => ({
  verb,
  resource,
  namespace,
  name,
  subresource,
  fieldManager,
});

/** A refusal with the Kubernetes `reason` of its code. */
const refused = (method: string, path: string, code: number, detail: string) =>
  new KubeStatusError({ method, path, code, reason: reasons[code], detail });

const namespaceOf = (resource: Resource, namespace: string | undefined) =>
  resource.namespaced ? (namespace ?? "default") : undefined;

/** A write's answer: the object, or its metadata alone when asked (`WriteOptions.answer`). */
const answered = (
  write: WriteOptions | undefined,
  written: Effect.Effect<KubeObject, KubeError>,
): Effect.Effect<KubeObject, KubeError> =>
  write?.answer === "metadata"
    ? Effect.map(written, (object) => ({
        apiVersion: "meta.k8s.io/v1",
        kind: "PartialObjectMetadata",
        metadata: object.metadata,
      }))
    : written;

/** The patched object: RFC 6902 for a JSON patch (422 when it does not apply), a merge patch otherwise. */
const applyPatch = (existing: KubeObject, patch: Patch, method: string, path: string): Mutable => {
  switch (patch.type) {
    case "json":
      try {
        return jsonPatch.applyPatch(
          clone(existing),
          clone(patch.operations) as Array<jsonPatch.Operation>,
          true,
          false,
        ).newDocument as unknown as Mutable;
      } catch (error) {
        throw refused(method, path, 422, `the JSON patch cannot be applied: ${String(error)}`);
      }
    default:
      return mergePatch(existing, patch.body) as Mutable;
  }
};

/** An in-memory API server; `layer` provides it as the `KubeClient`. */
export class FakeApiServer {
  private revision = 0;
  /** Watches from a version older than this get 410 Expired. */
  private oldestWatchable = 0;
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private readonly history: Array<HistoryEntry> = [];
  private readonly watchers = new Set<Watcher>();
  private readonly faults: Array<Fault> = [];
  private readonly recorded: Array<RecordedRequest> = [];
  private readonly holding = new Set<string>();
  /** Bodies `getText` answers, by path. */
  private readonly texts = new Map<string, string>();

  /** The `KubeClient` operations, answered from memory. */
  readonly client: KubeClientApi;
  /** Provides {@link client} as the `KubeClient` service. */
  readonly layer: Layer.Layer<KubeClient>;

  constructor(
    private readonly options: {
      /** Field manager of writes that name none (as the live client's default). */
      readonly fieldManager?: string;
      /** Kept history for watches to resume from. Default 10 000 events. */
      readonly historyLimit?: number;
    } = {},
  ) {
    this.client = this.makeClient();
    this.layer = Layer.succeed(KubeClient, this.client);
  }

  // ------------------------------------------------------------------------------------------
  // What a test sees and does outside the client.

  /** The current resourceVersion of the whole store. */
  get resourceVersion(): string {
    return String(this.revision);
  }

  /** Every request answered so far, oldest first. */
  get requests(): ReadonlyArray<RecordedRequest> {
    return this.recorded;
  }

  /** Requests that changed something (create, update, patch, delete) and succeeded. */
  writes(matcher: RequestMatcher = {}): ReadonlyArray<RecordedRequest> {
    return this.recorded.filter(
      (request) =>
        ["create", "update", "patch", "delete"].includes(request.verb) &&
        request.code < 300 &&
        this.matchesRequest(matcher, request),
    );
  }

  /** A copy of the stored object, or undefined. */
  get(resource: Resource, name: string, namespace?: string): KubeObject | undefined {
    const stored = this.store(resource).get(keyOf(namespace, name));
    return stored === undefined ? undefined : clone(stored);
  }

  /** Copies of every stored object of a kind. */
  list(resource: Resource, selectors: Selectors = {}): ReadonlyArray<KubeObject> {
    return [...this.store(resource).values()].filter((o) => matches(o, selectors)).map(clone);
  }

  /** Another client's create-or-replace of the whole object, status included (no preconditions, not recorded). */
  put(resource: Resource, object: KubeObject): KubeObject {
    const existing = this.store(resource).get(
      keyOf(object.metadata.namespace, object.metadata.name),
    );
    return existing === undefined
      ? this.commitCreate(resource, object, "test")
      : this.commitUpdate(resource, existing, clone(object) as unknown as Mutable, "*", "test");
  }

  /** Another client's merge patch (no preconditions). */
  update(
    resource: Resource,
    name: string,
    namespace: string | undefined,
    merge: unknown,
    subresource?: string,
  ): KubeObject {
    return this.mergeAs(resource, name, namespace, merge, subresource, "test");
  }

  /**
   * Another client's merge patch that takes no field, as a write that changes nothing but
   * removals does (a JSON Patch that removes a field, a PUT of an otherwise identical manifest):
   * the API server records no `managedFields` entry for its writer. (That the patch only
   * removes is the caller's word: the fake does not check it.)
   */
  updateUnrecorded(
    resource: Resource,
    name: string,
    namespace: string | undefined,
    merge: unknown,
  ): KubeObject {
    return this.mergeAs(resource, name, namespace, merge, undefined, undefined);
  }

  /** A merge patch of a stored object, recorded for `manager` (none: no `managedFields` entry). */
  private mergeAs(
    resource: Resource,
    name: string,
    namespace: string | undefined,
    merge: unknown,
    subresource: string | undefined,
    manager: string | undefined,
  ): KubeObject {
    const existing = this.store(resource).get(keyOf(namespace, name));
    if (existing === undefined)
      throw new Error(`${resource.kind} ${keyOf(namespace, name)} does not exist`);
    return this.commitUpdate(
      resource,
      existing,
      mergePatch(existing, merge) as Mutable,
      subresource,
      manager,
    );
  }

  /** Another client's delete. */
  remove(resource: Resource, name: string, namespace?: string): void {
    const existing = this.store(resource).get(keyOf(namespace, name));
    if (existing !== undefined) this.commitDelete(resource, existing);
  }

  /** Answers `getText(path)` with `body` from now on (a proxied endpoint, say); undefined stops. */
  serveText(path: string, body: string | undefined): void {
    if (body === undefined) this.texts.delete(path);
    else this.texts.set(path, body);
  }

  /** The next `times` requests matching `matcher` fail with this HTTP code. */
  failNext(matcher: RequestMatcher, code: number, times = 1): void {
    this.faults.push({ matcher, code, reason: reasons[code] ?? "Unknown", remaining: times });
  }

  /** Every open watch fails as a reset connection would. */
  dropWatches(): void {
    for (const watcher of this.watchers) {
      watcher.emit.fail(
        new KubeTransportError({
          method: "GET",
          path: watcher.resource,
          detail: "connection reset",
        }),
      );
    }
    this.watchers.clear();
  }

  /** Every open watch ends, as the server's watch timeout ends them. */
  endWatches(): void {
    for (const watcher of this.watchers) watcher.emit.end();
    this.watchers.clear();
  }

  /**
   * The history is compacted: a watch from any version before now gets 410 Expired; with
   * `failOpenWatches`, open watches also fail with an `ERROR` 410 event.
   */
  expireHistory(options: { readonly failOpenWatches?: boolean } = {}): void {
    this.oldestWatchable = this.revision + 1;
    this.history.length = 0;
    if (options.failOpenWatches) {
      for (const watcher of this.watchers) watcher.emit.fail(this.expired("GET", watcher.resource));
      this.watchers.clear();
    }
  }

  /** Sends a `BOOKMARK` at the current version to every open watch that asked for them. */
  bookmark(): void {
    for (const watcher of this.watchers) {
      if (!watcher.bookmarks) continue;
      watcher.emit.single({
        type: "BOOKMARK",
        object: { metadata: { name: "", resourceVersion: this.resourceVersion } },
      });
    }
  }

  /**
   * Watches of `resource` (a plural; every resource when absent) lag: their events are held
   * back until {@link releaseWatches}, as a slow watch cache would hold them.
   */
  holdWatches(resource?: string): void {
    this.holding.add(resource ?? "*");
  }

  /** Delivers every held event, in order, and stops holding. */
  releaseWatches(): void {
    this.holding.clear();
    for (const watcher of this.watchers) {
      if (watcher.held.length > 0) watcher.emit.array(watcher.held.splice(0));
    }
  }

  /** Open watches (for tests that wait for an informer to reconnect). */
  get openWatches(): number {
    return this.watchers.size;
  }

  // ------------------------------------------------------------------------------------------

  private store(resource: Resource): Map<string, KubeObject> {
    const key = resourceKey(resource);
    let store = this.stores.get(key);
    if (store === undefined) {
      store = new Map();
      this.stores.set(key, store);
    }
    return store;
  }

  private matchesRequest(matcher: RequestMatcher, request: Omit<RecordedRequest, "code">): boolean {
    return (
      (matcher.verb === undefined || matcher.verb === request.verb) &&
      (matcher.resource === undefined || matcher.resource === request.resource) &&
      (matcher.namespace === undefined || matcher.namespace === request.namespace) &&
      (matcher.name === undefined || matcher.name === request.name)
    );
  }

  private expired(method: string, path: string): KubeStatusError {
    return new KubeStatusError({
      method,
      path,
      code: 410,
      reason: "Expired",
      detail: "too old resource version",
    });
  }

  private commitCreate(
    resource: Resource,
    body: KubeObject,
    manager: string | undefined,
  ): KubeObject {
    const object = clone(body) as unknown as Mutable;
    const now = new Date().toISOString();
    object.apiVersion ??=
      resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;
    object.kind ??= resource.kind;
    this.revision += 1;
    object.metadata = {
      ...object.metadata,
      uid: randomUUID(),
      resourceVersion: String(this.revision),
      generation: 1,
      creationTimestamp: now,
      ...(manager === undefined
        ? {}
        : { managedFields: [{ manager, operation: "Update", time: now }] }),
    };
    const stored = object as unknown as KubeObject;
    this.store(resource).set(keyOf(stored.metadata.namespace, stored.metadata.name), stored);
    this.publish(resource, "ADDED", stored);
    return clone(stored);
  }

  private commitUpdate(
    resource: Resource,
    existing: KubeObject,
    next: Mutable,
    subresource: string | undefined,
    manager: string | undefined,
    operation: "Update" | "Apply" = "Update",
  ): KubeObject {
    const previous = existing as unknown as Mutable;
    // The status subresource changes only status; the main resource never does.
    const merged: Mutable =
      subresource === "status"
        ? { ...clone(previous), status: next.status }
        : subresource === "*"
          ? next
          : { ...next, status: clone(previous.status) };
    if (merged.status === undefined) delete merged.status;
    const generation = Number(previous.metadata.generation ?? 1);
    const specChanged = JSON.stringify(previous.spec) !== JSON.stringify(merged.spec);
    const now = new Date().toISOString();
    // One entry per manager and subresource, as the API server keeps them: a controller's
    // status writes are its own entry (`subresource: status`), apart from its writes of the rest.
    const status = subresource === "status" ? { subresource } : {};
    const managed = (
      (previous.metadata.managedFields as Array<Record<string, unknown>>) ?? []
    ).filter((entry) => entry.manager !== manager || entry.subresource !== status.subresource);
    if (manager !== undefined) managed.push({ manager, operation, time: now, ...status });
    this.revision += 1;
    merged.metadata = {
      ...merged.metadata,
      name: previous.metadata.name,
      ...(previous.metadata.namespace === undefined
        ? {}
        : { namespace: previous.metadata.namespace }),
      uid: previous.metadata.uid,
      creationTimestamp: previous.metadata.creationTimestamp,
      resourceVersion: String(this.revision),
      generation: specChanged ? generation + 1 : generation,
      ...(managed.length === 0 ? {} : { managedFields: managed }),
    };
    const stored = merged as unknown as KubeObject;
    this.store(resource).set(keyOf(stored.metadata.namespace, stored.metadata.name), stored);
    this.publish(resource, "MODIFIED", stored);
    return clone(stored);
  }

  private commitDelete(resource: Resource, existing: KubeObject): void {
    this.revision += 1;
    const gone = clone(existing) as unknown as Mutable;
    gone.metadata = { ...gone.metadata, resourceVersion: String(this.revision) };
    this.store(resource).delete(keyOf(existing.metadata.namespace, existing.metadata.name));
    this.publish(resource, "DELETED", gone as unknown as KubeObject);
  }

  private publish(resource: Resource, type: HistoryEntry["type"], object: KubeObject): void {
    const key = resourceKey(resource);
    this.history.push({ rv: this.revision, resource: key, type, object });
    const limit = this.options.historyLimit ?? 10_000;
    if (this.history.length > limit) {
      const dropped = this.history.splice(0, this.history.length - limit);
      this.oldestWatchable = (dropped.at(-1)?.rv ?? 0) + 1;
    }
    const plural = resource.plural;
    for (const watcher of this.watchers) {
      if (watcher.resource !== key || !matches(object, watcher.selectors)) continue;
      const event: WatchEvent = { type, object: clone(object) };
      if (this.holding.has("*") || this.holding.has(plural)) watcher.held.push(event);
      else watcher.emit.single(event);
    }
  }

  private makeClient(): KubeClientApi {
    return {
      server: "https://fake-api-server.invalid",
      get: (resource, name, options) => this.answerGet(resource, name, options),
      list: (resource, options: ListOptions = {}) => this.answerList(resource, options),
      create: (resource, body, write) => answered(write, this.answerCreate(resource, body, write)),
      replace: (resource, body, write) =>
        answered(write, this.answerReplace(resource, body, write)),
      patch: (resource, name, patch, write) =>
        answered(write, this.answerPatch(resource, name, patch, write)),
      delete: (resource, name, options?: DeleteOptions) =>
        this.answerDelete(resource, name, options),
      watch: (resource, options: WatchOptions) => this.answerWatch(resource, options),
      getText: (path) => this.answerGetText(path),
    };
  }

  // ------------------------------------------------------------------------------------------
  // The requests of the client, a method a verb.

  /** Records the request and applies an injected fault, or runs `answer`. */
  private handle<A>(
    request: Omit<RecordedRequest, "code">,
    path: string,
    answer: () => A,
  ): Effect.Effect<A, KubeError> {
    return Effect.suspend(() => {
      const fault = this.faults.find(
        (candidate) => candidate.remaining > 0 && this.matchesRequest(candidate.matcher, request),
      );
      const method = request.verb.toUpperCase();
      if (fault !== undefined) {
        fault.remaining -= 1;
        this.recorded.push({ ...request, code: fault.code });
        return Effect.fail(
          new KubeStatusError({
            method,
            path,
            code: fault.code,
            reason: fault.reason,
            detail: `injected fault: ${fault.code} ${fault.reason}`,
          }),
        );
      }
      try {
        const value = answer();
        this.recorded.push({ ...request, code: request.verb === "create" ? 201 : 200 });
        return Effect.succeed(value);
      } catch (error) {
        if (error instanceof KubeStatusError) {
          this.recorded.push({ ...request, code: error.code });
          return Effect.fail(error);
        }
        throw error;
      }
    });
  }

  /** The field manager a write is recorded with. */
  private manager(write: WriteOptions | undefined): string | undefined {
    return write?.fieldManager ?? this.options.fieldManager;
  }

  /** How an update or a patch of one object is recorded. */
  private writeRecord(
    verb: "update" | "patch",
    resource: Resource,
    namespace: string | undefined,
    name: string,
    write: WriteOptions | undefined,
  ): Omit<RecordedRequest, "code"> {
    return recordOf(
      verb,
      resource.plural,
      namespace,
      name,
      write?.subresource,
      this.manager(write),
    );
  }

  private existingOr404(
    resource: Resource,
    name: string,
    namespace: string | undefined,
    method: string,
    path: string,
  ): KubeObject {
    const existing = this.store(resource).get(keyOf(namespace, name));
    if (existing === undefined)
      throw refused(method, path, 404, `${resource.plural} "${name}" not found`);
    return existing;
  }

  private answerGet(
    resource: Resource,
    name: string,
    options: Parameters<KubeClientApi["get"]>[2],
  ): Effect.Effect<KubeObject, KubeError> {
    const namespace = namespaceOf(resource, options?.namespace);
    const path = objectPath(resource, name, namespace, options?.subresource);
    return this.handle(
      recordOf("get", resource.plural, namespace, name, options?.subresource),
      path,
      () => clone(this.existingOr404(resource, name, namespace, "GET", path)),
    );
  }

  /** One page, in name order; the continue token is the offset of the next page. */
  private answerList(resource: Resource, options: ListOptions): Effect.Effect<ListPage, KubeError> {
    const path = collectionPath(resource, options.namespace);
    return this.handle(
      recordOf("list", resource.plural, options.namespace, undefined),
      path,
      () => {
        const all = [...this.store(resource).values()]
          .filter((object) => matches(object, options))
          .sort((a, b) =>
            keyOf(a.metadata.namespace, a.metadata.name).localeCompare(
              keyOf(b.metadata.namespace, b.metadata.name),
            ),
          );
        const offset = options.continue === undefined ? 0 : Number(options.continue);
        const limit = options.limit ?? all.length;
        const page = all.slice(offset, offset + limit);
        const next = offset + limit < all.length ? String(offset + limit) : undefined;
        return {
          items: page.map(clone),
          resourceVersion: this.resourceVersion,
          continue: next,
        };
      },
    );
  }

  private answerCreate(
    resource: Resource,
    body: KubeObject,
    write: WriteOptions | undefined,
  ): Effect.Effect<KubeObject, KubeError> {
    const namespace = namespaceOf(resource, write?.namespace ?? body.metadata.namespace);
    const path = collectionPath(resource, namespace);
    const request = recordOf(
      "create",
      resource.plural,
      namespace,
      body.metadata.name,
      undefined,
      this.manager(write),
    );
    return this.handle(request, path, () => {
      if (this.store(resource).has(keyOf(namespace, body.metadata.name)))
        throw new KubeStatusError({
          method: "POST",
          path,
          code: 409,
          reason: "AlreadyExists",
          detail: `${resource.plural} "${body.metadata.name}" already exists`,
        });
      const object = {
        ...body,
        metadata: { ...body.metadata, ...(namespace === undefined ? {} : { namespace }) },
      };
      return write?.dryRun
        ? clone(object)
        : this.commitCreate(resource, object, this.manager(write));
    });
  }

  /** PUT: 409 on a stale resourceVersion or another UID in the body. */
  private answerReplace(
    resource: Resource,
    body: KubeObject,
    write: WriteOptions | undefined,
  ): Effect.Effect<KubeObject, KubeError> {
    const namespace = namespaceOf(resource, write?.namespace ?? body.metadata.namespace);
    const name = body.metadata.name;
    const path = objectPath(resource, name, namespace, write?.subresource);
    const request = this.writeRecord("update", resource, namespace, name, write);
    return this.handle(request, path, () => {
      const existing = this.existingOr404(resource, name, namespace, "PUT", path);
      const claimed = body.metadata.resourceVersion;
      if (claimed !== undefined && claimed !== existing.metadata.resourceVersion)
        throw refused(
          "PUT",
          path,
          409,
          `the object has been modified; please apply your changes to the latest version (resourceVersion ${claimed} is stale, the object is at ${existing.metadata.resourceVersion})`,
        );
      if (body.metadata.uid !== undefined && body.metadata.uid !== existing.metadata.uid)
        throw refused(
          "PUT",
          path,
          409,
          `Precondition failed: UID in precondition: ${body.metadata.uid}, UID in object meta: ${existing.metadata.uid}`,
        );
      const next = clone(body) as unknown as Mutable;
      return write?.dryRun
        ? clone(next as unknown as KubeObject)
        : this.commitUpdate(resource, existing, next, write?.subresource, this.manager(write));
    });
  }

  /** An apply creates what is missing; a patch that pins metadata.resourceVersion is a precondition. */
  private answerPatch(
    resource: Resource,
    name: string,
    patch: Patch,
    write: WriteOptions | undefined,
  ): Effect.Effect<KubeObject, KubeError> {
    const namespace = namespaceOf(resource, write?.namespace);
    const path = objectPath(resource, name, namespace, write?.subresource);
    const request = this.writeRecord("patch", resource, namespace, name, write);
    return this.handle(request, path, () => {
      const existing = this.store(resource).get(keyOf(namespace, name));
      if (existing === undefined) {
        if (patch.type !== "apply")
          throw refused("PATCH", path, 404, `${resource.plural} "${name}" not found`);
        const applied = patch.body as KubeObject;
        const body = {
          ...applied,
          metadata: {
            ...applied.metadata,
            name,
            ...(namespace === undefined ? {} : { namespace }),
          },
        };
        return this.commitCreate(resource, body, this.manager(write));
      }
      const next = applyPatch(existing, patch, "PATCH", path);
      // A patch that sets metadata.resourceVersion is a precondition, as on the real server.
      const claimed = (next.metadata as { resourceVersion?: unknown }).resourceVersion;
      if (claimed !== existing.metadata.resourceVersion)
        throw refused(
          "PATCH",
          path,
          409,
          `Operation cannot be fulfilled on ${resource.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      if (write?.dryRun) return clone(next as unknown as KubeObject);
      return this.commitUpdate(
        resource,
        existing,
        next,
        write?.subresource,
        this.manager(write),
        patch.type === "apply" ? "Apply" : "Update",
      );
    });
  }

  /** 409 when a UID or resourceVersion precondition fails. */
  private answerDelete(
    resource: Resource,
    name: string,
    options: DeleteOptions | undefined,
  ): Effect.Effect<void, KubeError> {
    const namespace = namespaceOf(resource, options?.namespace);
    const path = objectPath(resource, name, namespace);
    return this.handle(recordOf("delete", resource.plural, namespace, name), path, () => {
      const existing = this.existingOr404(resource, name, namespace, "DELETE", path);
      const { uid, resourceVersion } = options?.preconditions ?? {};
      if (uid !== undefined && uid !== existing.metadata.uid)
        throw refused(
          "DELETE",
          path,
          409,
          `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${existing.metadata.uid}`,
        );
      if (resourceVersion !== undefined && resourceVersion !== existing.metadata.resourceVersion)
        throw refused(
          "DELETE",
          path,
          409,
          `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
        );
      this.commitDelete(resource, existing);
    });
  }

  /** 410 for a version older than the kept history; otherwise the replay, then what happens. */
  private answerWatch(
    resource: Resource,
    options: WatchOptions,
  ): Stream.Stream<WatchEvent, KubeError> {
    const path = collectionPath(resource, options.namespace);
    const request = recordOf("watch", resource.plural, options.namespace, undefined);
    return Stream.unwrap(
      this.handle(request, path, () => {
        const from = options.resourceVersion;
        if (from !== "" && from !== "0" && Number(from) + 1 < this.oldestWatchable)
          throw this.expired("GET", path);
        return Stream.asyncPush<WatchEvent, KubeError>(
          (emit) =>
            Effect.acquireRelease(
              Effect.sync(() => this.openWatch(resource, options, emit)),
              (watcher) => Effect.sync(() => this.watchers.delete(watcher)),
            ),
          { bufferSize: "unbounded" },
        );
      }),
    );
  }

  /**
   * Replays what the watch asks for (every object as ADDED from "" or "0", the history after
   * any other version) and registers it for what comes next.
   */
  private openWatch(
    resource: Resource,
    options: WatchOptions,
    emit: StreamEmit.EmitOpsPush<KubeError, WatchEvent>,
  ): Watcher {
    const from = options.resourceVersion;
    const key = resourceKey(resource);
    if (from === "" || from === "0") {
      for (const object of this.store(resource).values())
        if (matches(object, options)) emit.single({ type: "ADDED", object: clone(object) });
    } else {
      for (const entry of this.history)
        if (entry.rv > Number(from) && entry.resource === key && matches(entry.object, options))
          emit.single({ type: entry.type, object: clone(entry.object) });
    }
    const watcher: Watcher = {
      resource: key,
      held: [],
      selectors: options,
      bookmarks: options.allowBookmarks !== false,
      emit,
    };
    this.watchers.add(watcher);
    return watcher;
  }

  /** `/version` is served; any other non-resource path is 404. */
  private answerGetText(path: string): Effect.Effect<string, KubeError> {
    return this.handle(recordOf("get", path, undefined, undefined), path, () => {
      if (path === "/version")
        return JSON.stringify({ major: "1", minor: "36", gitVersion: "v1.36.0-fake" });
      const served = this.texts.get(path);
      if (served !== undefined) return served;
      throw refused("GET", path, 404, `${path} is not served by the fake API server`);
    });
  }
}
