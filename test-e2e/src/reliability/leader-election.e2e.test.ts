// SPEC section 7: with --leader-elect only the leader writes; a killed leader is replaced once its
// lease has run out, and one stopped with SIGTERM hands the lease over without it running out.
// The bounds are judged on the Lease's own history (every version, from a watch), not on how
// fast this machine is.
import type { AuditEvent } from "@odigos/control-plane";
import type { InstrumentorProcess } from "@odigos/harness";
import { Resources } from "@odigos/kube-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, kubeClient, type Recorder, record } from "../support/history.js";
import { device } from "../support/odigos.js";
import { type FaultBed, startFaultBed } from "../support/own-control-plane.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];
const namespace = "leaders";
/** client-go's timings, which the instrumentor uses: lease duration, and its retry period. */
const leaseDurationMs = 15_000;
const retryPeriodMs = 2_000;
/**
 * After the lease has run out, a candidate takes it at its next attempt: within one retry
 * period of seeing the last renewal and one more of the lease running out, plus the requests.
 * On a loaded 2-core machine timers and requests run late: 10 s more is allowed for that.
 */
const takeoverSlackMs = 2 * retryPeriodMs + 10_000;

interface LeaseSpec {
  readonly holderIdentity?: string | null;
  readonly acquireTime?: string | null;
  readonly renewTime?: string | null;
  readonly leaseDurationSeconds?: number;
}

/** A Kubernetes MicroTime (`…T07:07:29.223000Z`) in milliseconds. */
const millis = (time: string | null | undefined): number => {
  if (time === null || time === undefined)
    throw new Error("the Lease has no time where one is due");
  return Date.parse(time.replace(/(\.\d{3})\d*Z$/, "$1Z"));
};

