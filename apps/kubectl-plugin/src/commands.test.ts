/** `status` and `explain` over the fake API server: what a person reads, from the operator's rules. */
import { describe, expect, it } from "@effect/vitest";
import { OdigosResources } from "@odigos/crd-types";
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
