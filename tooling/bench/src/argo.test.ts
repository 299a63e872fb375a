import { decodeRollout } from "@odigos/crd-types";
import { rolloutProgress } from "@odigos/instrumentation-rules";
import * as Either from "effect/Either";
import { describe, expect, it } from "vitest";
import { argoRolloutsCrd, established, rolloutStatus } from "./argo.js";
import { planWorkloads, workloadManifest } from "./workloads.js";

describe("Argo Rollouts without a controller", () => {
  it("installs a namespaced rollouts.argoproj.io with a status subresource", () => {
    const spec = argoRolloutsCrd.spec as {
      group: string;
      scope: string;
      names: { plural: string };
      versions: Array<{ name: string; subresources: unknown }>;
    };
    expect(argoRolloutsCrd.metadata.name).toBe("rollouts.argoproj.io");
    expect([spec.group, spec.scope, spec.names.plural]).toEqual([
      "argoproj.io",
      "Namespaced",
      "rollouts",
    ]);
    expect(spec.versions[0]).toMatchObject({ name: "v1alpha1", subresources: { status: {} } });
    expect(established({ status: { conditions: [{ type: "Established", status: "True" }] } })).toBe(
      true,
    );
    expect(
      established({ status: { conditions: [{ type: "Established", status: "False" }] } }),
    ).toBe(false);
    expect(established({})).toBe(false);
  });

  it("gives a seeded Rollout a status whose rollout is complete at any generation", () => {
    const rollout = planWorkloads(20, 2, true).find((spec) => spec.kind === "Rollout");
    if (rollout === undefined) throw new Error("no Rollout");
    const manifest = workloadManifest(rollout);
    const raw = {
      ...manifest,
      metadata: { ...manifest.metadata, uid: "u", generation: 7, resourceVersion: "1" },
      status: rolloutStatus,
    };
    const decoded = decodeRollout(raw);
    if (Either.isLeft(decoded)) throw new Error(String(decoded.left));
    expect(rolloutProgress(decoded.right)._tag).toBe("Complete");
    // Without it, nothing would ever report the rollout done.
    const bare = decodeRollout({ ...raw, status: undefined });
    if (Either.isLeft(bare)) throw new Error(String(bare.left));
    expect(rolloutProgress(bare.right)._tag).not.toBe("Complete");
  });
});
