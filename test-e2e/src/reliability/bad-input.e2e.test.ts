// SPEC section 7: bad input gets a clear log line (and an Event on the object), no crash,
// and the healthy workload beside it is still instrumented.
import { ApiException, EventsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import { type Scenario, startScenario } from "../support/scenario.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];

describe("bad input (SPEC 7)", () => {
  let s: Scenario;
  let ns: string;
  let events: EventsV1Api;

  /** An Event the instrumentor recorded on `name` with this reason. */
  const expectEvent = (namespace: string, name: string, reason: string) =>
    waitFor(
      async () =>
        (await events.listNamespacedEvent({ namespace })).items.find(
          (event) =>
            event.regarding?.name === name &&
            event.reason === reason &&
            event.reportingController === "odigos.io/instrumentor",
        ),
      { timeoutMs: 15_000, description: `event ${reason} on ${namespace}/${name}` },
    );

  /** The API server itself refuses the object: it can never reach the instrumentor. */
  const expectRejected = async (create: () => Promise<unknown>) => {
    const error = await create().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(422);
  };

  beforeAll(async () => {
    s = await startScenario("bad");
    events = s.cluster.kubeConfig.makeApiClient(EventsV1Api);
    ns = await s.namespace("apps", { "odigos.io/instrument": "true" });
    await s.cluster.createWorkload("Deployment", ns, "healthy");
    await s.cluster.putRuntimeDetails("Deployment", ns, "healthy", go);
    await s.expectDevices("Deployment", ns, "healthy", { app: [device("go")] });
  });
  afterAll(async () => {
    expect(s.instrumentor.logs.filter((line) => line.level === "fatal")).toEqual([]);
    await s.teardown();
  });

  it.each([
    ["foo", "InvalidName", "has no '<kind>-' prefix"],
    ["widget-x", "InvalidName", 'has kind prefix "widget"'],
    [
      "job-migrate",
      "KindNotSupported",
      "Job apps-bad/migrate has runtime details but is not instrumented",
    ],
  ])("runtime details named %s are reported (%s), not acted on", async (name, reason, problem) => {
    await s.cluster.putRuntimeDetailsNamed(ns, name, { languages: go });
    const line = await s.instrumentor.waitForLog((l) => l.reason === reason && l.name === name);
    expect(line).toMatchObject({ kind: "InstrumentedApplication", namespace: ns, level: "warn" });
    expect(String(line.msg)).toContain(problem.replace("apps-bad", ns));
    await expectEvent(ns, name, reason);
  });

  it("runtime details for a workload that does not exist are reported and then deleted", async () => {
    await s.cluster.putRuntimeDetails("Deployment", ns, "ghost", go);
    const line = await s.instrumentor.waitForLog(
      (l) => l.reason === "WorkloadNotFound" && l.workload === "ghost",
    );
    expect(String(line.msg)).toContain("does not exist");
    await expectEvent(ns, "deployment-ghost", "WorkloadNotFound");
    await s.expectRuntimeDetails("Deployment", ns, "ghost", false, 20_000);
  });

  it("languages repeating a container and language are reported once and instrument once", async () => {
    await s.cluster.createWorkload("Deployment", ns, "twice");
    await s.cluster.putRuntimeDetails("Deployment", ns, "twice", [...go, ...go]);
    await s.expectDevices("Deployment", ns, "twice", { app: [device("go")] });
    await s.instrumentor.waitForLog((l) => l.reason === "DuplicateEntry" && l.workload === "twice");
    await expectEvent(ns, "twice", "DuplicateEntry");
  });

  it("objects the CRD schemas reject never reach the instrumentor (covered by decode unit tests)", async () => {
    await expectRejected(() =>
      s.cluster.putRuntimeDetailsNamed(ns, "deployment-x", { languages: "go" }),
    );
    await expectRejected(() =>
      s.cluster.putRuntimeDetailsNamed(ns, "deployment-y", {
        languages: [{ containerName: "app", language: "rust" }],
      }),
    );
    await expectRejected(() =>
      s.cluster.custom.createNamespacedCustomObject({
        group: "odigos.io",
        version: "v1alpha1",
        namespace: s.odigosNamespace,
        plural: "collectorsgroups",
        body: {
          apiVersion: "odigos.io/v1alpha1",
          kind: "CollectorsGroup",
          metadata: { name: "odd" },
          spec: { role: "SIDECAR" },
        },
      }),
    );
    await expectRejected(() =>
      s.cluster.createWorkload("Deployment", ns, "no-containers", { containers: [] }),
    );
  });

  it("a CollectorsGroup without status counts as not ready and breaks nothing", async () => {
    await s.cluster.createCollectorsGroup(s.odigosNamespace, "no-status", "DATA_COLLECTION");
    await s.cluster.createWorkload("Deployment", ns, "after-group");
    await s.cluster.putRuntimeDetails("Deployment", ns, "after-group", go);
    await s.expectDevices("Deployment", ns, "after-group", { app: [device("go")] });
  });

  it("annotation values of odd shape and size disable, without a crash", async () => {
    const odd = ["TRUE", " true", "true\n", "✓", "x".repeat(100_000), '{"enabled":true}'];
    for (const [index, value] of odd.entries()) {
      const name = `odd-${index}`;
      await s.cluster.createWorkload("Deployment", ns, name, {
        annotations: { "odigos.io/instrument": value },
      });
      await s.cluster.putRuntimeDetails("Deployment", ns, name, go);
    }
    for (const index of odd.keys())
      await s.expectRuntimeDetails("Deployment", ns, `odd-${index}`, false);
    for (const index of odd.keys())
      expect(await s.cluster.devices("Deployment", ns, `odd-${index}`)).toEqual({});
    await s.cluster.createWorkload("Deployment", ns, "still-healthy");
    await s.cluster.putRuntimeDetails("Deployment", ns, "still-healthy", go);
    await s.expectDevices("Deployment", ns, "still-healthy", { app: [device("go")] });
  });

  it("an odigos-config with an unknown SDK type is reported by path, and devices are left as they are", async () => {
    await s.cluster.putConfig(s.odigosNamespace, {
      defaultSDKs: { go: { sdkType: "wasm", sdkTier: "community" } },
    });
    const line = await s.instrumentor.waitForLog(
      (l) => l.reason === "Malformed" && l.kind === "OdigosConfiguration",
    );
    expect(String(line.msg)).toContain("spec.defaultSDKs.go.sdkType");
    await expectEvent(s.odigosNamespace, "odigos-config", "Malformed");
    await s.instrumentor.waitForLog(
      (l) => l.reason === "ConfigUnavailable" && l.workload === "healthy",
    );
    expect(await s.cluster.devices("Deployment", ns, "healthy")).toEqual({ app: [device("go")] });
    // Un-instrumenting still works without a usable config.
    await s.cluster.annotateWorkload("Deployment", ns, "healthy", {
      "odigos.io/instrument": "false",
    });
    await s.expectDevices("Deployment", ns, "healthy", {});
    const health = await fetch(`http://127.0.0.1:${s.instrumentor.healthPort}/healthz`);
    expect(health.status).toBe(200);
  });
});
