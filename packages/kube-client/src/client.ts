/**
 * `KubeClient`: one service for everything that talks to the API server. Objects cross it as
 * plain JSON ({@link KubeObject}); decode them at the edge with `effect/Schema`.
 */
import * as Context from "effect/Context";
import type * as Effect from "effect/Effect";
import type * as Stream from "effect/Stream";
import type { KubeError } from "./errors.js";
import type { Resource } from "./resource.js";

/** `metadata` as every object has it; everything else is the caller's to decode. */
export interface KubeObjectMeta {
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly uid?: string | undefined;
  readonly resourceVersion?: string | undefined;
  readonly generation?: number | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly [field: string]: unknown;
}

/** An object as the API server serves it. */
export interface KubeObject {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly metadata: KubeObjectMeta;
  readonly [field: string]: unknown;
}

/** One page of a list. */
export interface ListPage {
  readonly items: ReadonlyArray<KubeObject>;
  /** The list's resourceVersion: start a watch here to miss nothing. */
  readonly resourceVersion: string;
  /** Token of the next page, absent on the last one. */
  readonly continue: string | undefined;
}

export interface Selectors {
  /** Only in this namespace; all namespaces when absent. */
  readonly namespace?: string | undefined;
  /** e.g. `app=cart,tier!=db` */
  readonly labelSelector?: string | undefined;
  /** e.g. `metadata.name=cart` */
  readonly fieldSelector?: string | undefined;
}

export interface ListOptions extends Selectors {
  readonly limit?: number | undefined;
  readonly continue?: string | undefined;
  /** `""` (default) reads from etcd, `"0"` from the watch cache. */
  readonly resourceVersion?: string | undefined;
  /** Abort without an answer after this long. Default 60 s. */
  readonly timeoutMs?: number | undefined;
}

export interface WatchOptions extends Selectors {
  /** Deliver changes after this version (a list's `resourceVersion`, or the last event's). */
  readonly resourceVersion: string;
  /** Ask for `BOOKMARK` events. Default true. */
  readonly allowBookmarks?: boolean | undefined;
  /** The server ends the watch after this long. */
  readonly timeoutSeconds?: number | undefined;
  /** Fail the stream when no byte arrives for this long (a dead connection the kernel has not noticed). */
  readonly idleTimeoutMs?: number | undefined;
}

/**
 * One watch event. An `ERROR` event never reaches the stream: it fails it with a
 * `KubeStatusError` (410 `Expired` when the version is too old).
 */
export type WatchEvent =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: KubeObject }
  /** Only `metadata.resourceVersion` is meaningful: the watch is caught up to it. */
  | { readonly type: "BOOKMARK"; readonly object: KubeObject };

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  readonly op: "add" | "remove" | "replace" | "test" | "move" | "copy";
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

export type Patch =
  | { readonly type: "json"; readonly operations: ReadonlyArray<JsonPatchOperation> }
  | { readonly type: "merge"; readonly body: unknown }
  | { readonly type: "strategic-merge"; readonly body: unknown }
  /** Server-side apply; requires a field manager. */
  | { readonly type: "apply"; readonly body: unknown; readonly force?: boolean | undefined };

export interface WriteOptions {
  readonly namespace?: string | undefined;
  /** e.g. `status`. */
  readonly subresource?: string | undefined;
  /** Overrides the client's default field manager. */
  readonly fieldManager?: string | undefined;
  /** Validate and answer, persist nothing. */
  readonly dryRun?: boolean | undefined;
  /**
   * What the API server answers with: the written object (default), or only its metadata (a
   * `meta.k8s.io/v1` `PartialObjectMetadata`), which is all a caller that wants the new
   * `resourceVersion` needs: less for the server to encode and for this process to parse. A
   * server that cannot answer so sends the whole object, which has the same metadata.
   */
  readonly answer?: "object" | "metadata" | undefined;
}

export interface DeleteOptions {
  readonly namespace?: string | undefined;
  /** The delete fails with 409 unless the object still has these. */
  readonly preconditions?:
    | { readonly uid?: string | undefined; readonly resourceVersion?: string | undefined }
    | undefined;
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan" | undefined;
}

/** The operations of {@link KubeClient}. */
export interface KubeClientApi {
  /** `https://host:port` of the API server. */
  readonly server: string;
  readonly get: (
    resource: Resource,
    name: string,
    options?: {
      readonly namespace?: string | undefined;
      readonly subresource?: string | undefined;
    },
  ) => Effect.Effect<KubeObject, KubeError>;
  /** One page; see `listAll` for every page. */
  readonly list: (resource: Resource, options?: ListOptions) => Effect.Effect<ListPage, KubeError>;
  readonly create: (
    resource: Resource,
    body: KubeObject,
    options?: WriteOptions,
  ) => Effect.Effect<KubeObject, KubeError>;
  /** PUT: a full replace; 409 when `body.metadata.resourceVersion` is stale. */
  readonly replace: (
    resource: Resource,
    body: KubeObject,
    options?: WriteOptions,
  ) => Effect.Effect<KubeObject, KubeError>;
  readonly patch: (
    resource: Resource,
    name: string,
    patch: Patch,
    options?: WriteOptions,
  ) => Effect.Effect<KubeObject, KubeError>;
  readonly delete: (
    resource: Resource,
    name: string,
    options?: DeleteOptions,
  ) => Effect.Effect<void, KubeError>;
  /** Changes after `options.resourceVersion`; ends when the server ends the watch. */
  readonly watch: (
    resource: Resource,
    options: WatchOptions,
  ) => Stream.Stream<WatchEvent, KubeError>;
  /** A GET of a non-resource path (`/version`, `/metrics`), as text. */
  readonly getText: (path: string) => Effect.Effect<string, KubeError>;
}

/** Everything that talks to the API server goes through this service. */
export class KubeClient extends Context.Tag("@odigos/kube-client/KubeClient")<
  KubeClient,
  KubeClientApi
>() {}
