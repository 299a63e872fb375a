import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeNamespace, type Namespace } from "@odigos/crd-types";
import { afterEach, describe, expect, it } from "vitest";
import { KubeHttp } from "../kube/http.js";
import { Informer, type InformerEvent } from "./informer.js";

/** What the fake API server does with the next watch request. */
type WatchScript =
  | {
      readonly do: "stream";
      readonly events: ReadonlyArray<{ type: string; object: unknown }>;
      readonly end: boolean;
    }
  | { readonly do: "status"; readonly code: number }
  | { readonly do: "hang" };

const ns = (name: string, resourceVersion: string, labels?: Record<string, string>) => ({
  metadata: {
    name,
    uid: `uid-${name}`,
    resourceVersion,
    ...(labels === undefined ? {} : { labels }),
  },
});

class FakeApiServer {
  items = new Map<string, unknown>();
  listVersion = "10";
  lists = 0;
  watchVersions: Array<string> = [];
  scripts: Array<WatchScript> = [];
  private open: Array<ServerResponse> = [];
  server: Server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Cuts every open watch as a crashing server would. */
  dropOpenStreams(): void {
    for (const res of this.open.splice(0)) res.destroy();
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.searchParams.get("watch") !== "1") {
      this.lists++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          metadata: { resourceVersion: this.listVersion },
          items: [...this.items.values()],
        }),
      );
      return;
    }
    this.watchVersions.push(url.searchParams.get("resourceVersion") ?? "");
    const script = this.scripts.shift() ?? { do: "hang" };
    if (script.do === "status") {
      res.writeHead(script.code, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          code: script.code,
          reason: script.code === 410 ? "Expired" : "InternalError",
          message: "scripted",
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.flushHeaders();
    this.open.push(res);
    if (script.do === "hang") return;
    for (const event of script.events) res.write(`${JSON.stringify(event)}\n`);
    if (script.end) res.end();
  }
}

