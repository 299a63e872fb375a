// Faults: an API server restart mid-change, expired watches, SIGKILL mid-reconcile, concurrent editors.
// Each fault runs on a control plane of this file's own, so no other file sees it.
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { AuditEvent } from "@odigos/control-plane";
import type { InstrumentorProcess } from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { device } from "../support/odigos.js";
import { type FaultBed, startFaultBed } from "../support/own-control-plane.js";
import { waitFor } from "../support/wait-for.js";

const strategicMerge = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
const go = [{ containerName: "app", language: "go" as const }];
const withDevice = () => ({ app: [device("go")] });
const without = () => ({});

/** Successful device writes per workload, from the API server's audit log (one process's if given). */
const patchesPerWorkload = (
  events: readonly AuditEvent[],
  namespace: string,
  by?: InstrumentorProcess,
) => {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.stage !== "ResponseComplete" || event.verb !== "patch") continue;
    const agent = event.userAgent ?? "";
    if (!agent.startsWith("odigos-instrumentor/")) continue;
    if (by !== undefined && !by.sent(agent)) continue;
    if (event.objectRef?.namespace !== namespace || event.objectRef.resource !== "deployments")
      continue;
    if (event.responseStatus?.code !== 200) continue;
    const name = event.objectRef.name ?? "";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
};

/** Workloads of `namespace` whose patch by `by` got no 200 (its process was killed meanwhile). */
const cutOff = (events: readonly AuditEvent[], namespace: string, by: InstrumentorProcess) =>
  new Set(
    events
      .filter(
        (event) =>
          event.verb === "patch" &&
          event.objectRef?.namespace === namespace &&
          event.objectRef.resource === "deployments" &&
          by.sent(event.userAgent ?? "") &&
          event.responseStatus?.code !== 200,
      )
      .map((event) => event.objectRef?.name ?? ""),
  );

const seed = async (bed: FaultBed, namespace: string, count: number) => {
  await bed.cluster.createNamespace(namespace, { "odigos.io/instrument": "true" });
  const names = Array.from({ length: count }, (_, i) => `w-${i}`);
  for (const name of names) {
    await bed.cluster.createWorkload("Deployment", namespace, name);
    await bed.cluster.putRuntimeDetails("Deployment", namespace, name, go);
  }
  return names;
};

describe("faults", () => {
  let bed: FaultBed;
  beforeAll(async () => {
    bed = await startFaultBed();
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("the API server is restarted in the middle of a mass change: the instrumentor reconnects and converges", async () => {
    const names = await seed(bed, "restart", 80);
    const instrumentor = await bed.start();
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    // Kill the API server as soon as the first device lands.
    await instrumentor.waitForLog((line) => String(line.msg).startsWith("instrumented"));
    await bed.controlPlane.restartApiServer();
    await bed.expectAll("Deployment", "restart", names, withDevice);
    // It also follows changes made after the restart (the watches are live again).
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    await bed.expectAll("Deployment", "restart", names, without);
    expect(instrumentor.logs.some((line) => line.msg === "watch failed: retrying")).toBe(true);
    await instrumentor.stop("SIGTERM");
  });

  it("watches past an expired resource version re-list and still converge", async () => {
    const names = await seed(bed, "expired", 20);
    const instrumentor = await bed.start();
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await bed.expectAll("Deployment", "expired", names, withDevice);
    // A fresh API server's watch cache starts at the current revision: the older versions the
    // instrumentor resumes from are gone (410), so it must re-list.
    await bed.controlPlane.stopApiServer();
    await bed.controlPlane.startApiServer();
    await instrumentor.waitForLog((line) => String(line.msg).includes("expired (410)"), 60_000);
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    await bed.expectAll("Deployment", "expired", names, without);
    await instrumentor.stop("SIGTERM");
  });

  it("SIGKILL mid-reconcile, then a new process: converges without repeating work already done", async () => {
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    const names = await seed(bed, "killed", 120);
    const first = await bed.start(["--max-concurrent-reconciles=2"]);
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await first.waitForLog(
      (line) => String(line.msg).startsWith("instrumented") && line.namespace === "killed",
    );
    expect(await first.stop("SIGKILL")).toBe("SIGKILL");
    const second = await bed.start();
    await bed.expectAll("Deployment", "killed", names, withDevice);
    // A write's audit line goes out with its answer: a reader can see the object a moment before.
    // A patch the SIGKILL cut off may still have been written (the API server finishes a write
    // whose client is gone, and audits it without a 200): then the new process finds the device
    // there and rightly writes nothing. Every workload has a successful patch, or such a one.
    const written = (audited: readonly AuditEvent[]) =>
      new Set([
        ...patchesPerWorkload(audited, "killed").keys(),
        ...cutOff(audited, "killed", first),
      ]);
    const events = await waitFor(
      async () => {
        const audited = await bed.controlPlane.readAuditEvents();
        return written(audited).size >= names.length ? audited : undefined;
      },
      { timeoutMs: 15_000, description: "every device write of namespace killed in the audit log" },
    ).catch(async (error: Error) => {
      // Name the workloads with no successful patch, and what the audit log has of them.
      const audited = await bed.controlPlane.readAuditEvents();
      const patched = written(audited);
      const missing = names.filter((name) => !patched.has(name));
      const about = audited
        .filter(
          (event) =>
            event.objectRef?.namespace === "killed" && missing.includes(event.objectRef.name ?? ""),
        )
        .map(
          (event) =>
            `${event.objectRef?.name} ${event.verb} ${event.stage} ${event.responseStatus?.code} ${event.userAgent}`,
        );
      throw new Error(
        `${error.message}: no successful patch of ${missing.join(", ")}; their audit lines:\n${about.join("\n")}`,
      );
    });
    const done = patchesPerWorkload(events, "killed", first).size;
    const counts = patchesPerWorkload(events, "killed");
    const repeated = [...counts].filter(([, count]) => count !== 1);
    expect(repeated).toEqual([]);
    expect(written(events).size).toBe(names.length);
    // The kill really happened mid-change.
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(names.length);
    await second.stop("SIGTERM");
  });

  it("another client editing unrelated fields throughout convergence loses no edit", async () => {
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    const names = await seed(bed, "busy", 40);
    const instrumentor = await bed.start();
    let converged = false;
    let rounds = 0;
    const editor = (async () => {
      while (!converged || rounds < 3) {
        rounds++;
        await Promise.all(
          names.map((name) =>
            bed.cluster.apps.patchNamespacedDeployment(
              {
                namespace: "busy",
                name,
                body: {
                  metadata: { annotations: { "editor/round": String(rounds) } },
                  spec: {
                    template: {
                      metadata: { labels: { round: String(rounds) } },
                      spec: {
                        containers: [
                          { name: "app", env: [{ name: "ROUND", value: String(rounds) }] },
                        ],
                      },
                    },
                  },
                },
              },
              strategicMerge,
            ),
          ),
        );
      }
    })();
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await bed.expectAll("Deployment", "busy", names, withDevice);
    converged = true;
    await editor;
    const final = String(rounds);
    for (const name of names) {
      const workload = await bed.cluster.apps.readNamespacedDeployment({ namespace: "busy", name });
      expect(workload.metadata?.annotations?.["editor/round"]).toBe(final);
      expect(workload.spec?.template.metadata?.labels?.round).toBe(final);
      expect(workload.spec?.template.spec?.containers[0]?.env).toEqual([
        { name: "ROUND", value: final },
      ]);
    }
    // Still converged after the editor stopped.
    await bed.expectAll("Deployment", "busy", names, withDevice);
    await instrumentor.stop("SIGTERM");
  });
});
