/**
 * SPEC section 8, fights, through the controller on the fake API server: who the report names.
 * A writer whose writes `managedFields` records is named; one whose writes only remove fields
 * (the API server records no entry for those) is not blamed: the report says the writer is not
 * recorded and names the workload's other field managers as candidates, most recent first.
 */
import { describe, expect, it } from "@effect/vitest";
import { InstrumentorFieldManager, OdigosResources } from "@odigos/crd-types";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Clock from "effect/Clock";
import * as Effect from "effect/Effect";
import { ClusterState } from "../cache/cluster-state.js";
import { Config } from "../config.js";
import { statusReport } from "../controller/status.js";
import {
  devicesOf,
  evaluated,
  eventually,
  type Lines,
  namespace,
  runtimeDetails,
  seedOdigos,
  withInstrumentor,
  workload,
} from "../test-support/harness.js";
import { Rollouts } from "./rollouts.js";

const instrumented = (fake: FakeApiServer) =>
  (devicesOf(fake, "Deployment", "cart").app ?? []).length > 0;

/** The containers of `cart` without the device (a merge patch replaces the whole list). */
const withoutDevice = {
  spec: { template: { spec: { containers: [{ name: "app", image: "app:1" }] } } },
};

/** Helm created `cart`, a person labelled it; then it got runtime details. */
const seed = (fake: FakeApiServer) =>
  Effect.gen(function* () {
    seedOdigos(fake);
    fake.put(Resources.Namespace, namespace("shop", { "odigos.io/instrument": "true" }));
    yield* fake.client.create(Resources.Deployment, workload("cart"), {
      namespace: "shop",
      fieldManager: "helm",
    });
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)));
    yield* fake.client.patch(
      Resources.Deployment,
      "cart",
      { type: "merge", body: { metadata: { labels: { team: "shop" } } } },
      { namespace: "shop", fieldManager: "kubectl-label" },
    );
    fake.put(
      OdigosResources.InstrumentedApplication,
      runtimeDetails("Deployment", "cart", [{ containerName: "app", language: "go" }]),
    );
  });

/** `remove` takes the device away each time it is back, until put-backs stop (limit 2). */
const fight = (fake: FakeApiServer, lines: Lines, remove: (round: number) => Effect.Effect<void>) =>
  Effect.gen(function* () {
    for (let round = 0; round < 3; round++) {
      yield* eventually(() => instrumented(fake), `devices back (${round})`);
      // The put-back came back through the watch: the next removal is a change of its own.
      yield* evaluated(fake, lines, "Deployment", "shop/cart");
      // managedFields times: a later one than the entry of the round before.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)));
      yield* remove(round);
    }
    yield* eventually(
      () => lines.some((line) => line.reason === "FightDetected"),
      "the fight reported",
    );
    return lines.find((line) => line.reason === "FightDetected");
  });

const eventsOf = (fake: FakeApiServer, reason: string) =>
  fake.list(Resources.Event).filter((event) => event.reason === reason);

/** The workload's row of `/status`. */
const statusOfCart = Effect.gen(function* () {
  const now = yield* Clock.currentTimeMillis;
  const report = statusReport(yield* ClusterState, yield* Rollouts, yield* Config, now);
  return report.workloads.find((entry) => entry.name === "cart");
});

describe("fight attribution", () => {
  it.scoped(
    "a writer whose removals managedFields does not record is not blamed: the writer is not recorded, the field managers are candidates, most recent first",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      return Effect.gen(function* () {
        yield* seed(fake);
        yield* withInstrumentor(fake, { fightLimit: 2, fightWindowMs: 600_000 }, (lines) =>
          Effect.gen(function* () {
            const report = yield* fight(fake, lines, () =>
              Effect.sync(() => {
                fake.updateUnrecorded(Resources.Deployment, "cart", "shop", withoutDevice);
              }),
            );
            // The last removal, seen and decided on: not put back.
            yield* evaluated(fake, lines, "Deployment", "shop/cart");
            expect(instrumented(fake)).toBe(false);
            // Not kubectl-label, the newest entry (and the only one the cache keeps), nor helm:
            // every field manager, read from the API server, as candidates.
            expect(report).toMatchObject({
              level: "warn",
              writer: "an unrecorded writer (candidates: kubectl-label, helm)",
              writerRecorded: false,
              candidates: ["kubectl-label", "helm"],
              putBacks: 2,
            });
            const message = String(report?.msg);
            expect(message).toMatch(/^another writer keeps removing the instrumentation devices/);
            expect(message).not.toMatch(/(kubectl-label|helm) keeps removing/);
            expect(message).toMatch(
              /the writer is not recorded: .*candidates, most recent first, not confirmed: kubectl-label, helm/,
            );
            expect(message).toMatch(/Remedy: find the writer \(candidates: kubectl-label, helm;/);
            expect(eventsOf(fake, "FightDetected").map((event) => event.note)).toEqual([message]);
            expect(
              fake.requests.filter(
                (request) =>
                  request.verb === "list" &&
                  request.resource === "deployments" &&
                  request.namespace === "shop",
              ),
            ).toHaveLength(1);
            const putBacks = lines.filter(
              (line) => line.reason === "DevicesRemovedByAnotherWriter",
            );
            expect(putBacks.map((line) => line.writerRecorded)).toEqual([false, false]);
            const status = yield* statusOfCart;
            expect(status).toMatchObject({ state: "Held", reason: "FightPaused" });
            expect(status?.message).toMatch(
              /^an unrecorded writer \(candidates: kubectl-label, helm\) keeps removing the devices/,
            );
            expect(status?.remedy).toMatch(/^find the writer/);
            expect(status?.live?.fight).toMatchObject({
              writer: "an unrecorded writer (candidates: kubectl-label, helm)",
              candidates: ["kubectl-label", "helm"],
            });
          }),
        );
      });
    },
  );

  it.scoped("a writer whose writes managedFields records is named as the writer", () => {
    const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
    return Effect.gen(function* () {
      yield* seed(fake);
      yield* withInstrumentor(fake, { fightLimit: 2, fightWindowMs: 600_000 }, (lines) =>
        Effect.gen(function* () {
          // A deploy script that replaces the template and stamps its revision: it takes a field.
          const report = yield* fight(fake, lines, (round) =>
            Effect.asVoid(
              Effect.orDie(
                fake.client.patch(
                  Resources.Deployment,
                  "cart",
                  {
                    type: "merge",
                    body: {
                      ...withoutDevice,
                      metadata: { annotations: { "deploy.example/revision": String(round) } },
                    },
                  },
                  { namespace: "shop", fieldManager: "deploy-script" },
                ),
              ),
            ),
          );
          yield* evaluated(fake, lines, "Deployment", "shop/cart");
          expect(instrumented(fake)).toBe(false);
          expect(report).toMatchObject({
            writer: "deploy-script",
            writerRecorded: true,
            putBacks: 2,
          });
          expect(report).not.toHaveProperty("candidates");
          expect(String(report?.msg)).toMatch(
            /^deploy-script keeps removing the instrumentation devices.*Remedy: make deploy-script ignore resources\.limits/,
          );
          expect(String(report?.msg)).not.toMatch(/not recorded/);
          // A recorded writer needs no list of field managers.
          expect(
            fake.requests.some(
              (request) => request.verb === "list" && request.namespace === "shop",
            ),
          ).toBe(false);
          const status = yield* statusOfCart;
          expect(status?.message).toMatch(/^deploy-script keeps removing the devices/);
          expect(status?.live?.fight).not.toHaveProperty("candidates");
        }),
      );
    });
  });
});
