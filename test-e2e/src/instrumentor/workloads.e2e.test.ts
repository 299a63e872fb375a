// SPEC sections 1 and 4: every workload kind, multi-container pods, init containers, other fields untouched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device, type WorkloadKind } from "../support/odigos.js";
import { type Scenario, startScenario } from "../support/scenario.js";

describe("workload kinds and containers (SPEC 1, 4)", () => {
  let s: Scenario;
  let ns: string;
  beforeAll(async () => {
    s = await startScenario("kinds");
    ns = await s.namespace("apps", { "odigos.io/instrument": "true" });
  });
  afterAll(async () => {
    await s.teardown();
  });

  it.each(["Deployment", "StatefulSet", "DaemonSet"] as WorkloadKind[])(
    "%s is instrumented and un-instrumented",
    async (kind) => {
      const name = `w-${kind.toLowerCase()}`;
      await s.cluster.createWorkload(kind, ns, name);
      await s.cluster.putRuntimeDetails(kind, ns, name, [
        { containerName: "app", language: "python" },
      ]);
      await s.expectDevices(kind, ns, name, { app: [device("python")] });
      const limits = (await s.cluster.readWorkload(kind, ns, name)).spec?.template.spec
        ?.containers[0]?.resources?.limits;
      expect(limits).toEqual({ [device("python")]: "1" });
      await s.cluster.annotateWorkload(kind, ns, name, { "odigos.io/instrument": "false" });
      await s.expectDevices(kind, ns, name, {});
    },
  );

  it("only containers with a language get a device; init containers and other resources are untouched", async () => {
    await s.cluster.createWorkload("Deployment", ns, "multi", {
      initContainers: [
        {
          name: "migrate",
          image: "example.invalid/migrate:1",
          resources: { limits: { cpu: "100m" } },
        },
      ],
      containers: [
        {
          name: "api",
          image: "example.invalid/api:1",
          resources: { limits: { cpu: "500m", memory: "256Mi" }, requests: { cpu: "100m" } },
        },
        { name: "worker", image: "example.invalid/worker:1" },
        { name: "sidecar", image: "example.invalid/proxy:1", env: [{ name: "MODE", value: "x" }] },
      ],
    });
    await s.cluster.putRuntimeDetails("Deployment", ns, "multi", [
      { containerName: "api", language: "java" },
      { containerName: "worker", language: "go" },
      { containerName: "ghost", language: "python" },
    ]);
    await s.expectDevices("Deployment", ns, "multi", {
      api: [device("java")],
      worker: [device("go")],
    });
    const spec = (await s.cluster.readWorkload("Deployment", ns, "multi")).spec?.template.spec;
    expect(spec?.initContainers?.[0]?.resources).toEqual({ limits: { cpu: "100m" } });
    expect(spec?.containers[0]?.resources).toEqual({
      limits: { cpu: "500m", memory: "256Mi", [device("java")]: "1" },
      requests: { cpu: "100m" },
    });
    expect(spec?.containers[2]?.resources ?? {}).toEqual({});
    expect(spec?.containers[2]?.env).toEqual([{ name: "MODE", value: "x" }]);
    // The missing container is reported, in the log and as an Event on the workload.
    await s.instrumentor.waitForLog(
      (line) => line.reason === "ContainerNotFound" && line.container === "ghost",
    );
  });

  it("un-instrumenting removes devices from limits and requests and the deprecated eBPF annotation", async () => {
    await s.cluster.createWorkload("Deployment", ns, "legacy", {
      annotations: { "instrumentation.odigos.io/ebpf": "true", "odigos.io/instrument": "false" },
      containers: [
        {
          name: "app",
          image: "example.invalid/app:1",
          resources: {
            // Extended resources may not be overcommitted: a request needs the same limit.
            limits: { [device("go")]: "1", [device("java")]: "1", cpu: "1" },
            requests: { [device("go")]: "1", [device("java")]: "1", cpu: "1" },
          },
        },
      ],
    });
    await s.expectDevices("Deployment", ns, "legacy", {});
    const workload = await s.cluster.readWorkload("Deployment", ns, "legacy");
    expect(workload.metadata?.annotations?.["instrumentation.odigos.io/ebpf"]).toBeUndefined();
    expect(workload.spec?.template.spec?.containers[0]?.resources).toEqual({
      limits: { cpu: "1" },
      requests: { cpu: "1" },
    });
  });
});
