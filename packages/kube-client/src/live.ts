/**
 * The live `KubeClient`: Node's HTTP client with keep-alive, a deadline on every request, and
 * watches that fail when the connection goes quiet (bookmarks keep a healthy one busy). The
 * agent's sockets are closed when the layer's scope closes.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";
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
import type { AuthHeaders, ClusterCredentials } from "./credentials.js";
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
 * Characters of watch events parsed but not yet taken by the consumer (16 socket reads of 64 KB
 * of ASCII JSON); past that, the response is paused until the consumer takes them.
 */
const watchBufferChars = 1 << 20;

/** The events of one socket read, and the length of the text they came in. */
interface WatchBatch {
  readonly events: ReadonlyArray<WatchEvent>;
  readonly chars: number;
}

/** What the complete lines of a watch's text hold. */
interface WatchLines {
  /** The events, up to an ERROR or a line that is not JSON. */
  readonly events: Array<WatchEvent>;
  /** Characters of the complete lines; the rest is the start of a line still to come. */
  readonly chars: number;
  /** The Status of an ERROR event, which ends the watch. */
  readonly error?: unknown;
  /** The start of a line that is not JSON, which ends the watch. */
  readonly notJson?: string | undefined;
}

/** Parses the complete lines of `text` (newline-delimited watch events). */
const parseWatchLines = (text: string): WatchLines => {
  const chars = text.lastIndexOf("\n") + 1;
  const events: Array<WatchEvent> = [];
  for (let from = 0; from < chars; ) {
    const to = text.indexOf("\n", from);
    const line = text.slice(from, to);
    from = to + 1;
    if (line.trim() === "") continue;
    let event: { type: string; object: KubeObject };
    try {
      event = JSON.parse(line) as { type: string; object: KubeObject };
    } catch {
      return { events, chars, notJson: line.slice(0, 200) };
    }
    if (event.type === "ERROR") return { events, chars, error: event.object };
    events.push(event as WatchEvent);
  }
  return { events, chars };
};

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

/** The TLS context of the credentials' CA, certificate and key; a bad one throws, naming the server. */
const secureContext = (credentials: ClusterCredentials): tls.SecureContext => {
  try {
    return tls.createSecureContext({
      ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
      ...(credentials.cert === undefined ? {} : { cert: credentials.cert }),
      ...(credentials.key === undefined ? {} : { key: credentials.key }),
    });
  } catch (error) {
    throw new Error(
      `TLS credentials for ${credentials.server} (${credentials.source}) are not usable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
};

/** Builds the client; `close` destroys the agent's sockets; throws on unusable TLS credentials. */
export const makeKubeClient = (
  credentials: ClusterCredentials,
  options: KubeClientOptions,
): KubeClientApi & { readonly close: () => void } => {
  const server = new URL(credentials.server);
  const secure = server.protocol === "https:";
  const maxSockets = options.maxSockets ?? 64;
  // One TLS context for every connection, rather than the CA, certificate and key as agent
  // options: https.Agent names its socket pool by them, so every request turned those buffers
  // into strings (kilobytes each, two or three times a request), and every connection parsed them.
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets,
        secureContext: secureContext(credentials),
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

  const credentialsFailed = (method: string, path: string, error: unknown) =>
    new KubeTransportError({
      method,
      path,
      detail: `credentials: ${error instanceof Error ? error.message : String(error)}`,
    });
  /** The credentials' headers: without a promise when the source has them at hand. */
  const authHeaders = (method: string, path: string): Effect.Effect<AuthHeaders, KubeError> =>
    Effect.suspend(() => {
      let headers: AuthHeaders | Promise<AuthHeaders>;
      try {
        headers = credentials.authHeaders();
      } catch (error) {
        return Effect.fail(credentialsFailed(method, path, error));
      }
      return headers instanceof Promise
        ? Effect.tryPromise({
            try: () => headers,
            catch: (error) => credentialsFailed(method, path, error),
          })
        : Effect.succeed(headers);
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
    // A bounded buffer with backpressure: the response is paused while the events it delivered
    // wait for the consumer, so an event storm (a mass rollout's pods) waits in the kernel's and
    // the API server's buffers, not parsed in this heap; a watcher too slow for the API server is
    // dropped by it and resumes from its last version. Events are offered without an effect (no
    // fiber or promise per socket read) and counted back out as the consumer takes them.
    return Stream.suspend(() => {
      let buffered = 0;
      let paused: http.IncomingMessage | undefined;
      const taken = (batches: Chunk.Chunk<WatchBatch>): Chunk.Chunk<WatchEvent> => {
        const events: Array<WatchEvent> = [];
        for (const batch of batches) {
          buffered -= batch.chars;
          for (const event of batch.events) events.push(event);
        }
        if (paused !== undefined && buffered < watchBufferChars) {
          paused.resume();
          paused = undefined;
        }
        return Chunk.unsafeFromArray(events);
      };
      const batches = Stream.asyncPush<WatchBatch, KubeError>(
        (emit) =>
          Effect.acquireRelease(
            Effect.flatMap(authHeaders("GET", path), (auth) =>
              Effect.sync(() => {
                const req = request("GET", path, { ...auth, accept: acceptJson });
                const failed = (detail: string) => {
                  if (!closedByUs.has(req))
                    emit.fail(new KubeTransportError({ method: "GET", path, detail }));
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
                      emit.fail(statusError("GET", path, status, parse(text)));
                    });
                    return;
                  }
                  let pending = "";
                  res.on("data", (chunk: string) => {
                    const text = pending + chunk;
                    const lines = parseWatchLines(text);
                    if (lines.chars === 0) {
                      pending = text;
                      return;
                    }
                    pending = text.slice(lines.chars);
                    if (lines.notJson !== undefined) {
                      req.destroy(
                        new Error(`watch sent a line that is not JSON: ${lines.notJson}`),
                      );
                      return;
                    }
                    if (lines.events.length > 0) {
                      buffered += lines.chars;
                      emit.single({ events: lines.events, chars: lines.chars });
                    }
                    if (lines.error !== undefined) {
                      const code = Number((lines.error as { code?: unknown }).code ?? 500);
                      emit.fail(statusError("GET", path, code, lines.error));
                      return;
                    }
                    if (buffered >= watchBufferChars && paused === undefined) {
                      paused = res;
                      res.pause();
                    }
                  });
                  res.on("error", (error) => failed(error.message));
                  res.on("close", () => {
                    if (!res.complete) failed("watch connection closed mid-stream");
                    else emit.end();
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
        { bufferSize: "unbounded" },
      );
      return Stream.mapChunks(batches, taken);
    });
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
