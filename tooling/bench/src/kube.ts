/**
 * A minimal HTTPS client to the API server with the admin client certificate
 * of a kubeconfig: keep-alive, JSON, line-delimited watch streams, and a
 * User-Agent of its own so the audit log tells its requests apart.
 */
import * as https from "node:https";
import { createInterface } from "node:readline";
import { KubeConfig } from "@kubernetes/client-node";

export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

export class KubeError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const message = (body as { message?: unknown } | undefined)?.message;
    super(
      `${method} ${path}: ${status === 0 ? "no answer" : `HTTP ${status}`}${typeof message === "string" ? `: ${message}` : ""}`,
    );
    this.name = "KubeError";
  }
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs?: number;
  /** Resolve with the raw text instead of parsing JSON (for `/metrics`). */
  readonly text?: boolean;
}

export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

export interface WatchStream {
  readonly close: () => void;
  /** Resolves when the server ends the stream (or `close()`), rejects on failure. */
  readonly ended: Promise<void>;
}

export const jsonPatch = "application/json-patch+json";
export const mergePatch = "application/merge-patch+json";

export class KubeClient {
  private readonly agent: https.Agent;
  readonly server: URL;

  private constructor(
    server: string,
    agentOptions: https.AgentOptions,
    readonly userAgent: string,
  ) {
    this.server = new URL(server);
    this.agent = new https.Agent(agentOptions);
  }

  /** A client for the current context of the kubeconfig at `path` (client-certificate auth). */
  static async fromKubeconfig(
    path: string,
    userAgent: string,
    maxSockets = 256,
  ): Promise<KubeClient> {
    const config = new KubeConfig();
    config.loadFromFile(path);
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error(`${path}: no current cluster`);
    const options: https.RequestOptions = {};
    await config.applyToHTTPSOptions(options);
    return new KubeClient(
      cluster.server,
      {
        keepAlive: true,
        maxSockets,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.cert === undefined ? {} : { cert: options.cert }),
        ...(options.key === undefined ? {} : { key: options.key }),
      },
      userAgent,
    );
  }

  private open(method: string, path: string, headers: Record<string, string>) {
    return https.request(new URL(path, this.server), {
      method,
      agent: this.agent,
      headers: { "user-agent": this.userAgent, ...headers },
    });
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<KubeResponse> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      accept: options.text === true ? "text/plain" : "application/json",
    };
    if (payload !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    const req = this.open(method, path, headers);
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 60_000;
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on("error", (error) =>
        reject(new KubeError(method, path, 0, { message: error.message })),
      );
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) =>
          reject(new KubeError(method, path, 0, { message: error.message })),
        );
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          if (options.text !== true) {
            try {
              body = text === "" ? undefined : JSON.parse(text);
            } catch {
              // keep the text
            }
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status, body });
          else reject(new KubeError(method, path, status, body));
        });
      });
      req.end(payload);
    });
  }

  /** Opens a watch and calls `onEvent` for each line. */
  watch(path: string, onEvent: (event: WatchEvent) => void): Promise<WatchStream> {
    const req = this.open("GET", path, { accept: "application/json" });
    let closedByUs = false;
    return new Promise((resolveOpen, rejectOpen) => {
      let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
      const ended = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      // A stream that fails after `ended` was handed out rejects it; avoid an unhandled rejection before that.
      ended.catch(() => undefined);
      const fail = (error: Error) => {
        if (closedByUs) settle?.resolve();
        else settle?.reject(error);
        rejectOpen(error);
      };
      req.on("error", (error) => fail(new KubeError("GET", path, 0, { message: error.message })));
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            let body: unknown = Buffer.concat(chunks).toString("utf8");
            try {
              body = JSON.parse(body as string);
            } catch {
              // keep the text
            }
            fail(new KubeError("GET", path, status, body));
          });
          return;
        }
        const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
        lines.on("line", (line) => {
          if (line.trim() === "") return;
          try {
            onEvent(JSON.parse(line) as WatchEvent);
          } catch (error) {
            req.destroy(error instanceof Error ? error : new Error(String(error)));
          }
        });
        // readline re-emits the response's errors: both need a listener.
        res.on("error", (error) => fail(error));
        lines.on("error", (error) => fail(error));
        lines.on("close", () => {
          if (!res.complete && !closedByUs) fail(new Error(`watch ${path} closed mid-stream`));
          else settle?.resolve();
        });
        resolveOpen({
          close: () => {
            closedByUs = true;
            req.destroy();
          },
          ended,
        });
      });
      req.end();
    });
  }

  destroy(): void {
    this.agent.destroy();
  }
}

/** Runs `task` over `items` with at most `concurrency` in flight; `onDone` after each. */
export const pool = async <T>(
  items: ReadonlyArray<T>,
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
  onDone?: (done: number) => void,
): Promise<void> => {
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const item = items[index];
      if (index >= items.length || item === undefined) return;
      await task(item, index);
      onDone?.(++done);
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker),
  );
};
