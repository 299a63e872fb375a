import { describe, expect, it } from "@effect/vitest";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import * as Layer from "effect/Layer";
import * as Scope from "effect/Scope";
import * as TestClock from "effect/TestClock";
import { Log } from "../observability/log.js";
import { capturingLogger, eventually } from "../test-support/harness.js";
import { type LeaseOptions, makeLeaderElection } from "./lease.js";

const options = (identity: string): LeaseOptions => ({
  namespace: "odigos-system",
  name: "instrumentor.odigos.io",
  identity,
  leaseDurationSeconds: 15,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
});

const holderOf = (fake: FakeApiServer) =>
  fake.get(Resources.Lease, "instrumentor.odigos.io", "odigos-system")?.spec as
    | { holderIdentity?: string | null; leaseTransitions?: number; renewTime?: string }
    | undefined;

/** An elector for `identity` in its own scope, over `fake`; its log lines are kept. */
const elector = (fake: FakeApiServer, identity: string) =>
  Effect.gen(function* () {
    const { logger, lines } = capturingLogger();
    const scope = yield* Scope.make();
    const election = yield* makeLeaderElection(options(identity)).pipe(
      Scope.extend(scope),
      Effect.provide(Layer.merge(fake.layer, Layer.succeed(Log, logger))),
    );
    return { election, lines, close: Scope.close(scope, Exit.void) };
  });

describe("leader election", () => {
  it.effect("takes a free lease, renews it every retry period, and hands it back on close", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      const a = yield* elector(fake, "a");
      yield* a.election.acquire;
      expect(a.election.isLeader()).toBe(true);
      expect(holderOf(fake)).toMatchObject({ holderIdentity: "a", leaseTransitions: 0 });
      const version = fake.get(Resources.Lease, "instrumentor.odigos.io", "odigos-system")?.metadata
        .resourceVersion;
      yield* TestClock.adjust(2_000);
      yield* eventually(
        () =>
          fake.get(Resources.Lease, "instrumentor.odigos.io", "odigos-system")?.metadata
            .resourceVersion !== version,
        "a renewal",
      );
      yield* a.close;
      expect(holderOf(fake)?.holderIdentity).toBeNull();
      expect(a.lines.some((line) => line.msg === "released leader lease")).toBe(true);
    }),
  );

  it.effect(
    "waits while another replica renews, and takes over at its next try once it is handed back",
    () =>
      Effect.gen(function* () {
        const fake = new FakeApiServer();
        const a = yield* elector(fake, "a");
        yield* a.election.acquire;
        const b = yield* elector(fake, "b");
        const campaign = yield* Effect.fork(b.election.acquire);
        // a renews every 2 s: b never sees an expired lease.
        for (let i = 0; i < 10; i++) yield* TestClock.adjust(2_000);
        expect(campaign.unsafePoll()).toBeNull();
        yield* a.close;
        yield* TestClock.adjust(2_000);
        yield* Fiber.join(campaign);
        expect(holderOf(fake)).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
        yield* b.close;
      }),
  );

  it.effect("a holder that stops renewing is taken over only after the lease duration", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      fake.put(Resources.Lease, {
        metadata: { name: "instrumentor.odigos.io", namespace: "odigos-system" },
        spec: {
          holderIdentity: "dead",
          leaseDurationSeconds: 15,
          renewTime: "2026-01-01T00:00:00.000000Z",
          leaseTransitions: 3,
        },
      });
      const b = yield* elector(fake, "b");
      const campaign = yield* Effect.fork(b.election.acquire);
      for (let i = 0; i < 7; i++) yield* TestClock.adjust(2_000);
      expect(campaign.unsafePoll()).toBeNull();
      yield* TestClock.adjust(2_000);
      yield* Fiber.join(campaign);
      expect(holderOf(fake)).toMatchObject({ holderIdentity: "b", leaseTransitions: 4 });
      yield* b.close;
    }),
  );

  it.effect("reports leadership lost when renewals fail past the renew deadline", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      const a = yield* elector(fake, "a");
      yield* a.election.acquire;
      fake.failNext({ resource: "leases" }, 500, 1_000);
      const lost = yield* Effect.fork(a.election.lost);
      for (let i = 0; i < 5; i++) yield* TestClock.adjust(2_000);
      expect(lost.unsafePoll()).toBeNull();
      yield* TestClock.adjust(2_000);
      yield* Fiber.join(lost);
      expect(a.election.isLeader()).toBe(false);
      expect(a.lines.find((line) => line.msg === "leader election lost")).toMatchObject({
        level: "error",
      });
      yield* a.close;
    }),
  );

  it.effect("a forbidden lease is a warning naming the lease, at most once a minute", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      fake.failNext({ resource: "leases" }, 403, 1_000);
      const a = yield* elector(fake, "a");
      const campaign = yield* Effect.fork(a.election.acquire);
      for (let i = 0; i < 10; i++) yield* TestClock.adjust(2_000);
      const warnings = a.lines.filter((line) => line.reason === "Forbidden");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        level: "warn",
        lease: "instrumentor.odigos.io",
        namespace: "odigos-system",
      });
      yield* Fiber.interrupt(campaign);
      yield* a.close;
    }),
  );
});
