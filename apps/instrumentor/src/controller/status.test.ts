/** The operator's `/status` report and the gauge by state and reason, through its own layer graph. */
import { describe, expect, it } from "@effect/vitest";
import { InstrumentorFieldManager, OdigosResources } from "@odigos/crd-types";
import { decodeLiveView } from "@odigos/instrumentation-rules";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Clock from "effect/Clock";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import { ClusterState } from "../cache/cluster-state.js";
import { Config } from "../config.js";
import { Routes } from "../observability/health.js";
import { Metrics } from "../observability/metrics.js";
import { Rollouts } from "../rollouts/rollouts.js";
import {
  devicesOf,
  evaluated,
  eventually,
  goDevice,
  namespace,
  runtimeDetails,
  seedOdigos,
  testConfig,
  withInstrumentor,
  workload,
} from "../test-support/harness.js";
import { statusReport } from "./status.js";

const seed = (fake: FakeApiServer) => {
  seedOdigos(fake);
  fake.put(Resources.Namespace, namespace("shop"));
  for (const name of ["cart", "web", "db"])
    fake.put(
      Resources.Deployment,
      workload(name, { annotations: name === "db" ? {} : { "odigos.io/instrument": "true" } }),
    );
  fake.put(
    OdigosResources.InstrumentedApplication,
    runtimeDetails("Deployment", "cart", [{ containerName: "app", language: "go" }]),
  );
};

describe("workload status in the operator", () => {
  it.scoped("reports each workload's state and reason, and counts them in the gauge", () => {
    const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
    seed(fake);
    return withInstrumentor(fake, {}, (lines) =>
      Effect.gen(function* () {
        yield* eventually(
          () => devicesOf(fake, "Deployment", "cart").app?.includes(goDevice),
          "cart's device",
        );
        // cart's patch came back and was decided on: the report is of a settled cluster.
        yield* evaluated(fake, lines, "Deployment", "shop/cart");
        const now = yield* Clock.currentTimeMillis;
        const report = statusReport(yield* ClusterState, yield* Rollouts, yield* Config, now);
        const of = (name: string) => report.workloads.find((entry) => entry.name === name);
        // cart: written, and no controller manager here to complete its rollout.
        expect(of("cart")).toMatchObject({ state: "RollingOut", reason: "RollingOut" });
        expect(of("cart")?.devices.present).toEqual({ app: [goDevice] });
        expect(of("web")).toMatchObject({
          state: "NotInstrumented",
          reason: "WaitingForRuntimeDetails",
        });
        expect(of("db")).toMatchObject({ state: "NotInstrumented", reason: "NotOptedIn" });
        expect(report.summary.byState).toEqual({ RollingOut: 1, NotInstrumented: 2 });
        const metrics = yield* Metrics;
        const text = yield* Effect.promise(() => metrics.scrape());
        expect(text).toContain(
          'odigos_instrumentor_workloads{state="NotInstrumented",reason="WaitingForRuntimeDetails"} 1',
        );
        expect(text).toContain(
          'odigos_instrumentor_workloads{state="RollingOut",reason="RollingOut"} 1',
        );
        const route = (yield* Routes).get("/status");
        const answer = route === undefined ? undefined : yield* route;
        expect(answer?.contentType).toBe("application/json");
        expect(JSON.parse(answer?.body ?? "{}").summary.byReason).toEqual({
          RollingOut: 1,
          WaitingForRuntimeDetails: 1,
          NotOptedIn: 1,
        });
        // What the kubectl plugin reads through the pods proxy: the same body, by the library's schema.
        const view = decodeLiveView(answer?.body ?? "");
        expect(Either.isRight(view)).toBe(true);
        if (Either.isRight(view)) {
          expect(view.right.instrumentor).toMatchObject({
            rolloutTimeoutMs: testConfig().rolloutTimeoutMs,
            breakerOpen: false,
            dryRun: false,
          });
          expect(view.right.byWorkload.get("Deployment/shop/cart")).toEqual({
            breakerOpen: false,
            collectorsGraceLeftMs: 0,
            dryRun: false,
          });
        }
      }),
    );
  });
});
