import { describe, expect, it } from "vitest";
import { summarizeProfile } from "./profile.js";

describe("summarizeProfile", () => {
  it("adds self time per function and per package, without idle", () => {
    const frame = (functionName: string, url: string, lineNumber = 0) => ({
      functionName,
      url,
      lineNumber,
    });
    const summary = summarizeProfile({
      nodes: [
        { id: 1, callFrame: frame("(root)", ""), children: [2, 3, 4] },
        { id: 2, callFrame: frame("(idle)", "") },
        {
          id: 3,
          callFrame: frame(
            "reconcile",
            "file:///work/main/apps/instrumentor/dist/controller/reconciler.js",
            45,
          ),
        },
        {
          id: 4,
          callFrame: frame(
            "write",
            "file:///work/main/node_modules/.pnpm/pino@10.4.0/node_modules/pino/lib/proto.js",
            205,
          ),
        },
      ],
      samples: [2, 3, 3, 4, 2],
      timeDeltas: [0, 1000, 3000, 1000, 2000, 5000],
    });
    expect(summary.busyMs).toBe(6);
    expect(summary.bySelf[0]).toMatchObject({
      where: "reconcile apps/instrumentor/dist/controller/reconciler.js:46",
      owner: "apps/instrumentor",
      ms: 4,
    });
    expect(summary.byOwner.map((line) => line.owner)).toEqual(["apps/instrumentor", "pino"]);
  });
});
