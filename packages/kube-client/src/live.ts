/**
 * The live `KubeClient`: Node's HTTP client with keep-alive, a deadline on every request, and
 * watches that fail when the connection goes quiet (bookmarks keep a healthy one busy). The
 * agent's sockets are closed when the layer's scope closes.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as Chunk from "effect/Chunk";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Stream from "effect/Stream";
import {
  KubeClient,
  type KubeClientApi,
  type KubeObject,
  type ListOptions,
  type Patch,
  type Selectors,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from "./client.js";
import type { ClusterCredentials } from "./credentials.js";
import { type KubeError, KubeTransportError, statusError } from "./errors.js";
import { collectionPath, objectPath, type Resource } from "./resource.js";

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

interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * Socket reads of a watch (each up to 64 KB of events) parsed but not yet taken by its consumer;
 * past that, the response is paused until the consumer takes one.
 */
const watchBufferChunks = 16;

const contentTypes: Record<Patch["type"], string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  "strategic-merge": "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** JSON, or only the object's metadata where the server can (see `WriteOptions.answer`). */
const acceptJson = "application/json";
const acceptMetadata =
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";

const parse = (text: string): unknown => {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): keep the text for the message.
    return text;
  }
};

const withQuery = (path: string, query: Record<string, string | undefined>): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
};

const selectorQuery = (options: Selectors) => ({
  labelSelector: options.labelSelector,
  fieldSelector: options.fieldSelector,
});

