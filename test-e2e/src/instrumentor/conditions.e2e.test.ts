// SPEC sections 3 and 4: runtime details, collectors readiness and odigos-config drive the devices.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import { type Scenario, startScenario } from "../support/scenario.js";

const optIn = { "odigos.io/instrument": "true" };

describe("runtime details (SPEC 3.2)", () => {
  let s: Scenario;
  let ns: string;
  beforeAll(async () => {
    s = await startScenario("details");
    ns = await s.namespace("apps", optIn);
  });
  afterAll(async () => {
    await s.teardown();
  });

  it("no runtime details: no devices", async () => {
    await s.cluster.createWorkload("Deployment", ns, "bare");
    await s.evaluated("Deployment", ns, "bare");
    expect(await s.cluster.devices("Deployment", ns, "bare")).toEqual({});
    await s.cluster.createWorkload("Deployment", ns, "sibling");
    await s.cluster.putRuntimeDetails("Deployment", ns, "sibling", [
      { containerName: "app", language: "go" },
    ]);
    await s.expectDevices("Deployment", ns, "sibling", { app: [device("go")] });
  });

  it("empty languages: no devices; a language appears: device; languages emptied: removed", async () => {
    await s.cluster.createWorkload("Deployment", ns, "empty");
    await s.cluster.putRuntimeDetails("Deployment", ns, "empty", []);
    await s.evaluated("Deployment", ns, "empty");
    await s.evaluated("InstrumentedApplication", ns, "deployment-empty");
    expect(await s.cluster.devices("Deployment", ns, "empty")).toEqual({});
    await s.cluster.putRuntimeDetails("Deployment", ns, "empty", [
      { containerName: "app", language: "python" },
    ]);
    await s.expectDevices("Deployment", ns, "empty", { app: [device("python")] });
    await s.cluster.putRuntimeDetails("Deployment", ns, "empty", []);
    await s.expectDevices("Deployment", ns, "empty", {});
  });

  it("a language change swaps the device", async () => {
    await s.cluster.createWorkload("Deployment", ns, "swap");
    await s.cluster.putRuntimeDetails("Deployment", ns, "swap", [
      { containerName: "app", language: "go" },
    ]);
    await s.expectDevices("Deployment", ns, "swap", { app: [device("go")] });
    await s.cluster.putRuntimeDetails("Deployment", ns, "swap", [
      { containerName: "app", language: "javascript" },
    ]);
    await s.expectDevices("Deployment", ns, "swap", { app: [device("javascript")] });
  });

  it("runtime details deleted: devices removed", async () => {
    await s.cluster.createWorkload("Deployment", ns, "gone");
    await s.cluster.putRuntimeDetails("Deployment", ns, "gone", [
      { containerName: "app", language: "dotnet" },
    ]);
    await s.expectDevices("Deployment", ns, "gone", { app: [device("dotnet")] });
    await s.cluster.deleteRuntimeDetails("Deployment", ns, "gone");
    await s.expectDevices("Deployment", ns, "gone", {});
  });
});

