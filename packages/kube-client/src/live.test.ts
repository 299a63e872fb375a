import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as Chunk from "effect/Chunk";
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import * as FiberId from "effect/FiberId";
import * as Stream from "effect/Stream";
import { afterEach, describe, expect, it } from "vitest";
import type { WatchEvent } from "./client.js";
import type { ClusterCredentials } from "./credentials.js";
import type { KubeError } from "./errors.js";
import { makeKubeClient } from "./live.js";
import { Resources } from "./resource.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server | undefined;
const requests: Array<{
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}> = [];

const serve = async (
  handler: Handler,
  pathPrefix = "",
  authHeaders: ClusterCredentials["authHeaders"] = async () => ({ authorization: "Bearer t" }),
) => {
  requests.length = 0;
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return makeKubeClient(
    {
      source: "KUBECONFIG",
      server: `http://127.0.0.1:${port}${pathPrefix}`,
      insecureSkipTlsVerify: false,
      authHeaders,
    },
    { userAgent: "test-agent/1", fieldManager: "tester", requestTimeoutMs: 300 },
  );
};

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const run = <A>(effect: Effect.Effect<A, KubeError>) => Effect.runPromise(effect);
const failure = <A>(effect: Effect.Effect<A, KubeError>) => Effect.runPromise(Effect.flip(effect));
const events = (stream: Stream.Stream<WatchEvent, KubeError>) =>
  Effect.runPromise(Effect.either(Stream.runCollect(stream))).then((result) =>
    result._tag === "Right"
      ? { events: Chunk.toReadonlyArray(result.right), error: undefined }
      : { events: [], error: result.left },
  );

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message });

