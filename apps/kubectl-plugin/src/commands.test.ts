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

const args = {
  namespace: Option.some("shop"),
  allNamespaces: false,
  odigosNamespace: "odigos-system",
} as const;

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
      expect(lines[3]).toMatch(
        /^NAMESPACE\s+KIND\s+NAME\s+STATE\s+REASON\s+DEVICES\s+MESSAGE\s+REMEDY$/,
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
        target: "shop/deployment/web",
        output: "table",
        odigosNamespace: "odigos-system",
      });
      expect(text).toContain("state:    Waiting (ChangePending)");
      expect(text).toContain("opt-in:     yes (WorkloadEnabled)");
      expect(text).toContain("runtime details: deployment-web: app=go");
      expect(text).toContain("devices:    wanted app:go-ebpf-community; present -");
      const wrong = yield* Effect.flip(
        explainCommand({ target: "shop/job/x", output: "table", odigosNamespace: "odigos-system" }),
      );
      expect(wrong).toBeInstanceOf(BadTarget);
      expect(wrong.message).toContain("is not NAMESPACE/KIND/NAME");
      const missing = yield* Effect.flip(
        explainCommand({
          target: "shop/Deployment/nope",
          output: "table",
          odigosNamespace: "odigos-system",
        }),
      );
      expect(missing.message).toBe("Deployment shop/nope not found");
    }).pipe(Effect.provide(fake.layer));
  });
});