const waitUntil = async (condition: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const silentLog = { info: () => undefined, warn: () => undefined };

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

const start = async (api: FakeApiServer, options: { idleTimeoutMs?: number } = {}) => {
  const server = await api.start();
  const kube = KubeHttp.from({
    source: "KUBECONFIG",
    server,
    insecureSkipTlsVerify: false,
    authHeaders: async () => ({}),
  });
  const events: Array<InformerEvent<Namespace>> = [];
  const informer = new Informer<Namespace>(kube, {
    name: "Namespace",
    path: "/api/v1/namespaces",
    decode: decodeNamespace,
    resourceVersionOf: (value) => value.metadata.resourceVersion,
    onEvent: (event) => events.push(event),
    log: silentLog,
    retryBaseMs: 5,
    ...options,
  });
  informer.start();
  cleanup.push(async () => {
    await informer.stop();
    kube.destroy();
    await api.stop();
  });
  await informer.synced;
  return { informer, events };
};

const summary = (events: ReadonlyArray<InformerEvent<Namespace>>) =>
  events.map((event) => `${event.type}:${event.key}`);

describe("Informer", () => {
  it("lists, then applies watch events in order", async () => {
    const api = new FakeApiServer();
    api.items.set("a", ns("a", "5"));
    api.scripts.push({
      do: "stream",
      events: [
        { type: "ADDED", object: ns("b", "11") },
        { type: "MODIFIED", object: ns("a", "12", { x: "y" }) },
        { type: "DELETED", object: ns("b", "13") },
      ],
      end: false,
    });
    const { informer, events } = await start(api);
    await waitUntil(() => events.length === 4);
    expect(summary(events)).toEqual(["upsert:a", "upsert:b", "upsert:a", "delete:b"]);
    expect(informer.get("a")?.metadata.labels).toEqual({ x: "y" });
    expect(informer.get("b")).toBeUndefined();
    expect(api.watchVersions).toEqual(["10"]);
  });

  it("reconnects from the last version seen when the server ends a watch", async () => {
    const api = new FakeApiServer();
    api.scripts.push(
      {
        do: "stream",
        events: [
          { type: "ADDED", object: ns("a", "11") },
          { type: "BOOKMARK", object: { metadata: { resourceVersion: "15" } } },
        ],
        end: true,
      },
      { do: "stream", events: [{ type: "ADDED", object: ns("b", "16") }], end: false },
    );
    const { informer } = await start(api);
    await waitUntil(() => informer.get("b") !== undefined);
    expect(api.watchVersions).toEqual(["10", "15"]);
    expect(api.lists).toBe(1);
  });

  it("re-lists after 410 Gone and delivers what changed meanwhile", async () => {
    const api = new FakeApiServer();
    api.items.set("stays", ns("stays", "3"));
    api.items.set("goes", ns("goes", "4"));
    api.items.set("changes", ns("changes", "5"));
    api.scripts.push({ do: "status", code: 410 });
    const events: Array<string> = [];
    const { informer, events: seen } = await start(api);
    seen.length = 0;
    api.items.delete("goes");
    api.items.set("changes", ns("changes", "20"));
    api.items.set("new", ns("new", "21"));
    api.listVersion = "21";
    await waitUntil(() => api.lists >= 2 && api.watchVersions.includes("21"));
    events.push(...summary(seen));
    expect(events.sort()).toEqual(["delete:goes", "upsert:changes", "upsert:new"]);
    expect(informer.stats.expired).toBe(1);
    expect([...informer.values()].map((value) => value.metadata.name).sort()).toEqual([
      "changes",
      "new",
      "stays",
    ]);
  });

  it("re-lists after an ERROR event with code 410 inside the stream", async () => {
    const api = new FakeApiServer();
    api.scripts.push({
      do: "stream",
      events: [{ type: "ERROR", object: { kind: "Status", code: 410 } }],
      end: false,
    });
    const { informer } = await start(api);
    await waitUntil(() => api.lists === 2);
    expect(informer.stats.expired).toBe(1);
  });

  it("keeps retrying through server errors instead of stopping", async () => {
    const api = new FakeApiServer();
    api.scripts.push(
      { do: "status", code: 500 },
      { do: "status", code: 503 },
      { do: "stream", events: [{ type: "ADDED", object: ns("late", "30") }], end: false },
    );
    const { informer } = await start(api);
    await waitUntil(() => informer.get("late") !== undefined);
    expect(informer.stats.failures).toBe(2);
    // A failed watch resumes from where it was; nothing needs listing again.
    expect(api.lists).toBe(1);
    expect(api.watchVersions).toEqual(["10", "10", "10"]);
  });

  it("resumes a watch cut mid-stream from the last version it delivered", async () => {
    const api = new FakeApiServer();
    api.scripts.push(
      {
        do: "stream",
        events: [
          { type: "ADDED", object: ns("a", "11") },
          { type: "MODIFIED", object: ns("a", "12") },
        ],
        end: false,
      },
      { do: "stream", events: [{ type: "ADDED", object: ns("b", "13") }], end: false },
    );
    const { informer } = await start(api);
    await waitUntil(() => informer.get("a")?.metadata.resourceVersion === "12");
    api.dropOpenStreams();
    await waitUntil(() => informer.get("b") !== undefined);
    expect(api.watchVersions).toEqual(["10", "12"]);
    expect(api.lists).toBe(1);
  });

  it("drops a watch that goes silent and opens a new one", async () => {
    const api = new FakeApiServer();
    api.scripts.push(
      { do: "hang" },
      { do: "stream", events: [{ type: "ADDED", object: ns("after-idle", "40") }], end: false },
    );
    const { informer } = await start(api, { idleTimeoutMs: 100 });
    await waitUntil(() => informer.get("after-idle") !== undefined);
    expect(api.watchVersions.length).toBeGreaterThanOrEqual(2);
  });

  it("keeps a malformed object out of the cache and reports it once", async () => {
    const api = new FakeApiServer();
    api.items.set("good", ns("good", "1"));
    api.items.set("bad", { metadata: { name: "bad", resourceVersion: "2" } });
    const { informer, events } = await start(api);
    expect(informer.get("good")).toBeDefined();
    expect(informer.get("bad")).toBeUndefined();
    const invalid = events.filter((event) => event.type === "invalid");
    expect(invalid).toHaveLength(1);
    expect(invalid[0]?.type === "invalid" && invalid[0].error.message).toContain(
      "Namespace bad is malformed: metadata.uid",
    );
    expect(informer.invalidReason("bad")).toBeDefined();
  });
});
