/** `status` and `explain` over the fake API server: what a person reads, from the operator's rules. */
import { describe, expect, it } from "@effect/vitest";
import { OdigosResources, workloadResource } from "@odigos/crd-types";
import { type KubeObject, Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Option from "effect/Option";
import { BadTarget, explainCommand, statusCommand } from "./commands.js";

const goDevice = "instrumentation.odigos.io/go-ebpf-community";

const deployment = (
  name: string,
  annotations: Record<string, string>,
  limits: Record<string, string> = {},
): KubeObject => ({
  metadata: { name, namespace: "shop", annotations },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "app", image: "app:1", resources: { limits } }] },
    },
  },
});

const seed = () => {
  const fake = new FakeApiServer();
  fake.put(Resources.Namespace, { metadata: { name: "shop" } });
  fake.put(OdigosResources.OdigosConfiguration, {
    metadata: { name: "odigos-config", namespace: "odigos-system" },
    spec: {
      configVersion: 1,
      odigosVersion: "v1.0.0",
      defaultSDKs: { go: { sdkType: "ebpf", sdkTier: "community" } },
    },
  });
  fake.put(OdigosResources.CollectorsGroup, {
    metadata: { name: "data-collection", namespace: "odigos-system" },
    spec: { role: "DATA_COLLECTION" },
    status: { ready: true },
  });
  fake.put(
    Resources.Deployment,
    deployment("cart", { "odigos.io/instrument": "true" }, { [goDevice]: "1" }),
  );
  fake.put(Resources.Deployment, deployment("web", { "odigos.io/instrument": "true" }));
  fake.put(Resources.Deployment, deployment("legacy", {}));
  for (const name of ["cart", "web"])
    fake.put(OdigosResources.InstrumentedApplication, {
      metadata: { name: `deployment-${name}`, namespace: "shop" },
      spec: { languages: [{ containerName: "app", language: "go" }] },
    });
  // What the controller manager reports once cart's template is rolled out.
  fake.update(
    Resources.Deployment,
    "cart",
    "shop",
    {
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    },
    "status",
  );
  return fake;
};

const instrumentor = {
  odigosNamespace: "odigos-system",
  leaseName: "instrumentor.odigos.io",
  instrumentorPod: Option.none(),
} as const;
const args = { ...instrumentor, namespace: Option.some("shop"), allNamespaces: false } as const;

/** cart's pod, carrying the device, and web's, without: as the ReplicaSet controller makes them. */
const seedPods = (fake: FakeApiServer) => {
  for (const [name, limits] of [
    ["cart", { [goDevice]: "1" }],
    ["web", {}],
  ] as const)
    fake.put(Resources.Pod, {
      metadata: {
        name: `${name}-5f7c-x1`,
        namespace: "shop",
        labels: { app: name, "pod-template-hash": "5f7c" },
        ownerReferences: [{ kind: "ReplicaSet", name: `${name}-5f7c`, controller: true }],
      },
      spec: { containers: [{ name: "app", image: "app:1", resources: { limits } }] },
      status: { phase: "Running" },
    });
};

/** The leader's Lease, its pod, and its /status as the pods proxy would answer. */
const seedLeader = (fake: FakeApiServer, body: unknown) => {
  fake.put(Resources.Lease, {
    metadata: { name: "instrumentor.odigos.io", namespace: "odigos-system" },
    spec: {
      holderIdentity: "instrumentor-7b9-abc_1_x9y8z7",
      renewTime: new Date().toISOString(),
      leaseDurationSeconds: 15,
    },
  });
  fake.put(Resources.Pod, {
    metadata: { name: "instrumentor-7b9-abc", namespace: "odigos-system" },
    spec: {
      containers: [{ name: "instrumentor", ports: [{ name: "metrics", containerPort: 8080 }] }],
    },
  });
  fake.serveText(
    "/api/v1/namespaces/odigos-system/pods/instrumentor-7b9-abc:8080/proxy/status",
    JSON.stringify(body),
  );
};

