/**
 * The live client's HTTP: one keep-alive agent with one TLS context, the credentials' headers,
 * and `send`, one request with a deadline and its whole answer. Requests and watches are built
 * on it (`live.ts`, `live-watch.ts`).
 */
import * as http from "node:http";
import * as https from "node:https";
import * as tls from "node:tls";
import * as Effect from "effect/Effect";
import type { Selectors } from "./client.js";
import type { AuthHeaders, ClusterCredentials } from "./credentials.js";
import { type KubeError, KubeTransportError, statusError } from "./errors.js";

/** What the HTTP layer takes from `KubeClientOptions`. */
export interface ConnectionOptions {
  readonly userAgent: string;
  readonly requestTimeoutMs?: number | undefined;
  readonly maxSockets?: number | undefined;
}

/** One API server as this client reaches it. */
export interface Connection {
  /** Deadline of a request without an answer. */
  readonly requestTimeoutMs: number;
  /** The credentials' headers: without a promise when the source has them at hand. */
  readonly authHeaders: (method: string, path: string) => Effect.Effect<AuthHeaders, KubeError>;
  /**
   * A request, to be given its "error" listener in the same synchronous step: one destroyed
   * without a listener (its fiber interrupted in between, at shutdown) emits "socket hang up"
   * as an uncaught exception and ends the process.
   */
  readonly request: (
    method: string,
    path: string,
    headers: Record<string, string>,
  ) => http.ClientRequest;
  /** Destroys the agent's sockets. */
  readonly close: () => void;
}

export interface Answer {
  readonly status: number;
  readonly text: string;
}

/** JSON, or only the object's metadata where the server can (see `WriteOptions.answer`). */
export const acceptJson = "application/json";
export const acceptMetadata =
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";

export const parse = (text: string): unknown => {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): keep the text for the message.
    return text;
  }
};

export const withQuery = (path: string, query: Record<string, string | undefined>): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
};

export const selectorQuery = (options: Selectors) => ({
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

/**
 * The agent of every request. One TLS context for every connection, rather than the CA,
 * certificate and key as agent options: https.Agent names its socket pool by them, so every
 * request turned those buffers into strings (kilobytes each, two or three times a request), and
 * every connection parsed them.
 */
const makeAgent = (credentials: ClusterCredentials, secure: boolean, maxSockets: number) =>
  secure
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

const credentialsFailed = (method: string, path: string, error: unknown) =>
  new KubeTransportError({
    method,
    path,
    detail: `credentials: ${error instanceof Error ? error.message : String(error)}`,
  });

/** The credentials' headers: without a promise when the source has them at hand. */
const authHeadersOf =
  (credentials: ClusterCredentials) =>
  (method: string, path: string): Effect.Effect<AuthHeaders, KubeError> =>
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

/** The connection to the credentials' server; throws on unusable TLS credentials. */
export const connect = (
  credentials: ClusterCredentials,
  options: ConnectionOptions,
): Connection => {
  const server = new URL(credentials.server);
  const secure = server.protocol === "https:";
  const agent = makeAgent(credentials, secure, options.maxSockets ?? 64);
  const transport = secure ? https : http;
  // Parsed once: a URL per request showed in profiles. A server URL may carry a path prefix.
  const origin = {
    protocol: server.protocol,
    hostname: server.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: server.port === "" ? undefined : Number(server.port),
  };
  const basePath = server.pathname.replace(/\/+$/, "");
  return {
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    authHeaders: authHeadersOf(credentials),
    request: (method, path, headers) =>
      transport.request({
        ...origin,
        path: `${basePath}${path}`,
        method,
        agent,
        headers: { "user-agent": options.userAgent, ...headers },
      }),
    close: () => agent.destroy(),
  };
};

export interface SendOptions {
  readonly body?: { readonly text: string; readonly contentType: string } | undefined;
  readonly timeoutMs?: number | undefined;
  readonly accept?: string | undefined;
}

/** One request and its whole answer; fails on no answer, or on a non-2xx one. */
export const send = (
  connection: Connection,
  method: string,
  path: string,
  sendOptions: SendOptions = {},
): Effect.Effect<Answer, KubeError> => {
  const { body, timeoutMs = connection.requestTimeoutMs, accept = acceptJson } = sendOptions;
  const headers: Record<string, string> = { accept };
  if (body !== undefined) {
    headers["content-type"] = body.contentType;
    headers["content-length"] = String(Buffer.byteLength(body.text));
  }
  return Effect.flatMap(connection.authHeaders(method, path), (auth) =>
    Effect.async<Answer, KubeError>((resume) => {
      const req = connection.request(method, path, { ...auth, ...headers });
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
