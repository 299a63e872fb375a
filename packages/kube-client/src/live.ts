/**
 * The live `KubeClient`: Node's HTTP client with keep-alive, a deadline on every request, and
 * watches that fail when the connection goes quiet (bookmarks keep a healthy one busy). The
 * agent's sockets are closed when the layer's scope closes. The HTTP plumbing is in
 * `live-http.ts`, the watches in `live-watch.ts`; here, the request of each verb.
 */
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import {
  KubeClient,
  type KubeClientApi,
  type KubeObject,
  type ListOptions,
  type Patch,
  type WriteOptions,
} from "./client.js";
import type { ClusterCredentials } from "./credentials.js";
import {
  type Answer,
  acceptJson,
  acceptMetadata,
  type Connection,
  connect,
  parse,
  selectorQuery,
  send,
  withQuery,
} from "./live-http.js";
import { watch } from "./live-watch.js";
import { collectionPath, objectPath } from "./resource.js";

export interface KubeClientOptions {
  /** Sent with every request, so the audit log tells this program's requests apart. */
  readonly userAgent: string;
  /** Field manager of every write that does not name its own. */
  readonly fieldManager?: string | undefined;
  /** Deadline of a request without an answer. Default 30 s (lists: 60 s). */
  readonly requestTimeoutMs?: number | undefined;
  /** Sockets kept open to the API server. Default 64. */
  readonly maxSockets?: number | undefined;
}

const contentTypes: Record<Patch["type"], string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  "strategic-merge": "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

const json = (answer: Answer) => parse(answer.text) as KubeObject;

/** `get`, `list` and `getText`: the requests that read. */
const readRequests = (connection: Connection): Pick<KubeClientApi, "get" | "list" | "getText"> => ({
  get: (resource, name, getOptions) =>
    Effect.map(
      send(
        connection,
        "GET",
        objectPath(resource, name, getOptions?.namespace, getOptions?.subresource),
      ),
      json,
    ),
  list: (resource, listOptions: ListOptions = {}) => {
    const path = withQuery(collectionPath(resource, listOptions.namespace), {
      limit: listOptions.limit === undefined ? undefined : String(listOptions.limit),
      continue: listOptions.continue,
      resourceVersion: listOptions.resourceVersion,
      ...selectorQuery(listOptions),
    });
    return Effect.map(
      send(connection, "GET", path, { timeoutMs: listOptions.timeoutMs ?? 60_000 }),
      (answer) => {
        const page = parse(answer.text) as {
          items?: ReadonlyArray<KubeObject> | null;
          metadata?: { resourceVersion?: string; continue?: string };
        };
        const next = page.metadata?.continue;
        return {
          items: page.items ?? [],
          resourceVersion: page.metadata?.resourceVersion ?? "",
          continue: next === undefined || next === "" ? undefined : next,
        };
      },
    );
  },
  getText: (path) => Effect.map(send(connection, "GET", path), (answer) => answer.text),
});

const jsonBody = (value: unknown) => ({
  text: JSON.stringify(value),
  contentType: "application/json",
});
const writeAccept = (write: WriteOptions | undefined) =>
  write?.answer === "metadata" ? acceptMetadata : acceptJson;

/** `create`, `replace` and `patch`: the writes of an object, with the client's default field manager. */
const writeRequests = (
  connection: Connection,
  fieldManager: string | undefined,
): Pick<KubeClientApi, "create" | "replace" | "patch"> => {
  const writeQuery = (write: WriteOptions | undefined) => ({
    fieldManager: write?.fieldManager ?? fieldManager,
    dryRun: write?.dryRun === true ? "All" : undefined,
  });
  return {
    create: (resource, body, write) =>
      Effect.map(
        send(
          connection,
          "POST",
          withQuery(
            collectionPath(resource, write?.namespace ?? body.metadata.namespace),
            writeQuery(write),
          ),
          { body: jsonBody(body), accept: writeAccept(write) },
        ),
        json,
      ),
    replace: (resource, body, write) =>
      Effect.map(
        send(
          connection,
          "PUT",
          withQuery(
            objectPath(
              resource,
              body.metadata.name,
              write?.namespace ?? body.metadata.namespace,
              write?.subresource,
            ),
            writeQuery(write),
          ),
          { body: jsonBody(body), accept: writeAccept(write) },
        ),
        json,
      ),
    patch: (resource, name, patch, write) =>
      Effect.map(
        send(
          connection,
          "PATCH",
          withQuery(objectPath(resource, name, write?.namespace, write?.subresource), {
            ...writeQuery(write),
            force: patch.type === "apply" && patch.force === true ? "true" : undefined,
          }),
          {
            body: {
              text: JSON.stringify(patch.type === "json" ? patch.operations : patch.body),
              contentType: contentTypes[patch.type],
            },
            accept: writeAccept(write),
          },
        ),
        json,
      ),
  };
};

/** `delete`, with its preconditions and propagation policy as a `DeleteOptions` body. */
const deleteRequest =
  (connection: Connection): KubeClientApi["delete"] =>
  (resource, name, deleteOptions) =>
    Effect.asVoid(
      send(connection, "DELETE", objectPath(resource, name, deleteOptions?.namespace), {
        body: jsonBody({
          kind: "DeleteOptions",
          apiVersion: "v1",
          ...(deleteOptions?.preconditions === undefined
            ? {}
            : { preconditions: deleteOptions.preconditions }),
          ...(deleteOptions?.propagationPolicy === undefined
            ? {}
            : { propagationPolicy: deleteOptions.propagationPolicy }),
        }),
      }),
    );

/** Builds the client; `close` destroys the agent's sockets; throws on unusable TLS credentials. */
export const makeKubeClient = (
  credentials: ClusterCredentials,
  options: KubeClientOptions,
): KubeClientApi & { readonly close: () => void } => {
  const connection = connect(credentials, options);
  const reads = readRequests(connection);
  const writes = writeRequests(connection, options.fieldManager);
  return {
    server: credentials.server,
    close: connection.close,
    get: reads.get,
    list: reads.list,
    create: writes.create,
    replace: writes.replace,
    patch: writes.patch,
    delete: deleteRequest(connection),
    watch: (resource, watchOptions) => watch(connection, resource, watchOptions),
    getText: reads.getText,
  };
};

/** The live `KubeClient` for these credentials; its sockets close with the layer's scope. */
export const layer = (
  credentials: ClusterCredentials,
  options: KubeClientOptions,
): Layer.Layer<KubeClient> =>
  Layer.scoped(
    KubeClient,
    Effect.acquireRelease(
      Effect.sync(() => makeKubeClient(credentials, options)),
      (client) => Effect.sync(() => client.close()),
    ),
  );