describe("kubectl odigos-instrumentor", () => {
  it.effect("status -o json: every workload's state and reason, what needs a person first", () => {
    const fake = seed();
    return Effect.gen(function* () {
      const report = JSON.parse(yield* statusCommand({ ...args, output: "json" }));
      expect(report.byState).toEqual({ Waiting: 1, Instrumented: 1, NotInstrumented: 1 });
      expect(
        report.rows.map((row: { name: string; state: string; reason: string }) => [
          row.name,
          row.state,
          row.reason,
        ]),
      ).toEqual([
        ["web", "Waiting", "ChangePending"],
        ["cart", "Instrumented", "Instrumented"],
        ["legacy", "NotInstrumented", "NotOptedIn"],
      ]);
    }).pipe(Effect.provide(fake.layer));
  });

  it.effect("status: the summary, then a table; wide adds message and remedy", () => {
    const fake = seed();
    return Effect.gen(function* () {
      const text = yield* statusCommand({ ...args, output: "wide" });
      const lines = text.split("\n");
      expect(lines[0]).toBe("3 workloads: Waiting 1, Instrumented 1, NotInstrumented 1");
      expect(lines[2]).toMatch(
        /^live facts unavailable: no Lease odigos-system\/instrumentor.odigos.io: the instrumentor runs without --leader-elect/,
      );
      expect(lines[4]).toMatch(
        /^NAMESPACE\s+KIND\s+NAME\s+STATE\s+REASON\s+DEVICES\s+PODS\s+MESSAGE\s+REMEDY$/,
      );
      expect(text).toContain(
        "kubectl annotate -n shop deployment legacy odigos.io/instrument=true",
      );
      expect(text).toContain("app:go-ebpf-community");
    }).pipe(Effect.provide(fake.layer));
  });

  it.effect("explain: the chain for one workload; a wrong target says what is wrong", () => {
    const fake = seed();
    return Effect.gen(function* () {
      const text = yield* explainCommand({
        ...instrumentor,
        target: "shop/deployment/web",
        output: "table",
      });
      expect(text).toContain("state:    Waiting (ChangePending)");
      expect(text).toContain("opt-in:     yes (WorkloadEnabled)");
      expect(text).toContain("runtime details: deployment-web: app=go");
      expect(text).toContain("devices:    wanted app:go-ebpf-community; present -");
      const wrong = yield* Effect.flip(
        explainCommand({ ...instrumentor, target: "shop/job/x", output: "table" }),
      );
      expect(wrong).toBeInstanceOf(BadTarget);
      expect(wrong.message).toContain("is not NAMESPACE/KIND/NAME");
      const missing = yield* Effect.flip(
        explainCommand({ ...instrumentor, target: "shop/Deployment/nope", output: "table" }),
      );
      expect(missing.message).toBe("Deployment shop/nope not found");
    }).pipe(Effect.provide(fake.layer));
  });

  it.effect("PODS: the workload's pods that carry a device, of those it wants", () => {
    const fake = seed();
    seedPods(fake);
    return Effect.gen(function* () {
      const report = JSON.parse(yield* statusCommand({ ...args, output: "json" }));
      const pods = Object.fromEntries(
        report.rows.map((row: { name: string; pods: unknown }) => [row.name, row.pods]),
      );
      expect(pods).toEqual({
        cart: { withDevice: 1, desired: 1 },
        web: { withDevice: 0, desired: 1 },
        legacy: { withDevice: 0, desired: 1 },
      });
      const text = yield* explainCommand({
        ...instrumentor,
        target: "shop/deployment/cart",
        output: "table",
      });
      expect(text).toContain("pods:       1 of 1 wanted carry a device (cart-5f7c-x1); 0 without");
    }).pipe(Effect.provide(fake.layer));
  });

  it.effect(
    "live facts: the leader's place in line, through the Lease, its pod and the pods proxy",
    () => {
      const fake = seed();
      seedLeader(fake, {
        instrumentor: {
          at: "2026-12-05T10:00:00.000Z",
          rolloutTimeoutMs: 600_000,
          breakerOpen: false,
          collectorsGraceLeftMs: 0,
          dryRun: false,
        },
        summary: { byState: {}, byReason: {} },
        workloads: [
          {
            kind: "Deployment",
            namespace: "shop",
            name: "web",
            live: { waitingForSlot: { position: 3, inFlight: 2, limit: 2 } },
          },
        ],
      });
      return Effect.gen(function* () {
        const report = JSON.parse(yield* statusCommand({ ...args, output: "json" }));
        expect(report.live).toEqual({
          source:
            "pod odigos-system/instrumentor-7b9-abc (the leader's /status, by the pods proxy)",
          at: "2026-12-05T10:00:00.000Z",
        });
        const web = report.rows.find((row: { name: string }) => row.name === "web");
        expect([web.state, web.reason]).toEqual(["Waiting", "WaitingForRolloutSlot"]);
        expect(web.message).toContain("position 3 (2 rolling, 2 allowed)");
        const text = yield* explainCommand({
          ...instrumentor,
          target: "shop/deployment/web",
          output: "table",
        });
        expect(text).toContain(
          "instrumentor: live facts from pod odigos-system/instrumentor-7b9-abc",
        );
        expect(text).toContain("next:       writes the change when a rollout slot frees");
      }).pipe(Effect.provide(fake.layer));
    },
  );

  it.effect(
    "live facts: a refused pods proxy is said, with what the user needs, and the rest shown",
    () => {
      const fake = seed();
      seedLeader(fake, {});
      fake.failNext({ verb: "get", resource: "pods" }, 403);
      return Effect.gen(function* () {
        const report = JSON.parse(yield* statusCommand({ ...args, output: "json" }));
        expect(report.live.unavailable).toMatch(
          /get pod odigos-system\/instrumentor-7b9-abc is forbidden .*needs get on leases, pods and pods\/proxy in odigos-system/,
        );
        expect(report.total).toBe(3);
        const bad = JSON.parse(yield* statusCommand({ ...args, output: "json" }));
        expect(bad.live.unavailable).toMatch(/is not the instrumentor's \/status: .*instrumentor/);
      }).pipe(Effect.provide(fake.layer));
    },
  );
});

const Rollouts = workloadResource("Rollout");
const opted = { "odigos.io/instrument": "true" };
const goDetails = (name: string) => ({
  metadata: { name, namespace: "shop" },
  spec: { languages: [{ containerName: "app", language: "go" }] },
});

/**
 * A CronJob `nightly` carrying the device, with a running pod of its Job `nightly-29000000`; a
 * Rollout `canary` of 2 replicas to instrument; a Rollout `split` whose template is a
 * Deployment's (`spec.workloadRef`); runtime details of a Job `migrate` (a kind not handled).
 */
const seedKinds = (fake: FakeApiServer) => {
  fake.put(Resources.CronJob, {
    metadata: { name: "nightly", namespace: "shop", annotations: opted },
    spec: {
      schedule: "0 3 * * *",
      jobTemplate: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: "app", image: "app:1", resources: { limits: { [goDevice]: "1" } } },
              ],
            },
          },
        },
      },
    },
  });
  fake.put(Resources.Pod, {
    metadata: {
      name: "nightly-29000000-abcde",
      namespace: "shop",
      ownerReferences: [{ kind: "Job", name: "nightly-29000000", controller: true }],
    },
    spec: {
      containers: [{ name: "app", image: "app:1", resources: { limits: { [goDevice]: "1" } } }],
    },
    status: { phase: "Running" },
  });
  const canary = deployment("canary", opted);
  fake.put(Rollouts, {
    ...canary,
    spec: { ...(canary.spec as object), replicas: 2, strategy: { canary: {} } },
  });
  fake.put(Rollouts, {
    metadata: { name: "split", namespace: "shop", annotations: opted },
    spec: {
      replicas: 3,
      workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "split-template" },
    },
  });
  for (const name of ["cronjob-nightly", "rollout-canary", "rollout-split", "job-migrate"])
    fake.put(OdigosResources.InstrumentedApplication, goDetails(name));
};

