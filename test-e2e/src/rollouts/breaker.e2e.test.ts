// SPEC section 8's circuit breaker on a cluster with pods, with a threshold of one rollback: the
// rollback of an agent whose instrumented pods crash-loop opens it; while it is open a workload
// that asks to be instrumented gets no write (audit log), and the instrumentor says so (log line,
// metric, /status, a Warning Event on odigos-config). It is cleared by the command the README
// documents (and the instrumentor's own message gives), is still open after the instrumentor
// restarts and after a leader change (it is read from the rollback records on workloads, not
// kept in memory), and closes when odigos-config's spec changes; then the held workload is
// instrumented, and the rolled-back one is not tried again for the same inputs.
import { podStageAnnotations } from "@odigos/control-plane";
import {
  type InstrumentorProcess,
  type LogLine,
  metricSum,
  startInstrumentor,
} from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentedReset, resetBreakerByCommand } from "../support/breaker.js";
import { evaluatedBy } from "../support/evaluated.js";
import { defaultSdks, device } from "../support/odigos.js";
import {
  type PodsBed,
  rollbackOf,
  startPodsBed,
  waitForRollout,
  waitForTemplateDevices,
} from "../support/pods-cluster.js";
import { operatorStatus } from "../support/status.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];
const goDevice = device("go");
const optIn = { "odigos.io/instrument": "true" };
/** The flags of every instrumentor here: one rollback opens the breaker. */
const flags = ["--log-level=debug", "--breaker-threshold=1", "--rollback-restarts=2"];

/** Successful writes (patch, update) of an instrumentor to one Deployment, from the audit log. */
const writesTo = async (bed: PodsBed, namespace: string, name: string, since = 0) =>
  (await bed.controlPlane.readAuditEvents()).filter(
    (event) =>
      event.stage === "ResponseComplete" &&
      (event.verb === "patch" || event.verb === "update") &&
      (event.responseStatus?.code ?? 0) < 300 &&
      (event.userAgent ?? "").startsWith("odigos-instrumentor/") &&
      event.objectRef?.resource === "deployments" &&
      event.objectRef.namespace === namespace &&
      event.objectRef.name === name &&
      Date.parse((event as { stageTimestamp?: string }).stageTimestamp ?? "") >= since,
  ).length;

/** Events on odigos-config with this reason, oldest first. */
const configEvents = async (bed: PodsBed, reason: string) =>
  (
    await bed.cluster.core.listNamespacedEvent({
      namespace: bed.odigosNamespace,
      fieldSelector: `reason=${reason}`,
    })
  ).items
    .filter(
      (event) =>
        event.involvedObject.kind === "OdigosConfiguration" &&
        event.involvedObject.name === "odigos-config",
    )
    .sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? "").localeCompare(
        String(b.metadata?.creationTimestamp ?? ""),
      ),
    );

/**
 * Waits for this many CircuitBreakerOpen and CircuitBreakerClosed Events on odigos-config in all
 * (one per opening and closing each process saw), then checks there are no more, and that the
 * newest of them tells the breaker's state as it is now.
 */
const expectBreakerEvents = async (bed: PodsBed, opened: number, closed: number) => {
  const counts = async () => ({
    opened: await configEvents(bed, "CircuitBreakerOpen"),
    closed: await configEvents(bed, "CircuitBreakerClosed"),
  });
  await waitFor(
    async () => {
      const now = await counts();
      return now.opened.length >= opened && now.closed.length >= closed;
    },
    {
      timeoutMs: 30_000,
      description: `${opened} CircuitBreakerOpen and ${closed} CircuitBreakerClosed Events on odigos-config`,
    },
  ).catch(async (error: Error) => {
    const now = await counts();
    throw new Error(`${error.message}; there are ${now.opened.length} and ${now.closed.length}`);
  });
  const now = await counts();
  expect([now.opened.length, now.closed.length]).toEqual([opened, closed]);
  for (const event of now.opened) expect(event.type).toBe("Warning");
  for (const event of now.closed) expect(event.type).toBe("Normal");
  const newest = [...now.opened, ...now.closed].sort((a, b) =>
    String(a.metadata?.creationTimestamp ?? "").localeCompare(
      String(b.metadata?.creationTimestamp ?? ""),
    ),
  );
  return newest.at(-1);
};

const breakerGauge = async (process: InstrumentorProcess) =>
  metricSum(await process.metrics(), "odigos_instrumentor_circuit_breaker_open");

