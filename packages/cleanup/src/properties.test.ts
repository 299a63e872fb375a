/** fast-check properties of the cleanup planners and runCleanup. */
import type { InstrumentedApplication, StringMap, WorkloadKind } from "@odigos/crd-types";
import type { OptIn, OptInReason } from "@odigos/instrumentation-rules";
import * as Effect from "effect/Effect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeInMemoryCleanupWriters } from "./in-memory.js";
import { planNamespaceCleanup, planWorkloadCleanup, type WorkloadCleanupInput } from "./plan.js";
import { runCleanup } from "./run.js";

const optedInReasons: ReadonlyArray<OptInReason> = ["WorkloadEnabled", "NamespaceEnabled"];
const optedOutReasons: ReadonlyArray<OptInReason> = [
  "WorkloadDisabled",
  "NamespaceDisabled",
  "NoMarker",
  "IgnoredNamespace",
  "OdigosNamespace",
];

const optIn: fc.Arbitrary<OptIn> = fc.oneof(
  fc.constantFrom(...optedInReasons).map((reason) => ({ optedIn: true, reason })),
  fc.constantFrom(...optedOutReasons).map((reason) => ({ optedIn: false, reason })),
);

const annotations: fc.Arbitrary<StringMap> = fc.dictionary(
  fc.constantFrom("odigos.io/reported-name", "odigos.io/instrument", "team"),
  fc.string({ maxLength: 3 }),
);

const workloadInput = (optInAnswer: fc.Arbitrary<OptIn>): fc.Arbitrary<WorkloadCleanupInput> =>
  fc
    .record({
      kind: fc.constantFrom<WorkloadKind>("Deployment", "StatefulSet", "DaemonSet"),
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/),
      annotations,
      optIn: optInAnswer,
      hasRuntimeDetails: fc.boolean(),
      uid: fc.uuid(),
    })
    .map(({ kind, name, annotations, optIn, hasRuntimeDetails, uid }) => {
      const details: InstrumentedApplication = {
        metadata: {
          name: `${kind.toLowerCase()}-${name}`,
          namespace: "shop",
          uid,
          resourceVersion: "1",
        },
      };
      return {
        ref: { kind, namespace: "shop", name },
        workload: { metadata: { resourceVersion: "5", annotations } },
        optIn,
        runtimeDetails: hasRuntimeDetails ? details : undefined,
      };
    });

describe("cleanup properties", () => {
  it("plans nothing for any opted-in workload", () => {
    fc.assert(
      fc.property(workloadInput(optIn.filter((answer) => answer.optedIn)), (input) => {
        expect(planWorkloadCleanup(input)).toEqual([]);
      }),
    );
  });

  it("a namespace plan never touches an opted-in workload and does not depend on order", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(workloadInput(optIn), {
          maxLength: 6,
          selector: (input) => `${input.ref.kind}/${input.ref.name}`,
        }),
        fc.func(fc.integer()),
        (inputs, order) => {
          const actions = planNamespaceCleanup(inputs);
          // Workloads of different kinds may share a name: tell them apart by kind.
          const optedIn = new Set(
            inputs
              .filter((input) => input.optIn.optedIn)
              .flatMap((input) => [
                `workload ${input.ref.kind}/${input.ref.name}`,
                `details ${input.runtimeDetails?.metadata.name}`,
              ]),
          );
          for (const action of actions) {
            const touched =
              action._tag === "DeleteRuntimeDetails"
                ? `details ${action.name}`
                : `workload ${action.ref.kind}/${action.ref.name}`;
            expect(optedIn.has(touched)).toBe(false);
          }
          const reordered = [...inputs].sort((a, b) => order(a) - order(b));
          expect(planNamespaceCleanup(reordered)).toEqual(actions);
        },
      ),
    );
  });

  it("running a plan against the store it was planned from leaves nothing to do", async () => {
    await fc.assert(
      fc.asyncProperty(workloadInput(optIn), async (input) => {
        const store = makeInMemoryCleanupWriters({
          runtimeDetails: input.runtimeDetails === undefined ? [] : [input.runtimeDetails],
          workloads: [
            {
              kind: input.ref.kind,
              metadata: { name: input.ref.name, namespace: "shop", ...input.workload.metadata },
            },
          ],
        });
        const report = await Effect.runPromise(
          runCleanup(planWorkloadCleanup(input)).pipe(Effect.provide(store.layer)),
        );
        expect(report.failed).toEqual([]);
        expect(report.skipped).toEqual([]);
        const after = store.workload(input.ref);
        const again = planWorkloadCleanup({
          ...input,
          workload: after ?? input.workload,
          runtimeDetails: store.runtimeDetails().values().next().value,
        });
        expect(again).toEqual([]);
      }),
    );
  });
});
