// SPEC section 7: with --leader-elect only the leader writes; a killed leader is replaced within
// the lease duration, and one stopped with SIGTERM hands the lease over at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InstrumentorProcess } from "../support/instrumentor-process.js";
import { device } from "../support/odigos.js";
import { type FaultBed, startFaultBed } from "../support/own-control-plane.js";

const go = [{ containerName: "app", language: "go" as const }];
const namespace = "leaders";
const leaseDurationMs = 15_000;

describe("leader election", () => {
  let bed: FaultBed;
  let names: string[];
  beforeAll(async () => {
    bed = await startFaultBed();
    await bed.cluster.createNamespace(namespace, { "odigos.io/instrument": "true" });
    names = Array.from({ length: 30 }, (_, i) => `w-${i}`);
    for (const name of names) {
      await bed.cluster.createWorkload("Deployment", namespace, name);
      await bed.cluster.putRuntimeDetails("Deployment", namespace, name, go);
    }
  });
  afterAll(async () => {
    await bed?.stop();
  });

  /** Writes to workloads, by process, from the API server's audit log. */
  const workloadWritesBy = async (pid: number) =>
    (await bed.controlPlane.readAuditEvents()).filter(
      (event) =>
        event.stage === "ResponseComplete" &&
        ["patch", "update", "create", "delete"].includes(event.verb) &&
        event.objectRef?.resource === "deployments" &&
        (event.userAgent ?? "").endsWith(` pid/${pid}`),
    ).length;

  const leaderOf = async (candidates: InstrumentorProcess[], timeoutMs: number) => {
    const started = Date.now();
    const winner = await Promise.any(
      candidates.map((candidate) =>
        candidate
          .waitForLog((line) => line.msg === "became leader", timeoutMs)
          .then(() => candidate),
      ),
    );
    return { winner, afterMs: Date.now() - started };
  };

  it("two replicas: only the leader writes", async () => {
    const a = await bed.start(["--leader-elect"]);
    const b = await bed.start(["--leader-elect"]);
    const { winner: leader } = await leaderOf([a, b], 20_000);
    const follower = leader === a ? b : a;
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await bed.expectAll("Deployment", namespace, names, () => ({ app: [device("go")] }));
    expect(await workloadWritesBy(leader.pid)).toBe(names.length);
    expect(await workloadWritesBy(follower.pid)).toBe(0);
    expect(follower.logs.some((line) => line.msg === "waiting to become leader")).toBe(true);
    expect(follower.logs.some((line) => line.msg === "became leader")).toBe(false);

    // SIGTERM releases the lease: the follower takes over without waiting the lease out.
    const handover = Date.now();
    expect(await leader.stop("SIGTERM")).toBe(0);
    await follower.waitForLog((line) => line.msg === "became leader", leaseDurationMs);
    const tookMs = Date.now() - handover;
    expect(tookMs).toBeLessThan(leaseDurationMs / 2);
    console.log(`[leader-election] SIGTERM handover took ${tookMs} ms`);
    expect(leader.logs.some((line) => line.msg === "released leader lease")).toBe(true);

    // The new leader finishes the next piece of work.
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    await bed.expectAll("Deployment", namespace, names, () => ({}));
    expect(await workloadWritesBy(follower.pid)).toBe(names.length);

    // A killed leader is replaced within the lease duration (plus one retry period).
    const third = await bed.start(["--leader-elect"]);
    const killedAt = Date.now();
    expect(await follower.stop("SIGKILL")).toBe("SIGKILL");
    await third.waitForLog((line) => line.msg === "became leader", leaseDurationMs + 10_000);
    const takeoverMs = Date.now() - killedAt;
    console.log(`[leader-election] takeover after SIGKILL took ${takeoverMs} ms`);
    expect(takeoverMs).toBeLessThan(leaseDurationMs + 5_000);
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await bed.expectAll("Deployment", namespace, names, () => ({ app: [device("go")] }));
    expect(await workloadWritesBy(third.pid)).toBe(names.length);
    expect(await third.stop("SIGTERM")).toBe(0);
  }, 120_000);
});
