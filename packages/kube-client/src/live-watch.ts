/**
 * The live client's watches: one streaming GET, its newline-delimited events decoded as they
 * arrive, read no faster than the consumer takes them, and failed when the connection goes
 * quiet (bookmarks keep a healthy one busy).
 */
import type * as http from "node:http";
import * as Chunk from "effect/Chunk";
import * as Effect from "effect/Effect";
import * as Stream from "effect/Stream";
import type * as StreamEmit from "effect/StreamEmit";
import type { KubeObject, WatchEvent, WatchOptions } from "./client.js";
import { type KubeError, KubeTransportError, statusError } from "./errors.js";
import { acceptJson, type Connection, parse, selectorQuery, withQuery } from "./live-http.js";
import { collectionPath, type Resource } from "./resource.js";

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

type BatchEmit = StreamEmit.EmitOpsPush<KubeError, WatchBatch>;

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

/**
 * The backpressure of one watch: characters offered to the consumer and not yet taken, and the
 * response paused while they are too many.
 */
interface WatchBuffer {
  /** Counts a batch offered to the consumer. */
  readonly offered: (chars: number) => void;
  /** Pauses the response while the buffer is full. */
  readonly pauseIfFull: (res: http.IncomingMessage) => void;
  /** The events of the batches the consumer takes; resumes the response once there is room. */
  readonly taken: (batches: Chunk.Chunk<WatchBatch>) => Chunk.Chunk<WatchEvent>;
}

const watchBuffer = (): WatchBuffer => {
  let buffered = 0;
  let paused: http.IncomingMessage | undefined;
  return {
    offered: (chars) => {
      buffered += chars;
    },
    pauseIfFull: (res) => {
      if (buffered >= watchBufferChars && paused === undefined) {
        paused = res;
        res.pause();
      }
    },
    taken: (batches) => {
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
    },
  };
};

/** Fails the watch with the Status of the answer that refused it (410 for a version too old). */
const failWithStatus = (res: http.IncomingMessage, path: string, emit: BatchEmit): void => {
  const status = res.statusCode ?? 0;
  let text = "";
  res.on("data", (chunk: string) => {
    text += chunk;
  });
  res.on("end", () => {
    emit.fail(statusError("GET", path, status, parse(text)));
  });
};

/**
 * Emits the events of an open watch, a batch per socket read, until the server ends it; an
 * ERROR event fails it, and a line that is not JSON breaks the connection.
 */
const decodeWatchEvents = (
  req: http.ClientRequest,
  res: http.IncomingMessage,
  path: string,
  emit: BatchEmit,
  buffer: WatchBuffer,
  failed: (detail: string) => void,
): void => {
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
      req.destroy(new Error(`watch sent a line that is not JSON: ${lines.notJson}`));
      return;
    }
    if (lines.events.length > 0) {
      buffer.offered(lines.chars);
      emit.single({ events: lines.events, chars: lines.chars });
    }
    if (lines.error !== undefined) {
      const code = Number((lines.error as { code?: unknown }).code ?? 500);
      emit.fail(statusError("GET", path, code, lines.error));
      return;
    }
    buffer.pauseIfFull(res);
  });
  res.on("error", (error) => failed(error.message));
  res.on("close", () => {
    if (!res.complete) failed("watch connection closed mid-stream");
    else emit.end();
  });
};

/** Watch requests this client destroyed itself (its scope closed): their errors are not failures. */
const closedByUs = new WeakSet<http.ClientRequest>();

/** Opens the watch's GET for the stream's scope; it is destroyed when the scope closes. */
const openWatch = (
  connection: Connection,
  path: string,
  idleTimeoutMs: number,
  emit: BatchEmit,
  buffer: WatchBuffer,
) =>
  Effect.acquireRelease(
    Effect.flatMap(connection.authHeaders("GET", path), (auth) =>
      Effect.sync(() => {
        const req = connection.request("GET", path, { ...auth, accept: acceptJson });
        const failed = (detail: string) => {
          if (!closedByUs.has(req))
            emit.fail(new KubeTransportError({ method: "GET", path, detail }));
        };
        req.setTimeout(idleTimeoutMs, () =>
          req.destroy(new Error(`watch idle for ${idleTimeoutMs} ms`)),
        );
        req.on("error", (error) => failed(error.message));
        req.on("response", (res) => {
          res.setEncoding("utf8");
          if (res.statusCode === 200) decodeWatchEvents(req, res, path, emit, buffer, failed);
          else failWithStatus(res, path, emit);
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
  );

/** `KubeClient.watch` over this connection. */
export const watch = (
  connection: Connection,
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
    const buffer = watchBuffer();
    const batches = Stream.asyncPush<WatchBatch, KubeError>(
      (emit) => openWatch(connection, path, idleTimeoutMs, emit, buffer),
      { bufferSize: "unbounded" },
    );
    return Stream.mapChunks(batches, buffer.taken);
  });
};
