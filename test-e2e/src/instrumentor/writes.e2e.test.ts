// SPEC sections 4 and 6: devices come back after a full replace, no write on a converged cluster, no lost edits.
import { ApiException, type V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, instrumentorWrites } from "../support/audit.js";
import { device } from "../support/odigos.js";
import { type Scenario, startScenario } from "../support/scenario.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];

describe("writing safely (SPEC 4, 6)", () => {
  let s: Scenario;
  let ns: string;
  beforeAll(async () => {
    s = await startScenario("writes");
    ns = await s.namespace("apps", { "odigos.io/instrument": "true" });
  });
  afterAll(async () => {
    await s.teardown();
  });

  it("another client replacing the whole workload without the devices gets them put back", async () => {
    await s.cluster.createWorkload("Deployment", ns, "gitops");
    await s.cluster.putRuntimeDetails("Deployment", ns, "gitops", go);
    await s.expectDevices("Deployment", ns, "gitops", { app: [device("go")] });
    // A full replace from a manifest, as `kubectl replace` or a GitOps tool sends it: retried on 409, since
    // the controller manager updates the Deployment's status concurrently.
    const manifest = (resourceVersion: string): V1Deployment => ({
      metadata: { name: "gitops", namespace: ns, resourceVersion },
      spec: {
        selector: { matchLabels: { app: "gitops" } },
        template: {
          metadata: { labels: { app: "gitops" } },
          spec: { containers: [{ name: "app", image: "example.invalid/app:2" }] },
        },
      },
    });
    await waitFor(async () => {
      const current = await s.cluster.apps.readNamespacedDeployment({
        namespace: ns,
        name: "gitops",
      });
      try {
        await s.cluster.apps.replaceNamespacedDeployment({
          namespace: ns,
          name: "gitops",
          body: manifest(current.metadata?.resourceVersion ?? ""),
        });
        return true;
      } catch (error) {
        if (error instanceof ApiException && error.code === 409) return false;
        throw error;
      }
    });
    await s.expectDevices("Deployment", ns, "gitops", { app: [device("go")] });
    const after = await s.cluster.apps.readNamespacedDeployment({ namespace: ns, name: "gitops" });
    expect(after.spec?.template.spec?.containers[0]?.image).toBe("example.invalid/app:2");
  });

  it("a converged cluster re-evaluated from scratch (a restarted instrumentor) sees no write", async () => {
    for (const name of ["quiet-a", "quiet-b"]) {
      await s.cluster.createWorkload("Deployment", ns, name);
      await s.cluster.putRuntimeDetails("Deployment", ns, name, go);
      await s.expectDevices("Deployment", ns, name, { app: [device("go")] });
    }
    await s.idle();
    const first = s.instrumentor;
    const again = await s.restart();
    // It queues every workload it lists before its workers start: once they have started and the
    // queue has drained, each of these was evaluated from its listed version.
    await again.waitForLog((line) => line.msg === "reconciling", 30_000);
    for (const name of ["gitops", "quiet-a", "quiet-b"]) await s.evaluated("Deployment", ns, name);
    const events = await auditEvents();
    expect(
      instrumentorWrites(events, again).map((event) => `${event.verb} ${event.requestURI}`),
    ).toEqual([]);
    // The audit log does see the instrumentor: the first process wrote the devices.
    expect(instrumentorWrites(events, first).length).toBeGreaterThan(0);
  });

  it("edits by another client during instrumentation are never lost", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `race-${i}`);
    await s.cluster.setCollectorsReady(s.odigosNamespace, "data-collection", false);
    for (const name of names) {
      await s.cluster.createWorkload("Deployment", ns, name);
      await s.cluster.putRuntimeDetails("Deployment", ns, name, go);
    }
    for (const name of names)
      await s.evaluated("InstrumentedApplication", ns, `deployment-${name}`);
    const ready = s.cluster.setCollectorsReady(s.odigosNamespace, "data-collection", true);
    // Meanwhile another client keeps changing image and env of the same workloads.
    const edits = Promise.all(
      names.map(async (name) => {
        for (let round = 1; round <= 5; round++) {
          await s.cluster.apps.patchNamespacedDeployment(
            {
              namespace: ns,
              name,
              body: {
                spec: {
                  template: {
                    spec: {
                      containers: [
                        {
                          name: "app",
                          image: `example.invalid/app:${round}`,
                          env: [{ name: "ROUND", value: String(round) }],
                        },
                      ],
                    },
                  },
                },
              },
            },
            strategicMerge,
          );
        }
      }),
    );
    await Promise.all([ready, edits]);
    for (const name of names) {
      await s.expectDevices("Deployment", ns, name, { app: [device("go")] });
      const container = (await s.cluster.apps.readNamespacedDeployment({ namespace: ns, name }))
        .spec?.template.spec?.containers[0];
      expect(container?.image).toBe("example.invalid/app:5");
      expect(container?.env).toEqual([{ name: "ROUND", value: "5" }]);
    }
  });
});

import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";

const strategicMerge = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
