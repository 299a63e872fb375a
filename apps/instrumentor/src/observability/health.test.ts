/** The metrics listener as Prometheus scrapes it: readiness as a gauge, counters present from the start. */
import { describe, expect, it } from "@effect/vitest";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { Config } from "../config.js";
import { testConfig } from "../test-support/harness.js";
import {
  Endpoints,
  EndpointsLive,
  LivenessLive,
  Readiness,
  ReadinessLive,
  RoutesLive,
} from "./health.js";
import { MetricsLive } from "./metrics.js";

const listening = { _tag: "Listen", host: "127.0.0.1", port: 0 } as const;

const layer = EndpointsLive.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      Layer.succeed(
        Config,
        testConfig({ metricsBindAddress: listening, healthProbeBindAddress: listening }),
      ),
      LivenessLive,
      ReadinessLive,
      RoutesLive,
      MetricsLive,
    ),
  ),
);

const scrape = (port: number | undefined) =>
  Effect.promise(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    return response.text();
  });

const sample = (text: string, series: string) =>
  text
    .split("\n")
    .find((line) => line.startsWith(`${series} `))
    ?.slice(series.length + 1);

describe("/metrics", () => {
  it.scoped("reports readiness as odigos_instrumentor_ready, as /readyz answers", () =>
    Effect.gen(function* () {
      const { metrics } = yield* Endpoints;
      const readiness = yield* Readiness;
      // No check registered: /readyz fails ("nothing to be ready for yet"), and so does the gauge.
      expect(sample(yield* scrape(metrics), "odigos_instrumentor_ready")).toBe("0");
      let synced = false;
      readiness.register("caches", () => (synced ? undefined : "not synced"));
      expect(sample(yield* scrape(metrics), "odigos_instrumentor_ready")).toBe("0");
      synced = true;
      expect(sample(yield* scrape(metrics), "odigos_instrumentor_ready")).toBe("1");
    }).pipe(Effect.provide(layer)),
  );

  it.scoped("has every rollback reason and rollout result at 0 before the first one", () =>
    Effect.gen(function* () {
      const text = yield* scrape((yield* Endpoints).metrics);
      for (const reason of ["CrashLoopBackOff", "RestartingContainer", "NotReady"])
        expect(sample(text, `odigos_instrumentor_rollbacks_total{reason="${reason}"}`)).toBe("0");
      for (const result of ["completed", "stuck", "failed"])
        expect(sample(text, `odigos_instrumentor_rollouts_total{result="${result}"}`)).toBe("0");
    }).pipe(Effect.provide(layer)),
  );
});