describe("collectors readiness (SPEC 3.3)", () => {
  let s: Scenario;
  let ns: string;
  const names = ["a", "b", "c"];
  beforeAll(async () => {
    s = await startScenario("collectors", { collectorsReady: false });
    ns = await s.namespace("apps", optIn);
    for (const name of names) {
      await s.cluster.createWorkload("Deployment", ns, name);
      await s.cluster.putRuntimeDetails("Deployment", ns, name, [
        { containerName: "app", language: "go" },
      ]);
    }
    await s.cluster.createWorkload("Deployment", ns, "not-eligible", {
      annotations: { "odigos.io/instrument": "false" },
    });
  });
  afterAll(async () => {
    await s.teardown();
  });

  it("nothing is instrumented while no data-collection group is ready (a ready gateway does not count)", async () => {
    await s.cluster.createCollectorsGroup(s.odigosNamespace, "gateway", "GATEWAY");
    await s.cluster.setCollectorsReady(s.odigosNamespace, "gateway", true);
    await s.evaluated("CollectorsGroup", s.odigosNamespace, "gateway");
    for (const name of names) await s.evaluated("Deployment", ns, name);
    for (const name of names) expect(await s.cluster.devices("Deployment", ns, name)).toEqual({});
  });

  it("collectors become ready: every eligible workload gets its devices", async () => {
    await s.cluster.setCollectorsReady(s.odigosNamespace, "data-collection", true);
    for (const name of names)
      await s.expectDevices("Deployment", ns, name, { app: [device("go")] });
    // Every reconcile the readiness change caused is done: "not-eligible" got nothing from it.
    await s.evaluated("CollectorsGroup", s.odigosNamespace, "data-collection");
    await s.evaluated("Deployment", ns, "not-eligible");
    expect(await s.cluster.devices("Deployment", ns, "not-eligible")).toEqual({});
  });

  it("collectors become not ready: all devices are removed", async () => {
    await s.cluster.setCollectorsReady(s.odigosNamespace, "data-collection", false);
    for (const name of names) await s.expectDevices("Deployment", ns, name, {});
  });

  it("ready again: all come back", async () => {
    await s.cluster.setCollectorsReady(s.odigosNamespace, "data-collection", true);
    for (const name of names)
      await s.expectDevices("Deployment", ns, name, { app: [device("go")] });
  });
});

describe("odigos-config (SPEC 4)", () => {
  let s: Scenario;
  let ns: string;
  beforeAll(async () => {
    s = await startScenario("config");
    ns = await s.namespace("apps", optIn);
    for (const name of ["one", "two"]) {
      await s.cluster.createWorkload("Deployment", ns, name);
      await s.cluster.putRuntimeDetails("Deployment", ns, name, [
        { containerName: "app", language: "java" },
      ]);
      await s.expectDevices("Deployment", ns, name, { app: [device("java")] });
    }
  });
  afterAll(async () => {
    await s.teardown();
  });

  it("a default-SDK change swaps the device on every affected workload", async () => {
    await s.cluster.putConfig(s.odigosNamespace, {
      defaultSDKs: {
        java: { sdkType: "native", sdkTier: "enterprise" },
        go: { sdkType: "ebpf", sdkTier: "community" },
      },
    });
    for (const name of ["one", "two"]) {
      await s.expectDevices("Deployment", ns, name, {
        app: [device("java", "native", "enterprise")],
      });
    }
  });

  it("a missing config adds nothing and removes nothing", async () => {
    await s.cluster.deleteConfig(s.odigosNamespace);
    await s.instrumentor.waitForLog(
      (line) => line.reason === "ConfigUnavailable" && line.workload === "one",
    );
    // Removes nothing: a newly eligible workload gets nothing, an instrumented one keeps its device.
    await s.cluster.createWorkload("Deployment", ns, "three");
    await s.cluster.putRuntimeDetails("Deployment", ns, "three", [
      { containerName: "app", language: "java" },
    ]);
    await s.instrumentor.waitForLog(
      (line) => line.reason === "ConfigUnavailable" && line.workload === "three",
    );
    expect(await s.cluster.devices("Deployment", ns, "three")).toEqual({});
    expect(await s.cluster.devices("Deployment", ns, "one")).toEqual({
      app: [device("java", "native", "enterprise")],
    });
    // Removal never needs the config.
    await s.cluster.annotateWorkload("Deployment", ns, "two", { "odigos.io/instrument": "false" });
    await s.expectDevices("Deployment", ns, "two", {});
  });

  it("the config coming back instruments what was waiting", async () => {
    await s.cluster.putConfig(s.odigosNamespace, {
      defaultSDKs: { java: { sdkType: "native", sdkTier: "community" } },
    });
    await s.expectDevices("Deployment", ns, "three", { app: [device("java")] });
    await s.expectDevices("Deployment", ns, "one", { app: [device("java")] });
  });
});
