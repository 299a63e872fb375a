/**
 * The status a person reads and the write the operator makes agree (SPEC section 9): on
 * generated workloads, runtime details, configurations, collectors and live facts, the status
 * says a workload is instrumented only when the planner would change none of its devices, and
 * says a change is due (or held) whenever the planner would change one.
 */
import type { InstrumentedApplication, OdigosConfiguration } from "@odigos/crd-types";
import { judgeWorkload, type LiveFacts, workloadStatus } from "@odigos/instrumentation-rules";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planDevices } from "./plan.js";
import { containerNames, workload } from "./test-support/arbitraries.js";

const languages = ["go", "java", "python"] as const;

const runtimeDetails: fc.Arbitrary<InstrumentedApplication | undefined> = fc.option(
  fc
    .array(
      fc.record({
        containerName: fc.constantFrom(...containerNames),
        language: fc.constantFrom(...languages),
      }),
      {
        maxLength: 4,
      },
    )
    .map(
      (entries) =>
        ({
          metadata: { name: "deployment-cart", namespace: "shop", uid: "rd", resourceVersion: "1" },
          spec: { languages: entries },
        }) as unknown as InstrumentedApplication,
    ),
  { nil: undefined },
);

const config: fc.Arbitrary<OdigosConfiguration | undefined> = fc.option(
  fc.subarray([...languages]).map(
    (withSdk) =>
      ({
        metadata: { name: "odigos-config", namespace: "odigos-system", resourceVersion: "1" },
        spec: {
          defaultSDKs: Object.fromEntries(
            withSdk.map((language) => [
              language,
              { sdkType: language === "go" ? "ebpf" : "native", sdkTier: "community" },
            ]),
          ),
        },
      }) as unknown as OdigosConfiguration,
  ),
  { nil: undefined },
);

const live: fc.Arbitrary<LiveFacts | undefined> = fc.option(
  fc.record(
    {
      waitingForSlot: fc.constant({ position: 1, inFlight: 1, limit: 1 }),
      fight: fc.constant({ writer: "argocd", retryAt: "2026-12-05T12:10:00Z" }),
      breakerOpen: fc.boolean(),
      collectorsGraceLeftMs: fc.integer({ min: 0, max: 60_000 }),
      dryRun: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const marker = fc.constantFrom(undefined, "true", "false");

const cases = fc.record({ workload, marker, runtimeDetails, config, live, ready: fc.boolean() });

describe("the status and the operator's write agree", () => {
  it("instrumented only with nothing to change; a change to make is never reported as done", () => {
    fc.assert(
      fc.property(cases, (generated) => {
        const annotations = {
          ...generated.workload.metadata.annotations,
          ...(generated.marker === undefined ? {} : { "odigos.io/instrument": generated.marker }),
        };
        const subject = {
          ...generated.workload,
          metadata: { ...generated.workload.metadata, annotations },
        };
        const rules = {
          namespace: undefined,
          odigosNamespace: "odigos-system",
          runtimeDetails: generated.runtimeDetails,
          collectorsReady: generated.ready,
          config: generated.config,
        };
        const status = workloadStatus({
          ...rules,
          workload: subject,
          now: Date.parse("2026-12-05T12:00:00Z"),
          rolloutTimeoutMs: 600_000,
          live: generated.live,
        });
        // The operator's path: the same judgement, then the planner.
        const { intent } = judgeWorkload({
          ...rules,
          workload: {
            namespace: "shop",
            metadata: subject.metadata,
            containers: subject.spec.template.spec.containers,
          },
        });
        if (intent._tag === "LeaveAsIs") {
          expect(status.reason).toBe("ConfigUnavailable");
          return;
        }
        const plan = planDevices(subject, intent);
        const changesDevices =
          plan._tag === "Patch" && plan.summary.added.length + plan.summary.removed.length > 0;
        if (status.state === "Instrumented") expect(changesDevices).toBe(false);
        if (changesDevices) expect(["Waiting", "Held"]).toContain(status.state);
        if (["ChangePending", "WaitingForRolloutSlot", "DryRun"].includes(status.reason))
          expect(changesDevices).toBe(true);
        if (intent._tag === "Uninstrument" && !changesDevices)
          expect(status.state).toBe("NotInstrumented");
      }),
      { numRuns: 2000 },
    );
  });
});
