/**
 * A thin HTTP transport to the API server on top of @kubernetes/client-node's
 * credential handling. The client library's own watch has no client-side
 * timeout and its informer stops on most errors, so requests and watch streams
 * are issued here, where every timeout and reconnect is ours.
 */
import * as http from "node:http";
import * as https from "node:https";
import { createInterface } from "node:readline";
import type { ClusterCredentials } from "./config.js";

/** Lets the API server's audit log tell the instrumentor's requests apart, down to the process. */
export const userAgent = `odigos-instrumentor/0.1.0 (${process.platform}/${process.arch}) pid/${process.pid}`;

/** An HTTP answer from the API server with its JSON body (a `Status` on errors). */
export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A non-2xx answer, or no answer at all (status 0). */
export class KubeRequestError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
    detail: string,
  ) {
    super(`${method} ${path}: ${status === 0 ? "" : `HTTP ${status}: `}${detail}`);
    this.name = "KubeRequestError";
  }

  /** `reason` of the Kubernetes `Status` body, e.g. `Conflict`, `NotFound`, `Expired`. */
  get reason(): string | undefined {
    const reason = (this.body as { reason?: unknown } | undefined)?.reason;
    return typeof reason === "string" ? reason : undefined;
  }
}

const statusMessage = (body: unknown, fallback: string): string => {
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : fallback;
};

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  /** Abort when no answer within this many milliseconds. */
  readonly timeoutMs?: number;
}

/** One line-delimited JSON watch stream; `close()` aborts it. */
export interface WatchStream {
  readonly close: () => void;
  /** Resolves when the stream ends, rejects when it fails. */
  readonly ended: Promise<void>;
}

export class KubeHttp {
  readonly server: URL;

  private constructor(
    private readonly credentials: ClusterCredentials,
    private readonly agent: http.Agent,
  ) {
    this.server = new URL(credentials.server);
  }

  /** A keep-alive transport for these credentials. */
  static from(credentials: ClusterCredentials): KubeHttp {
    const agent = credentials.server.startsWith("https:")
      ? new https.Agent({
          keepAlive: true,
          maxSockets: 64,
          ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
          ...(credentials.cert === undefined ? {} : { cert: credentials.cert }),
          ...(credentials.key === undefined ? {} : { key: credentials.key }),
          ...(credentials.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
        })
      : new http.Agent({ keepAlive: true, maxSockets: 64 });
    return new KubeHttp(credentials, agent);
  }

  private async open(
    method: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<http.ClientRequest> {
    const url = new URL(path, this.server);
    const transport = url.protocol === "https:" ? https : http;
    return transport.request(url, {
      method,
      agent: this.agent,
      headers: { "user-agent": userAgent, ...(await this.credentials.authHeaders()), ...headers },
    });
  }

  /** Sends one request and parses its JSON answer; rejects with {@link KubeRequestError} on non-2xx. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<KubeResponse> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: "application/json" };
    if (payload !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    const req = await this.open(method, path, headers);
    return new Promise<KubeResponse>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 30_000;
      req.setTimeout(timeoutMs, () =>
        req.destroy(
          new KubeRequestError(method, path, 0, undefined, `no answer in ${timeoutMs} ms`),
        ),
      );
      req.on("error", (error) =>
        reject(
          error instanceof KubeRequestError
            ? error
            : new KubeRequestError(method, path, 0, undefined, error.message),
        ),
      );
      req.on("response", (res) => {
        const chunks: Array<Buffer> = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) =>
          reject(new KubeRequestError(method, path, 0, undefined, error.message)),
        );
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text === "" ? undefined : JSON.parse(text);
          } catch {
            // Not JSON (a proxy's error page): keep the text for the message.
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status, body });
          else
            reject(
              new KubeRequestError(method, path, status, body, statusMessage(body, String(text))),
            );
        });
      });
      req.end(payload);
    });
  }

  /**
   * Opens a watch stream and calls `onEvent` for each decoded line. The stream
   * is aborted when no byte arrives for `idleTimeoutMs` (a dead connection the
   * kernel has not noticed yet): bookmarks keep a healthy one busy.
   */
  async watch(
    path: string,
    onEvent: (event: { type: string; object: unknown }) => void,
    idleTimeoutMs: number,
  ): Promise<WatchStream> {
    const req = await this.open("GET", path, { accept: "application/json" });
    let closedByUs = false;
    const ended = new Promise<void>((resolve, reject) => {
      req.setTimeout(idleTimeoutMs, () =>
        req.destroy(
          new KubeRequestError("GET", path, 0, undefined, `watch idle for ${idleTimeoutMs} ms`),
        ),
      );
      req.on("error", (error) => {
        if (closedByUs) resolve();
        else
          reject(
            error instanceof KubeRequestError
              ? error
              : new KubeRequestError("GET", path, 0, undefined, error.message),
          );
      });
      req.on("close", () => {
        if (closedByUs) resolve();
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Array<Buffer> = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // keep text
            }
            reject(new KubeRequestError("GET", path, status, body, statusMessage(body, text)));
          });
          return;
        }
        const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
        lines.on("line", (line) => {
          if (line.trim() === "") return;
          try {
            onEvent(JSON.parse(line) as { type: string; object: unknown });
          } catch (error) {
            req.destroy(error instanceof Error ? error : new Error(String(error)));
          }
        });
        // readline re-emits the response's errors; either source settles the stream once.
        const failed = (error: Error) => {
          if (closedByUs) resolve();
          else reject(new KubeRequestError("GET", path, 0, undefined, error.message));
        };
        res.on("error", failed);
        lines.on("error", failed);
        lines.on("close", () => resolve());
        res.on("close", () => {
          if (!res.complete && !closedByUs) failed(new Error("watch connection closed mid-stream"));
          else resolve();
        });
      });
      req.end();
    });
    return {
      close: () => {
        closedByUs = true;
        req.destroy();
      },
      ended,
    };
  }

  /** Closes idle keep-alive sockets. */
  destroy(): void {
    this.agent.destroy();
  }
}
