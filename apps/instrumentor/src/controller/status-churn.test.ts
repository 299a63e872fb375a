/**
 * Status churn: a controller reports a rollout's progress many times per workload. For a workload
 * with no Odigos state those reports decide nothing, and queue no reconcile; a workload with
 * Odigos state, or a change of spec or metadata, is still looked at.
 */
import { describe, expect, it } from "@effect/vitest";
import { InstrumentorFieldManager, OdigosResources } from "@odigos/crd-types";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import {
  devicesOf,
  evaluated,
  eventually,
  goDevice,
  namespace,
  reconciles,
  runtimeDetails,
  seedOdigos,
  withInstrumentor,
  workload,
} from "../test-support/harness.js";

const progress = (replicas: number) => ({
  status: { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: replicas },
});

describe("status churn", () => {
  it.scoped(
    "queues no reconcile for a workload without Odigos state, and still does for the rest",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedOdigos(fake);
      fake.put(Resources.Namespace, namespace("shop"));
      fake.put(Resources.Deployment, workload("other"));
      fake.put(
        Resources.Deployment,
        workload("cart", { annotations: { "odigos.io/instrument": "true" } }),
      );
      fake.put(
        OdigosResources.InstrumentedApplication,
        runtimeDetails("Deployment", "cart", [{ containerName: "app", language: "go" }]),
      );
      return withInstrumentor(fake, {}, (lines) =>
        Effect.gen(function* () {
          yield* eventually(
            () => devicesOf(fake, "Deployment", "cart").app?.includes(goDevice),
            "cart's device",
          );
          yield* evaluated(fake, lines, "Deployment", "shop/other");
          const before = yield* reconciles;

          for (const replicas of [1, 2, 3]) {
            fake.update(Resources.Deployment, "other", "shop", progress(replicas), "status");
            yield* evaluated(fake, lines, "Deployment", "shop/other");
          }
          expect(yield* reconciles).toBe(before);

          // The same reports for a workload with devices: its rollout is judged by them.
          fake.update(Resources.Deployment, "cart", "shop", progress(1), "status");
          yield* evaluated(fake, lines, "Deployment", "shop/cart");
          expect(yield* reconciles).toBe(before + 1);

          // A spec change of the other workload (generation 2) is looked at.
          fake.update(Resources.Deployment, "other", "shop", {
            spec: { template: { metadata: { annotations: { restartedAt: "now" } } } },
          });
          yield* evaluated(fake, lines, "Deployment", "shop/other");
          expect(yield* reconciles).toBe(before + 2);

          // So is its opt-in marker, which changes no generation.
          fake.update(Resources.Deployment, "other", "shop", {
            metadata: { annotations: { "odigos.io/instrument": "false" } },
          });
          yield* evaluated(fake, lines, "Deployment", "shop/other");
          expect(yield* reconciles).toBe(before + 3);
        }),
      );
    },
  );
});