describe("live KubeClient", () => {
  it("sends its user agent, credentials and default field manager; parses the answer", async () => {
    const client = await serve((_req, res) =>
      res.end(JSON.stringify({ metadata: { name: "cart", resourceVersion: "7" } })),
    );
    const patched = await run(
      client.patch(
        Resources.Deployment,
        "cart",
        { type: "json", operations: [{ op: "remove", path: "/a" }] },
        { namespace: "shop" },
      ),
    );
    expect(patched.metadata.resourceVersion).toBe("7");
    const [request] = requests;
    expect(request?.method).toBe("PATCH");
    expect(request?.url).toBe("/apis/apps/v1/namespaces/shop/deployments/cart?fieldManager=tester");
    expect(request?.headers["content-type"]).toBe("application/json-patch+json");
    expect(request?.headers["user-agent"]).toBe("test-agent/1");
    expect(request?.headers.authorization).toBe("Bearer t");
    expect(JSON.parse(request?.body ?? "")).toEqual([{ op: "remove", path: "/a" }]);
    expect(request?.headers.accept).toBe("application/json");
    client.close();
  });

  it("asks for the metadata alone when a write wants only that, with the whole object as fallback", async () => {
    const client = await serve((_req, res) =>
      res.end(JSON.stringify({ kind: "PartialObjectMetadata", metadata: { name: "cart" } })),
    );
    const write = { namespace: "shop", answer: "metadata" } as const;
    const body = { metadata: { name: "cart", namespace: "shop" } };
    await run(client.patch(Resources.Deployment, "cart", { type: "merge", body: {} }, write));
    await run(client.create(Resources.Deployment, body, write));
    await run(client.replace(Resources.Deployment, body, write));
    expect(requests.map((request) => request.headers.accept)).toEqual(
      Array(3).fill(
        "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json",
      ),
    );
    client.close();
  });

  it("keeps the path of a server URL behind a proxy (…/k8s/clusters/c-1/) in front of every request", async () => {
    const client = await serve(
      (_req, res) => res.end(JSON.stringify({ metadata: { name: "cart" } })),
      "/k8s/clusters/c-1/",
    );
    await run(client.get(Resources.Deployment, "cart", { namespace: "shop" }));
    expect(requests.map((request) => request.url)).toEqual([
      "/k8s/clusters/c-1/apis/apps/v1/namespaces/shop/deployments/cart",
    ]);
    client.close();
  });

  it("fails with the Status of a non-2xx answer, and with a transport error when nothing answers", async () => {
    const client = await serve((req, res) => {
      if (req.url?.includes("slow")) return; // never answers
      res.writeHead(409).end(status(409, "Conflict", "the object has been modified"));
    });
    expect(
      await failure(
        client.delete(Resources.Pod, "p", { namespace: "ns", preconditions: { uid: "u" } }),
      ),
    ).toMatchObject({
      _tag: "KubeStatusError",
      code: 409,
      reason: "Conflict",
      detail: "the object has been modified",
    });
    expect(JSON.parse(requests[0]?.body ?? "")).toMatchObject({ preconditions: { uid: "u" } });
    const slow = await failure(client.get(Resources.Pod, "slow", { namespace: "ns" }));
    expect(slow).toMatchObject({ _tag: "KubeTransportError", detail: "no answer in 300 ms" });
    client.close();
  });

  it("streams watch events split across chunks, and ends when the server ends the watch", async () => {
    const client = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const lines = [
        JSON.stringify({
          type: "ADDED",
          object: { metadata: { name: "a", resourceVersion: "2" } },
        }),
        JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "3" } } }),
        JSON.stringify({
          type: "DELETED",
          object: { metadata: { name: "a", resourceVersion: "4" } },
        }),
      ].join("\n");
      res.write(lines.slice(0, 30));
      setTimeout(() => res.end(`${lines.slice(30)}\n`), 20);
    });
    const result = await events(
      client.watch(Resources.Deployment, { resourceVersion: "1", timeoutSeconds: 60 }),
    );
    expect(result.error).toBeUndefined();
    expect(
      result.events.map((event) => `${event.type}@${event.object.metadata.resourceVersion}`),
    ).toEqual(["ADDED@2", "BOOKMARK@3", "DELETED@4"]);
    expect(requests[0]?.url).toBe(
      "/apis/apps/v1/deployments?watch=1&allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=60",
    );
    client.close();
  });

  it("stops reading a watch while its consumer is behind, and then delivers every event in order", async () => {
    // 3000 events of 10 KB, 30 MB: several times what the socket buffers took here (about 4 MB).
    const total = 3_000;
    const padding = "x".repeat(10_000);
    let written = 0;
    let serverBlocked = () => {};
    let serverFinished = () => {};
    const outcome = new Promise<string>((resolve) => {
      serverBlocked = () => resolve("blocked");
      serverFinished = () => resolve("finished");
    });
    const client = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const writeMore = () => {
        while (written < total) {
          const line = JSON.stringify({
            type: "ADDED",
            object: {
              metadata: { name: `w${written}`, resourceVersion: String(written + 2) },
              padding,
            },
          });
          written += 1;
          if (!res.write(`${line}\n`)) {
            // Nothing drained for a second: the client has stopped reading.
            const stalled = setTimeout(serverBlocked, 1_000);
            res.once("drain", () => {
              clearTimeout(stalled);
              writeMore();
            });
            return;
          }
        }
        res.end();
        serverFinished();
      };
      writeMore();
    });
    const gate = Deferred.unsafeMake<void>(FiberId.none);
    const names: Array<string> = [];
    const fiber = Effect.runFork(
      Stream.runForEach(client.watch(Resources.Deployment, { resourceVersion: "1" }), (event) =>
        Effect.gen(function* () {
          names.push(event.object.metadata.name ?? "");
          if (names.length === 1) yield* Deferred.await(gate); // the consumer falls behind
        }),
      ),
    );
    expect(await outcome).toBe("blocked");
    expect(written).toBeLessThan(total / 2);
    Deferred.unsafeDone(gate, Exit.void);
    expect(Exit.isSuccess(await Effect.runPromise(Fiber.await(fiber)))).toBe(true);
    expect(names).toHaveLength(total);
    expect(names.every((name, index) => name === `w${index}`)).toBe(true);
    client.close();
  }, 30_000);

  it("fails a watch on an ERROR event, a non-200 answer, silence past the idle deadline, or a cut connection", async () => {
    let mode = "";
    const client = await serve((_req, res) => {
      if (mode === "gone") return void res.writeHead(410).end(status(410, "Expired", "too old"));
      res.writeHead(200);
      if (mode === "error-event")
        res.end(
          `${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" } })}\n`,
        );
      if (mode === "cut") {
        res.write(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } })}\n`);
        setTimeout(() => res.destroy(), 20);
      }
      // "idle": headers only, then silence
    });
    const watch = () =>
      client.watch(Resources.Deployment, { resourceVersion: "5", idleTimeoutMs: 200 });
    mode = "error-event";
    expect((await events(watch())).error).toMatchObject({
      _tag: "KubeStatusError",
      code: 410,
      reason: "Expired",
    });
    mode = "gone";
    expect((await events(watch())).error).toMatchObject({ _tag: "KubeStatusError", code: 410 });
    mode = "idle";
    expect((await events(watch())).error).toMatchObject({
      _tag: "KubeTransportError",
      detail: "watch idle for 200 ms",
    });
    mode = "cut";
    expect((await events(watch())).error).toMatchObject({ _tag: "KubeTransportError" });
    client.close();
  });

  it("takes headers a credential source has at hand, and fails a request whose source throws", async () => {
    let token: string | undefined = "at-hand";
    const client = await serve(
      (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{}"),
      "",
      () => {
        if (token === undefined) throw new Error("token expired and the refresh failed");
        return { authorization: `Bearer ${token}` };
      },
    );
    await run(client.get(Resources.Namespace, "default"));
    expect(requests[0]?.headers.authorization).toBe("Bearer at-hand");
    token = undefined;
    const failed = await Effect.runPromise(Effect.flip(client.get(Resources.Namespace, "default")));
    expect(failed).toMatchObject({
      _tag: "KubeTransportError",
      detail: "credentials: token expired and the refresh failed",
    });
    expect(requests).toHaveLength(1);
    client.close();
  });

  it("refuses TLS credentials it cannot use when it is built, naming the server", () => {
    expect(() =>
      makeKubeClient(
        {
          source: "KUBECONFIG",
          server: "https://127.0.0.1:6443",
          cert: Buffer.from("not a certificate"),
          insecureSkipTlsVerify: false,
          authHeaders: () => ({}),
        },
        { userAgent: "test-agent/1" },
      ),
    ).toThrow(/^TLS credentials for https:\/\/127\.0\.0\.1:6443 \(KUBECONFIG\) are not usable: /);
  });

  it("lets a watch interrupted while its credentials are read go without an uncaught error", async () => {
    // At shutdown: the request is made once the credentials come, and destroyed at once. It
    // used to get its "error" listener a step later, so its "socket hang up" was uncaught and
    // ended the process (exit 1 on SIGTERM, seen with an exec credential plugin).
    let asked: () => void = () => undefined;
    const credentialsAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let give: (headers: Record<string, string>) => void = () => undefined;
    const client = await serve(
      (_req, res) => void res.writeHead(200),
      "",
      () => {
        asked();
        return new Promise((resolve) => {
          give = resolve;
        });
      },
    );
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const fiber = Effect.runFork(
        Stream.runDrain(client.watch(Resources.Deployment, { resourceVersion: "1" })),
      );
      await credentialsAsked;
      const interrupted = Effect.runPromise(Fiber.interrupt(fiber));
      give({ authorization: "Bearer t" });
      expect(Exit.isInterrupted(await interrupted)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off("uncaughtException", onUncaught);
      client.close();
    }
  });
});
