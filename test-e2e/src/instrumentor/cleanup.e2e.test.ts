// SPEC section 5: runtime details and the reported-name annotation go when a workload is not opted in.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import { type Scenario, startScenario } from "../support/scenario.js";

const go = [{ containerName: "app", language: "go" as const }];

describe("cleanup of runtime details (SPEC 5)", () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await startScenario("cleanup");
  });
  afterAll(async () => {
    await s.teardown();
  });

  it("opting a workload out deletes its runtime details and its odigos.io/reported-name annotation", async () => {
    const ns = await s.namespace("optout");
    await s.cluster.createWorkload("Deployment", ns, "shop", {
      annotations: { "odigos.io/instrument": "true", "odigos.io/reported-name": "Shop" },
    });
    await s.cluster.putRuntimeDetails("Deployment", ns, "shop", go);
    await s.expectDevices("Deployment", ns, "shop", { app: [device("go")] });
    await s.cluster.annotateWorkload("Deployment", ns, "shop", { "odigos.io/instrument": "false" });
    await s.expectDevices("Deployment", ns, "shop", {});
    await s.expectRuntimeDetails("Deployment", ns, "shop", false);
    await expect
      .poll(
        async () =>
          (await s.cluster.readWorkload("Deployment", ns, "shop")).metadata?.annotations?.[
            "odigos.io/reported-name"
          ],
        { timeout: 15_000 },
      )
      .toBeUndefined();
    // Only that annotation went: the user's own marker is left as it was.
    const annotations =
      (await s.cluster.readWorkload("Deployment", ns, "shop")).metadata?.annotations ?? {};
    expect(annotations["odigos.io/instrument"]).toBe("false");
  });

  it("removing a namespace's marker cleans every workload in it that does not opt itself in", async () => {
    const ns = await s.namespace("nsmarker", { "odigos.io/instrument": "true" });
    for (const name of ["a", "b"]) {
      await s.cluster.createWorkload("Deployment", ns, name);
      await s.cluster.putRuntimeDetails("Deployment", ns, name, go);
    }
    await s.cluster.createWorkload("DaemonSet", ns, "self", {
      annotations: { "odigos.io/instrument": "true" },
    });
    await s.cluster.putRuntimeDetails("DaemonSet", ns, "self", go);
    for (const name of ["a", "b"])
      await s.expectDevices("Deployment", ns, name, { app: [device("go")] });
    await s.expectDevices("DaemonSet", ns, "self", { app: [device("go")] });

    await s.cluster.annotateNamespace(ns, { "odigos.io/instrument": null });
    for (const name of ["a", "b"]) {
      await s.expectDevices("Deployment", ns, name, {});
      await s.expectRuntimeDetails("Deployment", ns, name, false);
    }
    // The namespace change queued every workload in it: once all are done, "self" was judged too.
    await s.evaluated("Namespace", undefined, ns);
    expect(await s.cluster.runtimeDetailsExists("DaemonSet", ns, "self")).toBe(true);
    expect(await s.cluster.devices("DaemonSet", ns, "self")).toEqual({ app: [device("go")] });
  });

  it("runtime details re-created for an opted-out workload are deleted again", async () => {
    const ns = await s.namespace("recreate");
    await s.cluster.createWorkload("StatefulSet", ns, "db", {
      annotations: { "odigos.io/instrument": "false" },
    });
    await s.cluster.putRuntimeDetails("StatefulSet", ns, "db", go);
    await s.expectRuntimeDetails("StatefulSet", ns, "db", false);
    await s.cluster.putRuntimeDetails("StatefulSet", ns, "db", go);
    await s.expectRuntimeDetails("StatefulSet", ns, "db", false);
    expect(await s.cluster.devices("StatefulSet", ns, "db")).toEqual({});
  });

  it("deleting a workload deletes its runtime details", async () => {
    const ns = await s.namespace("deleted", { "odigos.io/instrument": "true" });
    await s.cluster.createWorkload("Deployment", ns, "temp");
    await s.cluster.putRuntimeDetails("Deployment", ns, "temp", go);
    await s.expectDevices("Deployment", ns, "temp", { app: [device("go")] });
    await s.cluster.deleteWorkload("Deployment", ns, "temp");
    await s.expectRuntimeDetails("Deployment", ns, "temp", false, 20_000);
  });

  it("the runtime details of an opted-in workload are never deleted", async () => {
    const ns = await s.namespace("keep", { "odigos.io/instrument": "true" });
    await s.cluster.createWorkload("Deployment", ns, "kept");
    await s.cluster.putRuntimeDetails("Deployment", ns, "kept", go);
    await s.expectDevices("Deployment", ns, "kept", { app: [device("go")] });
    await s.cluster.setCollectorsReady(s.odigosNamespace, "data-collection", false);
    await s.expectDevices("Deployment", ns, "kept", {});
    // The removal came back through the watch and was evaluated again: nothing more follows.
    await s.evaluated("Deployment", ns, "kept");
    expect(await s.cluster.runtimeDetailsExists("Deployment", ns, "kept")).toBe(true);
    await s.cluster.setCollectorsReady(s.odigosNamespace, "data-collection", true);
  });
});
