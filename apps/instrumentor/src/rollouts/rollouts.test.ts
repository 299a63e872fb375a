/**
 * SPEC section 8 through the controller, on the fake API server (whose workloads' status a test
 * sets, as a controller manager would): the budget and its slow start, the collectors grace,
 * rollback and its record, the circuit breaker, fights with another writer, dry run, stuck
 * rollouts, and a workload that crash-loops before it is instrumented.
 */
import { describe, expect, it } from "@effect/vitest";
import {
  InstrumentorFieldManager,
  OdigosConfigName,
  OdigosResources,
  RollbackAnnotation,
  RolloutAnnotation,
} from "@odigos/crd-types";
import { type KubeObject, Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as TestClock from "effect/TestClock";
import { ClusterState } from "../cache/cluster-state.js";
import { Metrics } from "../observability/metrics.js";
import {
  completeRollout,
  devicesOf,
  evaluated,
  eventually,
  goDevice,
  idle,
  namespace,
  odigosNamespace,
  reconciles,
  runtimeDetails,
  seedOdigos,
  setCollectorsReady,
  withInstrumentor,
  workload,
} from "../test-support/harness.js";
import { DryRun } from "./dry-run.js";

const seedShop = (
  fake: FakeApiServer,
  names: ReadonlyArray<string>,
  options: { ready?: boolean } = {},
) => {
  seedOdigos(fake, options);
  fake.put(Resources.Namespace, namespace("shop", { "odigos.io/instrument": "true" }));
  for (const name of names) {
    fake.put(Resources.Deployment, workload(name));
    fake.put(
      OdigosResources.InstrumentedApplication,
      runtimeDetails("Deployment", name, [{ containerName: "app", language: "go" }]),
    );
  }
};

const instrumented = (fake: FakeApiServer, names: ReadonlyArray<string>) =>
  names.filter((name) => (devicesOf(fake, "Deployment", name).app ?? []).length > 0);

/** A pod of the Deployment's current template, as KWOK or a kubelet would report it. */
const podOf = (name: string, containerStatus: Record<string, unknown>): KubeObject => ({
  metadata: {
    name: `${name}-abc-1`,
    namespace: "shop",
    // A pod of the instrumented revision: the template label came with the device.
    labels: {
      app: name,
      "pod-template-hash": "abc",
      "instrumentor.odigos.io/instrumented": "true",
    },
    ownerReferences: [{ kind: "ReplicaSet", name: `${name}-abc`, controller: true }],
  },
  spec: { containers: [{ name: "app", resources: { limits: { [goDevice]: "1" } } }] },
  status: { phase: "Running", containerStatuses: [{ name: "app", ...containerStatus }] },
});

const crashLooping = {
  ready: false,
  restartCount: 4,
  state: { waiting: { reason: "CrashLoopBackOff" } },
};

/** The DATA_COLLECTION group `seedOdigos` makes, as the informer keys it. */
const collectors = `${odigosNamespace}/data-collection`;

/** `odigos_instrumentor_rollbacks_total` by reason, of the reasons counted (every one starts at 0). */
const rollbacksCounted = Effect.flatMap(Metrics, (metrics) =>
  Effect.promise(async () =>
    Object.fromEntries(
      (await metrics.rollbacks.get()).values
        .filter((entry) => entry.value > 0)
        .map((entry) => [entry.labels.reason, entry.value]),
    ),
  ),
);

const eventsOf = (fake: FakeApiServer, reason: string) =>
  fake.list(Resources.Event).filter((event) => event.reason === reason);

describe("rollouts", () => {
  it.scoped(
    "a mass change starts in waves of 1, then 2, never more than the budget at once",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      const names = ["a", "b", "c", "d", "e", "f"];
      seedShop(fake, names, { ready: false });
      return withInstrumentor(fake, { maxConcurrentRollouts: 2 }, (lines) =>
        Effect.gen(function* () {
          setCollectorsReady(fake, true);
          yield* evaluated(fake, lines, "CollectorsGroup", collectors);
          const first = instrumented(fake, names);
          expect(first).toHaveLength(1);
          const record = JSON.parse(
            fake.get(Resources.Deployment, first[0] ?? "", "shop")?.metadata.annotations?.[
              RolloutAnnotation
            ] ?? "{}",
          );
          expect(record).toMatchObject({ action: "instrument", generation: 2 });
          completeRollout(fake, first[0] ?? "");
          yield* eventually(() => instrumented(fake, names).length === 3, "a wave of 2");
          yield* evaluated(fake, lines, "Deployment", `shop/${first[0]}`);
          expect(instrumented(fake, names)).toHaveLength(3);
          const wave = instrumented(fake, names);
          for (const name of wave) completeRollout(fake, name);
          yield* eventually(() => instrumented(fake, names).length === 5, "2 more (the budget)");
          for (const name of wave) yield* evaluated(fake, lines, "Deployment", `shop/${name}`);
          expect(instrumented(fake, names)).toHaveLength(5);
        }),
      );
    },
  );

  it.scoped(
    "a rollout that never completes frees its slot at the deadline and is reported stuck",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["a", "b"], { ready: false });
      return withInstrumentor(
        fake,
        { maxConcurrentRollouts: 1, rolloutTimeoutMs: 60_000 },
        (lines) =>
          Effect.gen(function* () {
            setCollectorsReady(fake, true);
            yield* evaluated(fake, lines, "CollectorsGroup", collectors);
            expect(instrumented(fake, ["a", "b"])).toHaveLength(1);
            yield* TestClock.adjust(60_000);
            yield* eventually(() => instrumented(fake, ["a", "b"]).length === 2, "the second one");
            expect(lines.find((line) => line.reason === "RolloutStuck")).toMatchObject({
              level: "warn",
            });
            yield* eventually(
              () => eventsOf(fake, "RolloutStuck").length === 1,
              "a RolloutStuck Event",
            );
          }),
      );
    },
  );

  it.scoped(
    "a rollout in flight is looked at again at its deadline, not polled while nothing changes",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["a"], { ready: false });
      return withInstrumentor(fake, { rolloutTimeoutMs: 600_000 }, (lines) =>
        Effect.gen(function* () {
          setCollectorsReady(fake, true);
          yield* eventually(() => instrumented(fake, ["a"]).length === 1, "a instrumented");
          yield* evaluated(fake, lines, "Deployment", "shop/a");
          // Someone else's change that moves nothing: decided on while the rollout is in flight.
          const before = yield* reconciles;
          fake.update(Resources.Deployment, "a", "shop", { metadata: { labels: { team: "x" } } });
          const state = yield* ClusterState;
          yield* eventually(
            () =>
              state.workload({ kind: "Deployment", namespace: "shop", name: "a" })?.metadata.labels
                ?.team === "x",
            "the change in the cache",
          );
          yield* idle;
          const decided = yield* reconciles;
          expect(decided).toBeGreaterThan(before);
          yield* TestClock.adjust(599_000);
          yield* idle;
          expect(yield* reconciles).toBe(decided);
          yield* TestClock.adjust(1_000);
          yield* eventually(
            () => lines.some((line) => line.reason === "RolloutStuck"),
            "stuck at the deadline",
          );
          yield* idle;
          expect(yield* reconciles).toBe(decided + 1);
        }),
      );
    },
  );

  it.scoped(
    "collectors not ready for less than the grace period remove nothing; longer, every device goes",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["a", "b"]);
      return withInstrumentor(fake, { collectorsUnreadyGraceMs: 120_000 }, (lines) =>
        Effect.gen(function* () {
          yield* eventually(() => instrumented(fake, ["a", "b"]).length === 2, "both instrumented");
          yield* idle;
          const writes = fake.writes({ resource: "deployments" }).length;
          setCollectorsReady(fake, false);
          yield* evaluated(fake, lines, "CollectorsGroup", collectors);
          yield* TestClock.adjust(60_000);
          setCollectorsReady(fake, true);
          yield* evaluated(fake, lines, "CollectorsGroup", collectors);
          yield* TestClock.adjust(120_000);
          yield* idle;
          expect(fake.writes({ resource: "deployments" }).length).toBe(writes);
          setCollectorsReady(fake, false);
          yield* evaluated(fake, lines, "CollectorsGroup", collectors);
          yield* TestClock.adjust(119_000);
          yield* idle;
          expect(instrumented(fake, ["a", "b"])).toHaveLength(2);
          yield* TestClock.adjust(1_000);
          yield* eventually(
            () => instrumented(fake, ["a", "b"]).length === 0,
            "both un-instrumented",
          );
        }),
      );
    },
  );

  it.scoped(
    "crash-looping instrumented pods are rolled back with the reason recorded, and instrumented again when the inputs change",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["cart"]);
      return withInstrumentor(fake, { breakerThreshold: 0 }, (lines) =>
        Effect.gen(function* () {
          yield* eventually(() => instrumented(fake, ["cart"]).length === 1, "instrumented");
          fake.put(Resources.Pod, podOf("cart", crashLooping));
          yield* eventually(() => instrumented(fake, ["cart"]).length === 0, "rolled back");
          const annotations =
            fake.get(Resources.Deployment, "cart", "shop")?.metadata.annotations ?? {};
          expect(JSON.parse(annotations[RollbackAnnotation] ?? "{}")).toMatchObject({
            reason: "CrashLoopBackOff",
            container: "app",
          });
          expect(JSON.parse(annotations[RolloutAnnotation] ?? "{}")).toMatchObject({
            action: "rollback",
          });
          expect(lines.find((line) => line.reason === "CrashLoopBackOff")?.msg).toMatch(
            /^instrumentation rolled back: container app of pod cart-abc-1: CrashLoopBackOff/,
          );
          yield* eventually(() => eventsOf(fake, "RolledBack").length === 1, "a RolledBack Event");
          expect(yield* rollbacksCounted).toEqual({ CrashLoopBackOff: 1 });
          // The old pods go; the same inputs are not instrumented again.
          fake.remove(Resources.Pod, "cart-abc-1", "shop");
          yield* evaluated(fake, lines, "Pod", "shop/cart-abc-1");
          expect(instrumented(fake, ["cart"])).toEqual([]);
          // The node agent re-creates the runtime details (a new object): tried again.
          fake.remove(OdigosResources.InstrumentedApplication, "deployment-cart", "shop");
          fake.put(
            OdigosResources.InstrumentedApplication,
            runtimeDetails("Deployment", "cart", [{ containerName: "app", language: "go" }]),
          );
          yield* eventually(() => instrumented(fake, ["cart"]).length === 1, "instrumented again");
          expect(
            fake.get(Resources.Deployment, "cart", "shop")?.metadata.annotations?.[
              RollbackAnnotation
            ],
          ).toBeUndefined();
        }),
      );
    },
  );

  it.scoped(
    "pods running but never ready are rolled back at the deadline; the rollback is a rollout of its own, with its own deadline",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["cart"]);
      return withInstrumentor(fake, { breakerThreshold: 0, rolloutTimeoutMs: 60_000 }, (lines) =>
        Effect.gen(function* () {
          const state = yield* ClusterState;
          const cart = { kind: "Deployment", namespace: "shop", name: "cart" } as const;
          yield* eventually(() => instrumented(fake, ["cart"]).length === 1, "instrumented");
          fake.put(
            Resources.Pod,
            podOf("cart", { ready: false, restartCount: 0, state: { running: {} } }),
          );
          yield* eventually(
            () => state.instrumentedPods(cart).length === 1,
            "the pod not ready in the cache",
          );
          yield* idle;
          yield* TestClock.adjust(59_000);
          yield* idle;
          expect(instrumented(fake, ["cart"])).toEqual(["cart"]);
          yield* TestClock.adjust(1_000);
          yield* eventually(() => instrumented(fake, ["cart"]).length === 0, "rolled back");
          const annotations =
            fake.get(Resources.Deployment, "cart", "shop")?.metadata.annotations ?? {};
          expect(JSON.parse(annotations[RollbackAnnotation] ?? "{}")).toMatchObject({
            reason: "NotReady",
            container: "app",
            message: "container app of pod cart-abc-1 is running but not ready",
          });
          // The rollback came back through the watch and was decided on again: it is rolling,
          // in its slot, until its own deadline, not stuck at once (its write came at the deadline
          // of the rollout it undoes).
          yield* eventually(
            () => state.workload(cart)?.metadata.annotations?.[RollbackAnnotation] !== undefined,
            "the rollback in the cache",
          );
          yield* idle;
          expect(yield* rollbacksCounted).toEqual({ NotReady: 1 });
          yield* TestClock.adjust(59_000);
          yield* idle;
          expect(lines.filter((line) => line.reason === "RolloutStuck")).toEqual([]);
          completeRollout(fake, "cart");
          yield* eventually(
            () => lines.some((line) => line.reason === "RolloutComplete"),
            "the rollback's rollout complete",
          );
          expect(lines.filter((line) => line.reason === "RolloutStuck")).toEqual([]);
        }),
      );
    },
  );

  it.scoped(
    "the circuit breaker stops new instrumentation after enough rollbacks, until odigos-config changes",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["cart"]);
      return withInstrumentor(fake, { breakerThreshold: 1 }, (lines) =>
        Effect.gen(function* () {
          yield* eventually(() => instrumented(fake, ["cart"]).length === 1, "instrumented");
          fake.put(Resources.Pod, podOf("cart", crashLooping));
          yield* eventually(() => instrumented(fake, ["cart"]).length === 0, "rolled back");
          fake.put(Resources.Deployment, workload("web"));
          fake.put(
            OdigosResources.InstrumentedApplication,
            runtimeDetails("Deployment", "web", [{ containerName: "app", language: "go" }]),
          );
          yield* eventually(
            () => lines.some((line) => line.reason === "CircuitBreakerOpen"),
            "the breaker open",
          );
          yield* evaluated(fake, lines, "Deployment", "shop/web");
          yield* evaluated(fake, lines, "InstrumentedApplication", "shop/deployment-web");
          expect(instrumented(fake, ["web"])).toEqual([]);
          yield* eventually(
            () => eventsOf(fake, "CircuitBreakerOpen").length === 1,
            "an Event on odigos-config",
          );
          expect(eventsOf(fake, "CircuitBreakerOpen")[0]?.regarding).toMatchObject({
            kind: "OdigosConfiguration",
            name: OdigosConfigName,
          });
          fake.update(OdigosResources.OdigosConfiguration, OdigosConfigName, odigosNamespace, {
            metadata: { annotations: { "odigos.io/reset-breaker": "1" } },
          });
          yield* eventually(
            () => instrumented(fake, ["web"]).length === 1,
            "web instrumented after the reset",
          );
          expect(lines.some((line) => line.reason === "CircuitBreakerClosed")).toBe(true);
        }),
      );
    },
  );

  it.scoped(
    "the breaker says every time it opens and closes, in an Event too: a second opening is news, not a repeat",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["cart"]);
      const goDetails = (name: string) =>
        runtimeDetails("Deployment", name, [{ containerName: "app", language: "go" }]);
      return withInstrumentor(fake, { breakerThreshold: 1 }, (lines) =>
        Effect.gen(function* () {
          const said = (reason: string) => lines.filter((line) => line.reason === reason).length;
          const events = (reason: string) => eventsOf(fake, reason).length;
          /** `crashed` crash-loops and is rolled back; then `next` asks to be instrumented. */
          const open = (crashed: string, next: string, times: number) =>
            Effect.gen(function* () {
              yield* eventually(() => instrumented(fake, [crashed]).length === 1, crashed);
              fake.put(Resources.Pod, podOf(crashed, crashLooping));
              yield* eventually(() => instrumented(fake, [crashed]).length === 0, "rolled back");
              fake.put(Resources.Deployment, workload(next));
              fake.put(OdigosResources.InstrumentedApplication, goDetails(next));
              yield* eventually(() => said("CircuitBreakerOpen") === times, `opened ${times}`);
              yield* eventually(
                () => events("CircuitBreakerOpen") === times,
                `${times} CircuitBreakerOpen Events`,
              );
            });
          const reset = (value: string, released: string, times: number) =>
            Effect.gen(function* () {
              fake.update(OdigosResources.OdigosConfiguration, OdigosConfigName, odigosNamespace, {
                metadata: { annotations: { "odigos.io/reset-breaker": value } },
              });
              yield* eventually(() => instrumented(fake, [released]).length === 1, released);
              expect(said("CircuitBreakerClosed")).toBe(times);
              yield* eventually(
                () => events("CircuitBreakerClosed") === times,
                `${times} CircuitBreakerClosed Events`,
              );
            });
          yield* open("cart", "web", 1);
          yield* reset("1", "web", 1);
          // Within minutes, under the new odigos-config: opened and cleared again.
          yield* open("web", "api", 2);
          yield* reset("2", "api", 2);
          yield* idle;
          expect([events("CircuitBreakerOpen"), events("CircuitBreakerClosed")]).toEqual([2, 2]);
        }),
      );
    },
  );

  it.scoped(
    "puts back devices another writer removes at most the fight limit per window, then reports the writer",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seedShop(fake, ["cart"]);
      const manifest = workload("cart");
      return withInstrumentor(fake, { fightLimit: 2, fightWindowMs: 600_000 }, (lines) =>
        Effect.gen(function* () {
          const gitops = (round: number) =>
            Effect.gen(function* () {
              yield* eventually(
                () => instrumented(fake, ["cart"]).length === 1,
                `devices back (${round})`,
              );
              yield* idle;
              // The fake stamps managedFields in milliseconds, and a write by the same manager at
              // the time of the one the instrumentor saw cannot be told from it (fight.ts): under
              // load, two rounds came in one millisecond. Each replace comes in a later one.
              const previous = Date.now();
              yield* eventually(() => Date.now() > previous, "a later millisecond");
              yield* Effect.promise(() =>
                Effect.runPromise(
                  fake.client.replace(
                    Resources.Deployment,
                    { ...manifest, metadata: { ...manifest.metadata, resourceVersion: undefined } },
                    { fieldManager: "argocd-controller" },
                  ),
                ),
              );
            });
          for (let round = 0; round < 3; round++) yield* gitops(round);
          yield* eventually(
            () => lines.some((line) => line.reason === "FightDetected"),
            "the fight reported",
          );
          // The last removal, seen and decided on: not put back.
          yield* evaluated(fake, lines, "Deployment", "shop/cart");
          expect(instrumented(fake, ["cart"])).toEqual([]);
          const report = lines.find((line) => line.reason === "FightDetected");
          expect(report).toMatchObject({ level: "warn", writer: "argocd-controller", putBacks: 2 });
          expect(report?.msg).toMatch(
            /argocd-controller keeps removing the instrumentation devices.*Remedy: make argocd-controller ignore resources\.limits/,
          );
          yield* TestClock.adjust(600_000);
          yield* eventually(
            () => instrumented(fake, ["cart"]).length === 1,
            "put back after a quiet window",
          );
        }),
      );
    },
  );

  it.scoped("a dry run reports every write a real run makes, and makes none", () => {
    const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
    seedShop(fake, ["a", "b"]);
    fake.put(
      Resources.Deployment,
      workload("out", { annotations: { "odigos.io/instrument": "false" } }),
    );
    fake.put(
      OdigosResources.InstrumentedApplication,
      runtimeDetails("Deployment", "out", [{ containerName: "app", language: "go" }]),
    );
    return withInstrumentor(fake, { dryRun: true }, () =>
      Effect.gen(function* () {
        const dryRun = yield* DryRun;
        yield* eventually(
          () => dryRun.report().workloads.length === 3,
          "three workloads in the plan",
        );
        yield* idle;
        const plan = dryRun.report();
        expect(plan.totals).toEqual({ workloads: 3, instrument: 2, "delete runtime details": 1 });
        expect(plan.workloads.map((entry) => entry.name).sort()).toEqual(["a", "b", "out"]);
        expect(fake.writes()).toEqual([]);
      }),
    );
  });

  it.scoped("a workload whose pods already crash-loop is not instrumented, and says so", () => {
    const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
    seedShop(fake, []);
    fake.put(Resources.Deployment, {
      ...workload("sick"),
      status: { observedGeneration: 1, replicas: 1, availableReplicas: 0 },
    });
    fake.put(Resources.Pod, {
      ...podOf("sick", crashLooping),
      spec: { containers: [{ name: "app" }] },
    });
    fake.put(
      OdigosResources.InstrumentedApplication,
      runtimeDetails("Deployment", "sick", [{ containerName: "app", language: "go" }]),
    );
    return withInstrumentor(fake, {}, (lines) =>
      Effect.gen(function* () {
        yield* eventually(
          () => lines.some((line) => line.reason === "UnhealthyBeforeInstrumentation"),
          "the report",
        );
        yield* idle;
        expect(instrumented(fake, ["sick"])).toEqual([]);
        expect(
          fake.requests.some(
            (request) =>
              request.verb === "list" &&
              request.resource === "pods" &&
              request.namespace === "shop",
          ),
        ).toBe(true);
      }),
    );
  });
});