/** The next line of `process` matching `predicate` that it had not logged yet. */
const nextLog = (process: InstrumentorProcess, predicate: (line: LogLine) => boolean) => {
  const before = new Set(process.logs);
  return (timeoutMs = 60_000) =>
    process.waitForLog((line) => !before.has(line) && predicate(line), timeoutMs);
};

const breakerOpened = (line: LogLine) => line.reason === "CircuitBreakerOpen";
const breakerClosed = (line: LogLine) => line.reason === "CircuitBreakerClosed";

describe("the circuit breaker on a cluster with pods", { timeout: 300_000 }, () => {
  let bed: PodsBed;
  /** The instrumentor that acts now (the bed's, until a test replaces it). */
  let acting: InstrumentorProcess;
  const started: InstrumentorProcess[] = [];

  const start = async (args: readonly string[] = flags) => {
    const instrumentor = await startInstrumentor({
      kubeconfigPath: bed.controlPlane.kubeconfigPath,
      odigosNamespace: bed.odigosNamespace,
      args,
    });
    started.push(instrumentor);
    return instrumentor;
  };

  /** Stops an instrumentor as Kubernetes does (SIGTERM); it must exit 0 having logged only JSON. */
  const stop = async (instrumentor: InstrumentorProcess) => {
    expect(await instrumentor.stop("SIGTERM")).toBe(0);
    expect(instrumentor.unstructured).toEqual([]);
  };

  /** Runs the documented command to clear the breaker, as a person would. */
  const resetByCommand = () => resetBreakerByCommand(bed.controlPlane.kubeconfigPath);

  /**
   * In `ns`: `crashy`, whose instrumented pods crash-loop, is instrumented and rolled back, which
   * opens the breaker; then `held` gets its runtime details. Resolves once `acting` has evaluated
   * `held` with the breaker open.
   */
  const openBreaker = async (ns: string) => {
    await bed.cluster.createWorkload("Deployment", ns, "crashy", {
      podAnnotations: { [podStageAnnotations.crashLoopResource]: goDevice },
    });
    await bed.cluster.createWorkload("Deployment", ns, "held");
    for (const name of ["crashy", "held"])
      await waitForRollout(bed.cluster, "Deployment", ns, name, 120_000);
    // The breaker opens with the rollback that reaches the threshold, before `held` asks.
    const opened = nextLog(acting, breakerOpened);
    await bed.cluster.putRuntimeDetails("Deployment", ns, "crashy", go);
    const record = await waitFor(() => rollbackOf(bed, ns, "crashy"), {
      timeoutMs: 120_000,
      description: `${ns}/crashy rolled back`,
    });
    expect(record).toMatchObject({ container: "app" });
    await waitForTemplateDevices(bed.cluster, "Deployment", ns, "crashy", {}, 60_000);
    const line = await opened();
    await bed.cluster.putRuntimeDetails("Deployment", ns, "held", go);
    expect(line).toMatchObject({ level: "error", rollbacks: 1 });
    await evaluatedBy(acting, bed.cluster, "InstrumentedApplication", ns, "deployment-held");
    return line;
  };

  /** `process` holds `ns/held` with the breaker open: no device, no write ever, and it says so. */
  const expectHeld = async (process: InstrumentorProcess, ns: string) => {
    await evaluatedBy(process, bed.cluster, "InstrumentedApplication", ns, "deployment-held");
    expect(await bed.cluster.devices("Deployment", ns, "held")).toEqual({});
    expect(await writesTo(bed, ns, "held")).toBe(0);
    expect(await breakerGauge(process)).toBe(1);
    expect(
      (await operatorStatus(process, ns)).find((entry) => entry.name === "held"),
    ).toMatchObject({ state: "Held", reason: "CircuitBreakerOpen", remedy: documentedReset });
  };

  /** Once the breaker closed: `held` instrumented (one write), `crashy` still not tried again. */
  const expectReleased = async (process: InstrumentorProcess, ns: string, closedAt: number) => {
    await waitForTemplateDevices(
      bed.cluster,
      "Deployment",
      ns,
      "held",
      { app: [goDevice] },
      60_000,
    );
    await waitForRollout(bed.cluster, "Deployment", ns, "held", 120_000);
    await evaluatedBy(process, bed.cluster, "Deployment", ns, "held");
    // An audit line is written as the answer goes out: a reader can see the object first.
    await waitFor(async () => (await writesTo(bed, ns, "held")) >= 1, {
      timeoutMs: 15_000,
      description: `the write to ${ns}/held in the audit log`,
    });
    expect(await writesTo(bed, ns, "held")).toBe(1);
    expect(await writesTo(bed, ns, "held", closedAt)).toBe(1);
    await evaluatedBy(process, bed.cluster, "Deployment", ns, "crashy");
    expect(await bed.cluster.devices("Deployment", ns, "crashy")).toEqual({});
    expect(await breakerGauge(process)).toBe(0);
  };

  beforeAll(async () => {
    bed = await startPodsBed({ pods: { nodes: 2 }, args: flags });
    acting = bed.instrumentor;
  });
  afterAll(async () => {
    for (const process of started) await process.stop("SIGTERM");
    await bed?.stop();
  });

  it("opens on a rollback and holds every new instrumentation; the documented command clears it", async () => {
    const ns = await bed.namespace("reset", optIn);
    const opened = await openBreaker(ns);
    await expectHeld(acting, ns);
    const warning = await expectBreakerEvents(bed, 1, 0);
    expect(warning?.message).toMatch(/^circuit breaker open: 1 instrumentations rolled back/);
    // What the instrumentor tells the person to run is the command the README documents.
    expect(/\(e\.g\. (kubectl .+? --overwrite)\)/.exec(String(opened.msg))?.[1]).toBe(
      documentedReset,
    );

    const closed = nextLog(acting, breakerClosed);
    const resetAt = Date.now();
    await resetByCommand();
    await closed();
    await expectReleased(acting, ns, resetAt);
    expect((await expectBreakerEvents(bed, 1, 1))?.reason).toBe("CircuitBreakerClosed");
  });

  it("is still open after the instrumentor restarts, and after a leader change", async () => {
    const ns = await bed.namespace("persist", optIn);
    await openBreaker(ns);
    await expectHeld(acting, ns);
    // Opened again by the same process: said again.
    expect((await expectBreakerEvents(bed, 2, 1))?.reason).toBe("CircuitBreakerOpen");

    // A restart: SIGTERM, and a new process with the same flags.
    await stop(acting);
    acting = await start();
    await acting.waitForLog(breakerOpened, 60_000);
    await expectHeld(acting, ns);
    await expectBreakerEvents(bed, 3, 1);

    // Two replicas with leader election; the leader goes, the other takes over.
    await stop(acting);
    const candidates = [
      await start([...flags, "--leader-elect"]),
      await start([...flags, "--leader-elect"]),
    ];
    const leader = await Promise.any(
      candidates.map((candidate) =>
        candidate.waitForLog((line) => line.msg === "became leader", 60_000).then(() => candidate),
      ),
    );
    const follower = candidates.find((candidate) => candidate !== leader) as InstrumentorProcess;
    await leader.waitForLog(breakerOpened, 60_000);
    await expectHeld(leader, ns);
    await expectBreakerEvents(bed, 4, 1);
    expect(follower.logs.some((line) => line.msg === "became leader")).toBe(false);
    await stop(leader);
    await follower.waitForLog((line) => line.msg === "became leader", 60_000);
    acting = follower;
    await acting.waitForLog(breakerOpened, 60_000);
    await expectHeld(acting, ns);
    await expectBreakerEvents(bed, 5, 1);

    // The new leader acts: cleared, it instruments the held workload.
    const closed = nextLog(acting, breakerClosed);
    const resetAt = Date.now();
    await resetByCommand();
    await closed();
    await expectReleased(acting, ns, resetAt);
    expect((await expectBreakerEvents(bed, 5, 2))?.reason).toBe("CircuitBreakerClosed");
  });

  it("closes when odigos-config's spec changes", async () => {
    const ns = await bed.namespace("spec", optIn);
    await openBreaker(ns);
    await expectHeld(acting, ns);
    expect((await expectBreakerEvents(bed, 6, 2))?.reason).toBe("CircuitBreakerOpen");
    const closed = nextLog(acting, breakerClosed);
    const changedAt = Date.now();
    // A change of spec that moves no device: namespaces to ignore.
    await bed.cluster.putConfig(bed.odigosNamespace, {
      defaultSDKs: defaultSdks,
      ignoredNamespaces: ["nothing-here"],
    });
    await closed();
    await expectReleased(acting, ns, changedAt);
    expect((await expectBreakerEvents(bed, 6, 3))?.reason).toBe("CircuitBreakerClosed");
  });
});
