// SPEC section 2: opt-in markers, inheritance and ignored namespaces, on a real API server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import { type Scenario, startScenario } from "../support/scenario.js";

const go = [{ containerName: "app", language: "go" as const }];
const instrumented = { app: [device("go")] };

describe("opt-in (SPEC 2)", () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await startScenario("optin");
  });
  afterAll(async () => {
    await s.teardown();
  });

  it("a workload without a marker inherits its namespace's opt-in", async () => {
    const ns = await s.namespace("inherit", { "odigos.io/instrument": "true" });
    await s.cluster.createWorkload("Deployment", ns, "web");
    await s.cluster.putRuntimeDetails("Deployment", ns, "web", go);
    await s.expectDevices("Deployment", ns, "web", instrumented);
  });

  it("a workload's own opt-out beats its namespace's opt-in", async () => {
    const ns = await s.namespace("optout", { "odigos.io/instrument": "true" });
    await s.cluster.createWorkload("Deployment", ns, "in");
    await s.cluster.createWorkload("Deployment", ns, "out", {
      annotations: { "odigos.io/instrument": "false" },
    });
    await s.cluster.putRuntimeDetails("Deployment", ns, "in", go);
    await s.cluster.putRuntimeDetails("Deployment", ns, "out", go);
    await s.expectDevices("Deployment", ns, "in", instrumented);
    // The opted-out workload's runtime details are cleaned up (SPEC 5): it was judged, and got no device.
    await s.expectRuntimeDetails("Deployment", ns, "out", false);
    expect(await s.cluster.devices("Deployment", ns, "out")).toEqual({});
  });

  it("a workload's own opt-in beats a namespace without marker, and opting out removes the device", async () => {
    const ns = await s.namespace("own");
    await s.cluster.createWorkload("StatefulSet", ns, "db", {
      annotations: { "odigos.io/instrument": "true" },
    });
    await s.cluster.putRuntimeDetails("StatefulSet", ns, "db", go);
    await s.expectDevices("StatefulSet", ns, "db", instrumented);
    await s.cluster.annotateWorkload("StatefulSet", ns, "db", { "odigos.io/instrument": "yes" });
    await s.expectDevices("StatefulSet", ns, "db", {});
  });

  it("the legacy label opts in, and an annotation beats the label on the same object", async () => {
    const ns = await s.namespace("legacy", undefined, { "odigos-instrumentation": "enabled" });
    await s.cluster.createWorkload("Deployment", ns, "by-label");
    await s.cluster.createWorkload("Deployment", ns, "annotation-wins", {
      labels: { "odigos-instrumentation": "enabled" },
      annotations: { "odigos.io/instrument": "false" },
    });
    await s.cluster.createWorkload("Deployment", ns, "label-off", {
      labels: { "odigos-instrumentation": "disabled" },
    });
    for (const name of ["by-label", "annotation-wins", "label-off"]) {
      await s.cluster.putRuntimeDetails("Deployment", ns, name, go);
    }
    await s.expectDevices("Deployment", ns, "by-label", instrumented);
    // Not opted in: judged (their runtime details are deleted) and left without a device.
    for (const name of ["annotation-wins", "label-off"]) {
      await s.expectRuntimeDetails("Deployment", ns, name, false);
      expect(await s.cluster.devices("Deployment", ns, name)).toEqual({});
    }
    // The annotation also wins when it enables against a disabling label. The node agent reports
    // runtime details once the instrumentor has seen the opt-in (before, it would delete them again).
    await s.cluster.annotateWorkload("Deployment", ns, "label-off", {
      "odigos.io/instrument": "true",
    });
    await s.evaluated("Deployment", ns, "label-off");
    await s.cluster.putRuntimeDetails("Deployment", ns, "label-off", go);
    await s.expectDevices("Deployment", ns, "label-off", instrumented);
  });

  it("an ignored namespace is never instrumented, and becoming ignored un-instruments", async () => {
    const ns = await s.namespace("ignored", { "odigos.io/instrument": "true" });
    await s.cluster.createWorkload("Deployment", ns, "api", {
      annotations: { "odigos.io/instrument": "true" },
    });
    await s.cluster.putRuntimeDetails("Deployment", ns, "api", go);
    await s.expectDevices("Deployment", ns, "api", instrumented);
    await s.cluster.putConfig(s.odigosNamespace, {
      defaultSDKs: { go: { sdkType: "ebpf", sdkTier: "community" } },
      ignoredNamespaces: [ns],
    });
    await s.expectDevices("Deployment", ns, "api", {});
    await s.expectRuntimeDetails("Deployment", ns, "api", false);
  });

  it("the Odigos namespace itself is never instrumented", async () => {
    await s.cluster.annotateNamespace(s.odigosNamespace, { "odigos.io/instrument": "true" });
    await s.cluster.createWorkload("Deployment", s.odigosNamespace, "gateway", {
      annotations: { "odigos.io/instrument": "true" },
    });
    await s.cluster.putRuntimeDetails("Deployment", s.odigosNamespace, "gateway", go);
    await s.expectRuntimeDetails("Deployment", s.odigosNamespace, "gateway", false);
    await s.expectDevices("Deployment", s.odigosNamespace, "gateway", {});
  });
});
