import { InstrumentorFieldManager, type ManagedFieldsEntry } from "@odigos/crd-types";
import { describe, expect, it } from "vitest";
import {
  attributeRemoval,
  describeFightWriter,
  type FightWriter,
  fightCandidates,
  fightRemedy,
  fightWriterOf,
  type OwnDeviceWrite,
} from "./fight.js";

const entry = (manager: string, time: string, subresource?: string): ManagedFieldsEntry => ({
  manager,
  operation: "Update",
  time,
  ...(subresource === undefined ? {} : { subresource }),
});
const at = (time: string) => Date.parse(time);

// The Deployment as a user had it: created by Helm, labelled by hand, reported on by the
// controller manager; the instrumentor wrote its devices at 10:00:05.400 (from a copy whose
// newest other write was kubectl-label's).
const helm = entry("helm", "2026-12-05T09:00:00Z");
const label = entry("kubectl-label", "2026-12-05T09:30:00Z");
const controller = entry("kube-controller-manager", "2026-12-05T10:00:06Z", "status");
const ours = entry(InstrumentorFieldManager, "2026-12-05T10:00:05Z");
const own: OwnDeviceWrite = {
  at: at("2026-12-05T10:00:05.400Z"),
  newestOther: { manager: "kubectl-label", time: label.time },
};

describe("attributeRemoval", () => {
  it("names the writer of an entry newer than the instrumentor's write", () => {
    const gitops = entry("argocd-controller", "2026-12-05T10:00:09Z");
    expect(attributeRemoval(own, [helm, label, controller, ours, gitops])).toEqual({
      _tag: "Recorded",
      manager: "argocd-controller",
    });
  });

  it("says the writer is not recorded when no entry is newer, and names every other manager as a candidate, most recent first", () => {
    // A JSON Patch that removed the device left no entry: the newest is the one seen at the write.
    expect(attributeRemoval(own, [helm, label, controller, ours])).toEqual({
      _tag: "Unrecorded",
      candidates: ["kubectl-label", "helm"],
    });
    // Its removal took every field the instrumentor had: its entry is gone too.
    expect(attributeRemoval(own, [helm, label, controller])).toEqual({
      _tag: "Unrecorded",
      candidates: ["kubectl-label", "helm"],
    });
  });

  it("tells a write in the second the instrumentor wrote in from the entry it saw then", () => {
    // 10:00:05 is the second of the write: a new manager's entry of that second came after it
    // (the write's resourceVersion precondition kept any other write from coming between).
    const sameSecond = entry("kubectl-edit", "2026-12-05T10:00:05Z");
    expect(attributeRemoval(own, [helm, label, ours, sameSecond])).toEqual({
      _tag: "Recorded",
      manager: "kubectl-edit",
    });
    // The entry it saw, unchanged, is no new write, even of that same second: a second write by
    // the same manager within it cannot be told apart, so it is a candidate, not the writer.
    const seenThen: OwnDeviceWrite = {
      at: at("2026-12-05T10:00:05.400Z"),
      newestOther: { manager: "kubectl-edit", time: sameSecond.time },
    };
    expect(attributeRemoval(seenThen, [helm, ours, sameSecond])).toEqual({
      _tag: "Unrecorded",
      candidates: ["kubectl-edit", "helm"],
    });
  });

  it("does not blame an older entry that surfaced because a newer writer's fields were all removed", () => {
    // kubectl-label's entry vanished (the remover's PUT dropped its label): helm's is the newest
    // now, but it is older than the instrumentor's write.
    expect(attributeRemoval(own, [helm, controller])).toEqual({
      _tag: "Unrecorded",
      candidates: ["helm"],
    });
    // The same with the instrumentor's clock a second behind the API server's: not older than
    // the second of the write by that clock, but older than the entry seen then.
    const behind: OwnDeviceWrite = {
      at: at("2026-12-05T09:29:59.500Z"),
      newestOther: { manager: "kubectl-label", time: label.time },
    };
    const alsoThen = entry("kubectl-annotate", "2026-12-05T09:29:59Z");
    expect(attributeRemoval(behind, [helm, alsoThen])).toEqual({
      _tag: "Unrecorded",
      candidates: ["kubectl-annotate", "helm"],
    });
  });

  it("has no candidate when only the instrumentor and the controller manager wrote", () => {
    const none: OwnDeviceWrite = { at: at("2026-12-05T10:00:05Z"), newestOther: undefined };
    expect(attributeRemoval(none, [controller, ours])).toEqual({
      _tag: "Unrecorded",
      candidates: [],
    });
    expect(attributeRemoval(none, [])).toEqual({ _tag: "Unrecorded", candidates: [] });
  });

  it("names a writer when there was no other one at the instrumentor's write", () => {
    const none: OwnDeviceWrite = { at: at("2026-12-05T10:00:05Z"), newestOther: undefined };
    expect(attributeRemoval(none, [entry("flux", "2026-12-05T10:00:07Z")])).toEqual({
      _tag: "Recorded",
      manager: "flux",
    });
  });
});

describe("fightCandidates", () => {
  it("lists other spec writers once each, newest first, the later entry first on a tie", () => {
    const entries = [
      helm,
      entry("kubectl-label", "2026-12-05T09:30:00Z"),
      entry("kubectl-edit", "2026-12-05T09:30:00Z"),
      entry("helm", "2026-12-05T08:00:00Z"),
      controller,
      entry("kube-controller-manager", "2026-12-05T10:00:06Z"),
      entry("hpa", "2026-12-05T10:00:07Z", "scale"),
      ours,
      { operation: "Update" },
    ];
    expect(fightCandidates(entries)).toEqual(["kubectl-edit", "kubectl-label", "helm"]);
  });
});

describe("the writer in words", () => {
  const recorded: FightWriter = { _tag: "Recorded", manager: "argocd-controller" };
  const unrecorded: FightWriter = { _tag: "Unrecorded", candidates: ["helm", "gitops"] };

  it("names a recorded writer, and says of another that it is not recorded, with its candidates", () => {
    expect(describeFightWriter(recorded)).toBe("argocd-controller");
    expect(describeFightWriter(unrecorded)).toBe("an unrecorded writer (candidates: helm, gitops)");
    expect(describeFightWriter({ _tag: "Unrecorded", candidates: [] })).toBe(
      "an unrecorded writer (candidates: none: no other field manager)",
    );
  });

  it("gives the remedy for the writer, or for finding it", () => {
    expect(fightRemedy(recorded)).toBe(
      `make argocd-controller ignore resources.limits["instrumentation.odigos.io/*"] of this workload's containers`,
    );
    expect(fightRemedy(unrecorded)).toMatch(
      /^find the writer \(candidates: helm, gitops; the audit log names it\) and make it ignore resources\.limits/,
    );
  });

  it("reads back from the live facts", () => {
    expect(fightWriterOf({ writer: "argocd-controller" })).toEqual(recorded);
    expect(
      fightWriterOf({
        writer: describeFightWriter(unrecorded),
        candidates: ["helm", "gitops"],
      }),
    ).toEqual(unrecorded);
  });
});
