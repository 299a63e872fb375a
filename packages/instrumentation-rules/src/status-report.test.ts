import * as Either from "effect/Either";
import { describe, expect, it } from "vitest";
import { decodeLiveView, type StatusReport } from "./status-report.js";

const report: StatusReport = {
  instrumentor: {
    at: "2026-12-05T10:00:00.000Z",
    rolloutTimeoutMs: 600_000,
    breakerOpen: true,
    collectorsGraceLeftMs: 12_000,
    dryRun: false,
  },
  summary: { byState: { Waiting: 1, Held: 1 }, byReason: {} },
  workloads: [
    {
      kind: "Deployment",
      namespace: "shop",
      name: "cart",
      state: "Waiting",
      reason: "WaitingForRolloutSlot",
      message: "m",
      devices: { present: {} },
      live: { waitingForSlot: { position: 2, inFlight: 1, limit: 1 } },
    },
    {
      kind: "StatefulSet",
      namespace: "shop",
      name: "db",
      state: "Held",
      reason: "FightPaused",
      message: "m",
      devices: { present: {} },
      live: { fight: { writer: "helm", retryAt: "2026-12-05T10:05:00.000Z" } },
    },
  ],
};

describe("decodeLiveView", () => {
  it("gives each workload the process's facts and its own", () => {
    const view = Either.getOrThrow(decodeLiveView(JSON.stringify(report)));
    expect(view.instrumentor.rolloutTimeoutMs).toBe(600_000);
    expect(view.byWorkload.get("Deployment/shop/cart")).toEqual({
      breakerOpen: true,
      collectorsGraceLeftMs: 12_000,
      dryRun: false,
      waitingForSlot: { position: 2, inFlight: 1, limit: 1 },
    });
    expect(view.byWorkload.get("StatefulSet/shop/db")?.fight).toEqual({
      writer: "helm",
      retryAt: "2026-12-05T10:05:00.000Z",
    });
  });

  it("keeps the candidates of a fight whose writer managedFields does not record", () => {
    const fight = {
      writer: "an unrecorded writer (candidates: helm, gitops)",
      candidates: ["helm", "gitops"],
      retryAt: "2026-12-05T10:05:00.000Z",
    };
    const workloads = report.workloads.map((entry) =>
      entry.name === "db" ? { ...entry, live: { fight } } : entry,
    );
    const view = Either.getOrThrow(decodeLiveView(JSON.stringify({ ...report, workloads })));
    expect(view.byWorkload.get("StatefulSet/shop/db")?.fight).toEqual(fight);
  });

  it("names what is wrong with a body that is not a status report", () => {
    expect(decodeLiveView("<html>")).toEqual(Either.left(expect.stringContaining("not JSON")));
    const missing = decodeLiveView(JSON.stringify({ workloads: [] }));
    expect(Either.isLeft(missing) && missing.left).toMatch(/instrumentor/);
    const wrong = decodeLiveView(
      JSON.stringify({ ...report, instrumentor: { ...report.instrumentor, breakerOpen: "yes" } }),
    );
    expect(Either.isLeft(wrong) && wrong.left).toMatch(/breakerOpen/);
  });
});
