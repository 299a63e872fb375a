/**
 * The kinds beyond the seed's three, through the controller on the fake API server: a CronJob's
 * devices go into its Job template with no rollout (no slot, no record); Argo Rollouts are
 * watched only while their CRD is established, handled like Deployments then, and one whose
 * template is another object's is never written.
 */
import { describe, expect, it } from "@effect/vitest";
import {
  ArgoRolloutsCrd,
  InstrumentorFieldManager,
  OdigosResources,
  RolloutAnnotation,
  type WorkloadKind,
  workloadResource,
} from "@odigos/crd-types";
import { type KubeObject, Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import {
  devicesOf,
  evaluated,
  eventually,
  goDevice,
  namespace,
  runtimeDetails,
  seedOdigos,
  withInstrumentor,
  workload,
} from "../test-support/harness.js";

const Rollout = workloadResource("Rollout");
const CronJob = workloadResource("CronJob");
const template = { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "app" }] } };

const cronJob = (name: string): KubeObject => ({
  metadata: { name, namespace: "shop" },
  spec: { schedule: "* * * * *", jobTemplate: { spec: { template } } },
});

const rollout = (name: string, spec: Record<string, unknown> = { template }): KubeObject => ({
  metadata: { name, namespace: "shop" },
  spec: { replicas: 2, strategy: { canary: { steps: [{ setWeight: 50 }] } }, ...spec },
});

const crd = (established: boolean): KubeObject => ({
  metadata: { name: ArgoRolloutsCrd },
  spec: { group: "argoproj.io", names: { kind: "Rollout", plural: "rollouts" } },
  status: { conditions: [{ type: "Established", status: established ? "True" : "False" }] },
});

/** Every device in the stored workload's pod template, whatever the container. */
const devices = (fake: FakeApiServer, kind: WorkloadKind, name: string) =>
  Object.values(devicesOf(fake, kind, name)).flat();

const seed = (fake: FakeApiServer) => {
  seedOdigos(fake);
  fake.put(Resources.Namespace, namespace("shop", { "odigos.io/instrument": "true" }));
};

const go = [{ containerName: "app", language: "go" as const }];

describe("workload kinds", () => {
  it.scoped(
    "a CronJob gets its device in the Job template at once: no rollout slot, no rollout record",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seed(fake);
      // The only rollout slot is taken by a Deployment whose rollout never completes.
      fake.put(Resources.Deployment, workload("stuck"));
      fake.put(OdigosResources.InstrumentedApplication, runtimeDetails("Deployment", "stuck", go));
      fake.put(CronJob, cronJob("nightly"));
      return withInstrumentor(fake, { maxConcurrentRollouts: 1 }, (lines) =>
        Effect.gen(function* () {
          yield* eventually(() => devices(fake, "Deployment", "stuck"), "the stuck rollout");
          fake.put(
            OdigosResources.InstrumentedApplication,
            runtimeDetails("CronJob", "nightly", go),
          );
          yield* eventually(
            () => devices(fake, "CronJob", "nightly").includes(goDevice),
            "the CronJob's device",
          );
          const stored = fake.get(CronJob, "nightly", "shop");
          expect(stored?.metadata.annotations?.[RolloutAnnotation]).toBeUndefined();
          const spec = stored?.spec as
            | { jobTemplate: { spec: { template: typeof template } } }
            | undefined;
          expect(spec?.jobTemplate.spec.template.metadata.labels).toEqual({
            app: "x",
            "instrumentor.odigos.io/instrumented": "true",
          });
          const patch = fake.writes({ verb: "patch", resource: "cronjobs" });
          expect(patch).toHaveLength(1);
          // Opted out, the device goes the same way.
          fake.update(CronJob, "nightly", "shop", {
            metadata: { annotations: { "odigos.io/instrument": "false" } },
          });
          yield* eventually(
            () => devices(fake, "CronJob", "nightly").length === 0,
            "the device removed",
          );
          yield* evaluated(fake, lines, "CronJob", "shop/nightly");
          expect(fake.writes({ resource: "jobs" })).toEqual([]);
        }),
      );
    },
  );

  it.scoped(
    "Argo Rollouts are watched only while their CRD is established, then instrumented like Deployments",
    () => {
      const fake = new FakeApiServer({ fieldManager: InstrumentorFieldManager });
      seed(fake);
      fake.put(Rollout, rollout("checkout"));
      fake.put(OdigosResources.InstrumentedApplication, runtimeDetails("Rollout", "checkout", go));
      fake.put(
        Rollout,
        rollout("referenced", { workloadRef: { kind: "Deployment", name: "web" } }),
      );
      fake.put(
        OdigosResources.InstrumentedApplication,
        runtimeDetails("Rollout", "referenced", go),
      );
      const rolloutRequests = () =>
        fake.requests.filter((request) => request.resource === "rollouts");
      return withInstrumentor(fake, {}, (lines) =>
        Effect.gen(function* () {
          // Without the CRD: no request for Rollouts, no write, and their runtime details kept.
          yield* evaluated(fake, lines, "InstrumentedApplication", "shop/rollout-checkout");
          expect(rolloutRequests()).toEqual([]);
          expect(fake.writes()).toEqual([]);

          fake.put(Resources.CustomResourceDefinition, crd(false));
          yield* evaluated(fake, lines, "CustomResourceDefinition", ArgoRolloutsCrd);
          expect(rolloutRequests()).toEqual([]);

          fake.put(Resources.CustomResourceDefinition, crd(true));
          yield* eventually(
            () => devices(fake, "Rollout", "checkout").includes(goDevice),
            "the Rollout's device",
          );
          const stored = fake.get(Rollout, "checkout", "shop");
          expect(stored?.metadata.annotations?.[RolloutAnnotation]).toContain('"instrument"');
          yield* evaluated(fake, lines, "Rollout", "shop/referenced");
          expect(fake.writes({ resource: "rollouts", name: "referenced" })).toEqual([]);

          fake.remove(Resources.CustomResourceDefinition, ArgoRolloutsCrd);
          yield* eventually(
            () => lines.some((line) => line.reason === "ArgoRolloutsRemoved"),
            "Rollouts no longer watched",
          );
          expect(fake.writes({ resource: "instrumentedapplications" })).toEqual([]);
        }),
      );
    },
  );
});
