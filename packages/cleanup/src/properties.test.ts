/** fast-check properties of the cleanup planners and runCleanup. */
import {
  type InstrumentedApplication,
  OdigosResources,
  type StringMap,
  type WorkloadKind,
  workloadResource,
} from "@odigos/crd-types";
import type { OptIn, OptInReason } from "@odigos/instrumentation-rules";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planNamespaceCleanup, planWorkloadCleanup, type WorkloadCleanupInput } from "./plan.js";
import { runCleanup } from "./run.js";
import { CleanupWritersLive } from "./writers.js";

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

  it("running a plan against the cluster it was planned from leaves nothing to do", async () => {
    await fc.assert(
      fc.asyncProperty(workloadInput(optIn), async (generated) => {
        const fake = new FakeApiServer();
        const resource = workloadResource(generated.ref.kind);
        const workload = fake.put(resource, {
          metadata: { name: generated.ref.name, namespace: "shop", ...generated.workload.metadata },
        });
        const details =
          generated.runtimeDetails === undefined
            ? undefined
            : fake.put(OdigosResources.InstrumentedApplication, generated.runtimeDetails);
        // Planned from what the cluster holds (its resourceVersion and UID).
        const input: WorkloadCleanupInput = {
          ...generated,
          workload: {
            metadata: {
              ...generated.workload.metadata,
              resourceVersion: workload.metadata.resourceVersion ?? "",
            },
          },
          runtimeDetails:
            generated.runtimeDetails === undefined || details === undefined
              ? undefined
              : {
                  ...generated.runtimeDetails,
                  metadata: {
                    ...generated.runtimeDetails.metadata,
                    uid: details.metadata.uid ?? "",
                  },
                },
        };
        const report = await Effect.runPromise(
          runCleanup(planWorkloadCleanup(input)).pipe(
            Effect.provide(Layer.provide(CleanupWritersLive, fake.layer)),
          ),
        );
        expect(report.failed).toEqual([]);
        expect(report.skipped).toEqual([]);
        const after = fake.get(resource, generated.ref.name, "shop");
        const left = fake.list(OdigosResources.InstrumentedApplication)[0];
        const again = planWorkloadCleanup({
          ...input,
          workload: {
            metadata: {
              resourceVersion: after?.metadata.resourceVersion ?? "",
              ...(after?.metadata.annotations === undefined
                ? {}
                : { annotations: after.metadata.annotations }),
            },
          },
          runtimeDetails:
            left === undefined
              ? undefined
              : {
                  metadata: {
                    name: left.metadata.name,
                    namespace: "shop",
                    uid: left.metadata.uid ?? "",
                    resourceVersion: left.metadata.resourceVersion ?? "",
                  },
                },
        });
        expect(again).toEqual([]);
      }),
    );
  });
});
