import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { KubeHttp } from "../kube/http.js";
import { makeEventRecorder } from "./events.js";

const target = (name: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  namespace: "shop",
  name,
  uid: `uid-${name}`,
});

/** A transport whose requests finish only when told to. */
const slowTransport = () => {
  const sent: Array<{ path: string; body: Record<string, unknown> }> = [];
  const waiting: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const kube = {
    request: (_method: string, path: string, options: { body: Record<string, unknown> }) => {
      sent.push({ path, body: options.body });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise((resolve) =>
        waiting.push(() => {
          inFlight--;
          resolve({ status: 201, body: {} });
        }),
      );
    },
  } as unknown as KubeHttp;
  const releaseAll = async () => {
    while (waiting.length > 0) {
      for (const release of waiting.splice(0)) release();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { kube, sent, releaseAll, maxInFlight: () => maxInFlight };
};

describe("event recorder", () => {
  it("records an events.k8s.io/v1 Event on the object, with a valid name", async () => {
    const transport = slowTransport();
    const recorder = makeEventRecorder(transport.kube, pino({ level: "silent" }), () => undefined);
    recorder.normal(target("cart"), "Instrumented", "Instrument", "the workload opts in");
    await transport.releaseAll();
    expect(transport.sent).toHaveLength(1);
    const event = transport.sent[0];
    if (event === undefined) throw new Error("no event sent");
    expect(event.path).toBe("/apis/events.k8s.io/v1/namespaces/shop/events");
    expect(event.body).toMatchObject({
      apiVersion: "events.k8s.io/v1",
      reason: "Instrumented",
      type: "Normal",
      reportingController: "odigos.io/instrumentor",
      regarding: { kind: "Deployment", name: "cart", uid: "uid-cart" },
    });
    const name = (event.body.metadata as { name: string }).name;
    expect(name).toMatch(/^cart\.[0-9a-f]+$/);
    expect(event.body.eventTime).toMatch(/\.\d{6}Z$/);
  });

  it("suppresses the same event on the same object, so a loop cannot flood the API server", async () => {
    const transport = slowTransport();
    const recorder = makeEventRecorder(transport.kube, pino({ level: "silent" }), () => undefined);
    for (let i = 0; i < 50; i++)
      recorder.warning(target("cart"), "ContainerNotFound", "Instrument", "no container ghost");
    recorder.warning(target("cart"), "ContainerNotFound", "Instrument", "no container other");
    recorder.warning(target("shop"), "ContainerNotFound", "Instrument", "no container ghost");
    await transport.releaseAll();
    expect(transport.sent).toHaveLength(3);
  });

  it("sends a burst a few at a time and delivers all of it", async () => {
    const transport = slowTransport();
    const results: string[] = [];
    const recorder = makeEventRecorder(transport.kube, pino({ level: "silent" }), (result) =>
      results.push(result),
    );
    for (let i = 0; i < 40; i++)
      recorder.normal(target(`w-${i}`), "Instrumented", "Instrument", "opted in");
    expect(transport.sent.length).toBeLessThanOrEqual(2);
    await transport.releaseAll();
    expect(transport.sent).toHaveLength(40);
    expect(transport.maxInFlight()).toBe(2);
    expect(results.filter((result) => result === "ok")).toHaveLength(40);
  });
});