/** Builds the client; `close` destroys the agent's sockets. */
export const makeKubeClient = (
  credentials: ClusterCredentials,
  options: KubeClientOptions,
): KubeClientApi & { readonly close: () => void } => {
  const server = new URL(credentials.server);
  const secure = server.protocol === "https:";
  const maxSockets = options.maxSockets ?? 64;
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets,
        ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
        ...(credentials.cert === undefined ? {} : { cert: credentials.cert }),
        ...(credentials.key === undefined ? {} : { key: credentials.key }),
        ...(credentials.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
        ...(credentials.tlsServerName === undefined
          ? {}
          : { servername: credentials.tlsServerName }),
      })
    : new http.Agent({ keepAlive: true, maxSockets });
  const transport = secure ? https : http;
  // Parsed once: a URL per request showed in profiles. A server URL may carry a path prefix.
  const origin = {
    protocol: server.protocol,
    hostname: server.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: server.port === "" ? undefined : Number(server.port),
  };
  const basePath = server.pathname.replace(/\/+$/, "");
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  const authHeaders = (method: string, path: string) =>
    Effect.tryPromise({
      try: () => credentials.authHeaders(),
      catch: (error) =>
        new KubeTransportError({
          method,
          path,
          detail: `credentials: ${error instanceof Error ? error.message : String(error)}`,
        }),
    });
  /**
   * A request, to be given its "error" listener in the same synchronous step: one destroyed
   * without a listener (its fiber interrupted in between, at shutdown) emits "socket hang up"
   * as an uncaught exception and ends the process.
   */
  const request = (method: string, path: string, headers: Record<string, string>) =>
    transport.request({
      ...origin,
      path: `${basePath}${path}`,
      method,
      agent,
      headers: { "user-agent": options.userAgent, ...headers },
    });

  /** One request and its whole answer; fails on no answer, or on a non-2xx one. */
  const send = (
    method: string,
    path: string,
    sendOptions: {
      readonly body?: { readonly text: string; readonly contentType: string } | undefined;
      readonly timeoutMs?: number | undefined;
      readonly accept?: string | undefined;
    } = {},
  ): Effect.Effect<Answer, KubeError> => {
    const { body, timeoutMs = requestTimeoutMs, accept = acceptJson } = sendOptions;
    const headers: Record<string, string> = { accept };
    if (body !== undefined) {
      headers["content-type"] = body.contentType;
      headers["content-length"] = String(Buffer.byteLength(body.text));
    }
    return Effect.flatMap(authHeaders(method, path), (auth) =>
      Effect.async<Answer, KubeError>((resume) => {
        const req = request(method, path, { ...auth, ...headers });
        const failed = (detail: string) =>
          resume(Effect.fail(new KubeTransportError({ method, path, detail })));
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
        req.on("error", (error) => failed(error.message));
        req.on("response", (res) => {
          const chunks: Array<Buffer> = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (error) => failed(error.message));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            if (status >= 200 && status < 300) resume(Effect.succeed({ status, text }));
            else resume(Effect.fail(statusError(method, path, status, parse(text))));
          });
        });
        req.end(body?.text);
        // Interrupted (e.g. shutdown): abandon the request.
        return Effect.sync(() => req.destroy());
      }),
    );
  };

  const json = (answer: Answer) => parse(answer.text) as KubeObject;
  const jsonBody = (value: unknown) => ({
    text: JSON.stringify(value),
    contentType: "application/json",
  });
  const writeAccept = (write: WriteOptions | undefined) =>
    write?.answer === "metadata" ? acceptMetadata : acceptJson;
  const writeQuery = (write: WriteOptions | undefined) => ({
    fieldManager: write?.fieldManager ?? options.fieldManager,
    dryRun: write?.dryRun === true ? "All" : undefined,
  });

  const watch = (
    resource: Resource,
    watchOptions: WatchOptions,
  ): Stream.Stream<WatchEvent, KubeError> => {
    const path = withQuery(collectionPath(resource, watchOptions.namespace), {
      watch: "1",
      allowWatchBookmarks: watchOptions.allowBookmarks === false ? undefined : "true",
      resourceVersion: watchOptions.resourceVersion,
      timeoutSeconds:
        watchOptions.timeoutSeconds === undefined ? undefined : String(watchOptions.timeoutSeconds),
      ...selectorQuery(watchOptions),
    });
    const idleTimeoutMs =
      watchOptions.idleTimeoutMs ?? ((watchOptions.timeoutSeconds ?? 1800) + 30) * 1000;
    // A bounded buffer with backpressure: the response is paused while its events wait for room,
    // so an event storm (a mass rollout's pods) waits in the kernel's and the API server's
    // buffers, not parsed in this heap; a watcher too slow for the API server is dropped by it
    // and resumes from its last version.
    return Stream.asyncScoped<WatchEvent, KubeError>(
      (emit) =>
        Effect.acquireRelease(
          Effect.flatMap(authHeaders("GET", path), (auth) =>
            Effect.sync(() => {
              const req = request("GET", path, { ...auth, accept: acceptJson });
              const failed = (detail: string) => {
                if (!closedByUs.has(req))
                  void emit.fail(new KubeTransportError({ method: "GET", path, detail }));
              };
              req.setTimeout(idleTimeoutMs, () =>
                req.destroy(new Error(`watch idle for ${idleTimeoutMs} ms`)),
              );
              req.on("error", (error) => failed(error.message));
              req.on("response", (res) => {
                const status = res.statusCode ?? 0;
                res.setEncoding("utf8");
                if (status !== 200) {
                  let text = "";
                  res.on("data", (chunk: string) => {
                    text += chunk;
                  });
                  res.on("end", () => {
                    void emit.fail(statusError("GET", path, status, parse(text)));
                  });
                  return;
                }
                let pending = "";
                res.on("data", (chunk: string) => {
                  pending += chunk;
                  const lines = pending.split("\n");
                  pending = lines.pop() ?? "";
                  const events: Array<WatchEvent> = [];
                  for (const line of lines) {
                    if (line.trim() === "") continue;
                    let event: { type: string; object: KubeObject };
                    try {
                      event = JSON.parse(line) as { type: string; object: KubeObject };
                    } catch {
                      req.destroy(
                        new Error(`watch sent a line that is not JSON: ${line.slice(0, 200)}`),
                      );
                      return;
                    }
                    if (event.type === "ERROR") {
                      if (events.length > 0) void emit.chunk(Chunk.unsafeFromArray(events));
                      const code = Number((event.object as { code?: unknown }).code ?? 500);
                      void emit.fail(statusError("GET", path, code, event.object));
                      return;
                    }
                    events.push(event as WatchEvent);
                  }
                  if (events.length === 0) return;
                  res.pause();
                  emit.chunk(Chunk.unsafeFromArray(events)).then(
                    () => res.resume(),
                    () => undefined, // the stream was closed: the release destroys the request
                  );
                });
                res.on("error", (error) => failed(error.message));
                res.on("close", () => {
                  if (!res.complete) failed("watch connection closed mid-stream");
                  else void emit.end();
                });
              });
              req.end();
              return req;
            }),
          ),
          (req) =>
            Effect.sync(() => {
              closedByUs.add(req);
              req.destroy();
            }),
        ),
      { bufferSize: watchBufferChunks, strategy: "suspend" },
    );
  };
  const closedByUs = new WeakSet<http.ClientRequest>();

  return {
    server: credentials.server,
    close: () => agent.destroy(),
    get: (resource, name, getOptions) =>
      Effect.map(
        send("GET", objectPath(resource, name, getOptions?.namespace, getOptions?.subresource)),
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
        send("GET", path, { timeoutMs: listOptions.timeoutMs ?? 60_000 }),
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
    create: (resource, body, write) =>
      Effect.map(
        send(
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
    delete: (resource, name, deleteOptions) =>
      Effect.asVoid(
        send("DELETE", objectPath(resource, name, deleteOptions?.namespace), {
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
      ),
    watch,
    getText: (path) => Effect.map(send("GET", path), (answer) => answer.text),
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
