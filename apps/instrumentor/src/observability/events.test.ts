import { describe, expect, it } from "@effect/vitest";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as TestClock from "effect/TestClock";
import { Config } from "../config.js";
import { capturingLogger, eventually, testConfig } from "../test-support/harness.js";
import {
  CauseEvents,
  CauseEventsLive,
  describeTally,
  maxBurstMs,
  quietMs,
} from "./cause-events.js";
import { EventRecorder, EventRecorderLive } from "./events.js";
import { Log } from "./log.js";

const target = (name: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  namespace: "shop",
  name,
  uid: `uid-${name}`,
});

const recorderOver = (fake: FakeApiServer, logger = capturingLogger().logger) =>
  Layer.provide(
    EventRecorderLive,
    Layer.mergeAll(fake.layer, Layer.succeed(Log, logger), Layer.succeed(Config, testConfig())),
  );

describe("event recorder", () => {
  it.scopedLive("records an events.k8s.io/v1 Event on the object, with a valid name", () => {
    const fake = new FakeApiServer();
    return Effect.gen(function* () {
      const recorder = yield* EventRecorder;
      recorder.normal(target("cart"), "Instrumented", "Instrument", "the workload opts in");
      yield* eventually(() => fake.list(Resources.Event).length === 1, "the Event");
      const [event] = fake.list(Resources.Event);
      expect(event).toMatchObject({
        apiVersion: "events.k8s.io/v1",
        reason: "Instrumented",
        type: "Normal",
        reportingController: "odigos.io/instrumentor",
        regarding: { kind: "Deployment", name: "cart", uid: "uid-cart" },
        metadata: { namespace: "shop" },
      });
      expect(event?.metadata.name).toMatch(/^cart\.[0-9a-f]+$/);
      expect(event?.eventTime).toMatch(/\.\d{6}Z$/);
    }).pipe(Effect.provide(recorderOver(fake)));
  });

  it.scopedLive(
    "suppresses the same Event on the same object, so a loop cannot flood the API server",
    () => {
      const fake = new FakeApiServer();
      return Effect.gen(function* () {
        const recorder = yield* EventRecorder;
        for (let i = 0; i < 50; i++)
          recorder.warning(target("cart"), "ContainerNotFound", "Instrument", "no container ghost");
        recorder.warning(target("cart"), "ContainerNotFound", "Instrument", "no container other");
        recorder.warning(target("shop"), "ContainerNotFound", "Instrument", "no container ghost");
        for (let i = 0; i < 40; i++)
          recorder.normal(target(`w-${i}`), "Instrumented", "Instrument", "opted in");
        yield* eventually(() => fake.list(Resources.Event).length === 43, "43 Events");
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)));
        expect(fake.writes({ resource: "events" })).toHaveLength(43);
      }).pipe(Effect.provide(recorderOver(fake)));
    },
  );

  it.effect("a failed Event is logged and dropped, never retried", () => {
    const fake = new FakeApiServer();
    const { logger, lines } = capturingLogger();
    fake.failNext({ resource: "events" }, 403);
    return Effect.gen(function* () {
      (yield* EventRecorder).normal(target("cart"), "Instrumented", "Instrument", "x");
      yield* eventually(
        () => lines.some((line) => line.msg === "could not record event"),
        "the warning",
      );
      expect(fake.list(Resources.Event)).toEqual([]);
    }).pipe(Effect.provide(recorderOver(fake, logger)));
  });
});

describe("one Event per cause", () => {
  /** The collectors turning ready or not ready: the change of the data-collection CollectorsGroup. */
  const collectorsChange = (ready: boolean) => ({
    cause: {
      apiVersion: "odigos.io/v1alpha1",
      kind: "CollectorsGroup",
      namespace: "odigos-system",
      name: "dc",
      uid: "uid-dc",
    },
    description: `collectors became ${ready ? "ready" : "not ready"}`,
    before: { collectorsReady: !ready, configuration: { _tag: "Missing" } as const },
  });

  it("says what changed, how many workloads it moved, and a few of them", () => {
    const change = collectorsChange(false);
    expect(
      describeTally({
        change,
        counts: { Instrumented: 0, Uninstrumented: 700 },
        sample: ["b/x", "a/y"],
      }),
    ).toBe("collectors became not ready: un-instrumented 700 workloads (a/y, b/x, …)");
    expect(
      describeTally({ change, counts: { Instrumented: 1, Uninstrumented: 0 }, sample: ["a/y"] }),
    ).toBe("collectors became not ready: instrumented 1 workload (a/y)");
  });

  it.scoped(
    "a burst stays open while workloads it moves wait for a rollout slot, at most maxBurstMs",
    () => {
      const fake = new FakeApiServer();
      const change = collectorsChange(true);
      const ref = (name: string) => ({ kind: "Deployment" as const, namespace: "shop", name });
      const notes = () => fake.list(Resources.Event).map((event) => event.note);
      return Effect.gen(function* () {
        const causes = yield* CauseEvents;
        causes.record(change, ref("a"), "Instrumented");
        causes.waiting(change, ref("b"));
        causes.waiting(change, ref("c"));
        yield* TestClock.adjust(quietMs * 2);
        causes.record(change, ref("b"), "Instrumented");
        yield* TestClock.adjust(quietMs * 2);
        expect(notes()).toEqual([]);
        // c never gets its slot: the burst is reported with what was written.
        yield* TestClock.adjust(maxBurstMs);
        yield* eventually(() => notes().length === 1, "the Event");
        expect(notes()).toEqual([
          "collectors became ready: instrumented 2 workloads (shop/a, shop/b)",
        ]);
        // Waiting alone, with nothing written, says nothing.
        causes.waiting(change, ref("d"));
        yield* TestClock.adjust(maxBurstMs * 2);
        expect(notes()).toHaveLength(1);
      }).pipe(
        Effect.provide(
          Layer.provide(
            CauseEventsLive,
            Layer.merge(recorderOver(fake), Layer.succeed(Log, capturingLogger().logger)),
          ),
        ),
      );
    },
  );
});