describe("leader election", () => {
  let bed: FaultBed;
  let client: Client;
  let lease: Recorder;
  let names: string[];
  beforeAll(async () => {
    bed = await startFaultBed();
    client = await kubeClient(bed.controlPlane.kubeconfigPath);
    lease = await record(client, Resources.Lease, bed.odigosNamespace);
    await bed.cluster.createNamespace(namespace, { "odigos.io/instrument": "true" });
    names = Array.from({ length: 30 }, (_, i) => `w-${i}`);
    for (const name of names) {
      await bed.cluster.createWorkload("Deployment", namespace, name);
      await bed.cluster.putRuntimeDetails("Deployment", namespace, name, go);
    }
  });
  afterAll(async () => {
    lease?.stop();
    client?.close();
    await bed?.stop();
  });

  /** Every version of the Lease so far. */
  const history = () =>
    lease.versions
      .filter((version) => version.type !== "DELETED")
      .map((version) => (version.object.spec ?? {}) as LeaseSpec);

  /** The identity a process campaigns under (from its "became leader" line). */
  const identityOf = async (process: InstrumentorProcess) =>
    String((await process.waitForLog((line) => line.msg === "became leader", 0)).identity);

  /** Writes to Deployments by one process, from the audit log, once `atLeast` of them are there. */
  const workloadWritesBy = async (process: InstrumentorProcess, atLeast: number) => {
    const writes = (events: readonly AuditEvent[]) =>
      events.filter(
        (event) =>
          event.stage === "ResponseComplete" &&
          ["patch", "update", "create", "delete"].includes(event.verb) &&
          event.objectRef?.resource === "deployments" &&
          process.sent(event.userAgent),
      ).length;
    // A write's audit line is written as its answer goes out: a reader can see the object first.
    return waitFor(
      async () => {
        const count = writes(await bed.controlPlane.readAuditEvents());
        return count >= atLeast ? count : undefined;
      },
      { timeoutMs: 15_000, description: `${atLeast} Deployment writes by pid ${process.pid}` },
    ).catch(async () => writes(await bed.controlPlane.readAuditEvents()));
  };

  /**
   * How leadership went from `from` to `to` in the Lease's history: the last renewal by `from`,
   * whether a version with no holder (a release) came between, and when `to` acquired it.
   */
  const handover = (from: string, to: string) => {
    const versions = history();
    const acquired = versions.findIndex((spec) => spec.holderIdentity === to);
    const lastRenewal = versions.findLastIndex(
      (spec, index) => index < acquired && spec.holderIdentity === from,
    );
    if (acquired < 0 || lastRenewal < 0)
      throw new Error(`no handover from ${from} to ${to} in ${JSON.stringify(versions)}`);
    const between = versions.slice(lastRenewal + 1, acquired);
    return {
      released: between.some((spec) => (spec.holderIdentity ?? "") === ""),
      otherHolders: between.filter((spec) => (spec.holderIdentity ?? "") !== ""),
      lastRenewalMs: millis(versions[lastRenewal]?.renewTime),
      acquiredMs: millis(versions[acquired]?.acquireTime),
      leaseDurationMs: (versions[lastRenewal]?.leaseDurationSeconds ?? 0) * 1000,
    };
  };

  it("two replicas: only the leader writes", async () => {
    const a = await bed.start(["--leader-elect"]);
    const b = await bed.start(["--leader-elect"]);
    const leader = await Promise.any(
      [a, b].map((candidate) =>
        candidate.waitForLog((line) => line.msg === "became leader", 30_000).then(() => candidate),
      ),
    );
    const follower = leader === a ? b : a;
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await bed.expectAll("Deployment", namespace, names, () => ({ app: [device("go")] }));
    expect(await workloadWritesBy(leader, names.length)).toBe(names.length);
    // The follower is a candidate that never won: it waits for the lease and starts no controller.
    expect(follower.logs.some((line) => line.msg === "waiting to become leader")).toBe(true);
    expect(follower.logs.some((line) => line.msg === "became leader")).toBe(false);
    expect(follower.logs.some((line) => line.msg === "reconciling")).toBe(false);
    expect(await workloadWritesBy(follower, 0)).toBe(0);

    // SIGTERM releases the lease: the follower takes over before the lease would have run out.
    const leaderIdentity = await identityOf(leader);
    expect(await leader.stop("SIGTERM")).toBe(0);
    expect(leader.logs.some((line) => line.msg === "released leader lease")).toBe(true);
    await follower.waitForLog((line) => line.msg === "became leader", 2 * leaseDurationMs);
    const released = handover(leaderIdentity, await identityOf(follower));
    console.log(
      `[leader-election] SIGTERM handover: acquired ${released.acquiredMs - released.lastRenewalMs} ms after the last renewal`,
    );
    expect(released.released).toBe(true);
    expect(released.otherHolders).toEqual([]);
    expect(released.acquiredMs - released.lastRenewalMs).toBeLessThan(leaseDurationMs);

    // The new leader finishes the next piece of work.
    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", false);
    await bed.expectAll("Deployment", namespace, names, () => ({}));
    expect(await workloadWritesBy(follower, names.length)).toBe(names.length);

    // A killed leader cannot hand the lease back: a candidate takes it only once it has run out
    // (a lease duration after the last renewal), and then at its next attempts.
    const third = await bed.start(["--leader-elect"]);
    const followerIdentity = await identityOf(follower);
    await third.waitForLog((line) => line.msg === "waiting to become leader");
    expect(await follower.stop("SIGKILL")).toBe("SIGKILL");
    await third.waitForLog(
      (line) => line.msg === "became leader",
      leaseDurationMs + takeoverSlackMs + 10_000,
    );
    const expired = handover(followerIdentity, await identityOf(third));
    const afterMs = expired.acquiredMs - expired.lastRenewalMs;
    console.log(
      `[leader-election] SIGKILL takeover: acquired ${afterMs} ms after the last renewal`,
    );
    expect(expired.released).toBe(false);
    expect(expired.otherHolders).toEqual([]);
    expect(expired.leaseDurationMs).toBe(leaseDurationMs);
    expect(afterMs).toBeGreaterThanOrEqual(leaseDurationMs);
    expect(afterMs).toBeLessThanOrEqual(leaseDurationMs + takeoverSlackMs);

    await bed.cluster.setCollectorsReady(bed.odigosNamespace, "data-collection", true);
    await bed.expectAll("Deployment", namespace, names, () => ({ app: [device("go")] }));
    expect(await workloadWritesBy(third, names.length)).toBe(names.length);
    expect(await third.stop("SIGTERM")).toBe(0);
  }, 180_000);
});