interface Row {
  readonly kind: string;
  readonly name: string;
  readonly state: string;
  readonly reason: string;
  readonly message: string;
  readonly pods: unknown;
}

describe("CronJobs, Argo Rollouts and the kinds the instrumentor does not handle", () => {
  it.effect(
    "status: a row for each kind, what needs a person first, unsupported kinds last",
    () => {
      const fake = seed();
      seedKinds(fake);
      return Effect.gen(function* () {
        const report = JSON.parse(yield* statusCommand({ ...args, output: "json" }));
        expect(
          report.rows.map((row: Row) => [row.kind, row.name, row.state, row.reason, row.pods]),
        ).toEqual([
          ["Deployment", "web", "Waiting", "ChangePending", { withDevice: 0, desired: 1 }],
          ["Rollout", "canary", "Waiting", "ChangePending", { withDevice: 0, desired: 2 }],
          [
            "Rollout",
            "split",
            "NotInstrumented",
            "WorkloadRefNotSupported",
            { withDevice: 0, desired: 3 },
          ],
          ["CronJob", "nightly", "Instrumented", "Instrumented", { withDevice: 1, desired: null }],
          ["Deployment", "cart", "Instrumented", "Instrumented", { withDevice: 0, desired: 1 }],
          ["Deployment", "legacy", "NotInstrumented", "NotOptedIn", { withDevice: 0, desired: 1 }],
          ["Job", "migrate", "NotInstrumented", "KindNotSupported", null],
        ]);
        const job = report.rows.find((row: Row) => row.kind === "Job");
        expect(job.message).toMatch(
          /^Job is not a kind the instrumentor handles .*\(a CronJob's Jobs are instrumented through the CronJob\)$/,
        );
        const text = yield* statusCommand({ ...args, output: "table" });
        expect(text).toMatch(
          /\nshop\s+CronJob\s+nightly\s+Instrumented\s+Instrumented\s+app:go-ebpf-community\s+1\/-\n/,
        );
        expect(text).toMatch(/\nshop\s+Rollout\s+canary\s+Waiting\s+ChangePending\s+-\s+0\/2\n/);
        expect(text).toMatch(
          /\nshop\s+Job\s+migrate\s+NotInstrumented\s+KindNotSupported\s+-\s+-\n$/,
        );
      }).pipe(Effect.provide(fake.layer));
    },
  );

  it.effect("explain: a CronJob has no rollout; a Rollout's workloadRef is said, and why", () => {
    const fake = seed();
    seedKinds(fake);
    return Effect.gen(function* () {
      const cronJob = yield* explainCommand({
        ...instrumentor,
        target: "shop/cronjob/nightly",
        output: "table",
      });
      expect(cronJob).toContain("CronJob/shop/nightly\n  state:    Instrumented (Instrumented)");
      expect(cronJob).toContain("runtime details: cronjob-nightly: app=go");
      expect(cronJob).toContain(
        "rollout:    none for a CronJob: its next Job picks the template up (no record)",
      );
      expect(cronJob).toContain(
        "pods:       1 of its Jobs' pods (it wants none between runs) carry a device (nightly-29000000-abcde); 0 without",
      );
      expect(cronJob).toContain(
        "next:       nothing: its Job template carries its devices, and every Job it starts from now on runs with them",
      );
      const split = yield* explainCommand({
        ...instrumentor,
        target: "shop/Rollout/split",
        output: "table",
      });
      expect(split).toContain("state:    NotInstrumented (WorkloadRefNotSupported)");
      expect(split).toContain("remedy:   move the pod template into the Rollout's spec.template");
      expect(split).toContain(
        "template:   spec.workloadRef Deployment split-template (apps/v1): not supported",
      );
      expect(split).toContain("next:       nothing until the Rollout's pod template is its own");
      const json = JSON.parse(
        yield* explainCommand({ ...instrumentor, target: "shop/cronjob/nightly", output: "json" }),
      );
      expect(json.pods).toEqual({
        withDevice: ["nightly-29000000-abcde"],
        withoutDevice: [],
        desired: null,
      });
      const job = yield* Effect.flip(
        explainCommand({ ...instrumentor, target: "shop/job/migrate", output: "table" }),
      );
      expect(job.message).toContain("a Job is not a kind the instrumentor handles");
    }).pipe(Effect.provide(fake.layer));
  });

  it.effect("no Argo Rollouts CRD: the 404 of rollouts is no Rollouts, not an error", () => {
    const fake = seed();
    seedKinds(fake);
    // The fake serves every resource (an empty list for one it holds nothing of), so the API
    // server's answer for a group it does not serve is injected.
    fake.failNext({ verb: "list", resource: "rollouts" }, 404);
    return Effect.gen(function* () {
      const report = JSON.parse(yield* statusCommand({ ...args, output: "json" }));
      expect(report.rows.filter((row: Row) => row.kind === "Rollout")).toEqual([]);
      expect(report.total).toBe(5);
      fake.failNext({ verb: "list", resource: "rollouts" }, 404);
      const missing = yield* Effect.flip(
        explainCommand({ ...instrumentor, target: "shop/rollout/canary", output: "table" }),
      );
      expect(missing.message).toBe(
        "Rollout shop/canary not found (Argo Rollouts' CRD rollouts.argoproj.io is not installed)",
      );
    }).pipe(Effect.provide(fake.layer));
  });

  it.effect("a refused list of rollouts or cronjobs fails the command, as for any kind", () => {
    const fake = seed();
    return Effect.gen(function* () {
      for (const resource of ["rollouts", "cronjobs", "deployments"]) {
        fake.failNext({ verb: "list", resource }, 403);
        const refused = yield* Effect.flip(statusCommand({ ...args, output: "json" }));
        expect(refused.message).toMatch(
          new RegExp(`/namespaces/shop/${resource}: HTTP 403 Forbidden`),
        );
      }
    }).pipe(Effect.provide(fake.layer));
  });
});
