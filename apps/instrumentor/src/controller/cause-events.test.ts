import { describe, expect, it } from "@effect/vitest";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as TestClock from "effect/TestClock";
import { Config } from "../config.js";
import { EventRecorderLive } from "../observability/events.js";
import { Log } from "../observability/log.js";
import { capturingLogger, eventually, testConfig } from "../test-support/harness.js";
import {
  CauseEvents,
  CauseEventsLive,
  describeTally,
  maxBurstMs,
  quietMs,
} from "./cause-events.js";

const recorderOver = (fake: FakeApiServer, logger = capturingLogger().logger) =>
  Layer.provide(
    EventRecorderLive,
    Layer.mergeAll(fake.layer, Layer.succeed(Log, logger), Layer.succeed(Config, testConfig())),
  );

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
