import { describe, expect, it } from "@effect/vitest";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { Config } from "../config.js";
import { capturingLogger, eventually, testConfig } from "../test-support/harness.js";
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
        // Suppression is decided as each is recorded; the outbox sends in order: once the last one
        // recorded (w-39) is written, every earlier one was taken and written (the fake answers
        // at once), so no suppressed duplicate can still come.
        yield* eventually(
          () => fake.list(Resources.Event).some((event) => event.metadata.name.startsWith("w-39.")),
          "the last Event recorded",
        );
        expect(fake.list(Resources.Event)).toHaveLength(43);
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
