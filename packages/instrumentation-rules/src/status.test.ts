/** The status model: one case per reason, and the states it puts them in. */
import {
  type InstrumentedApplication,
  type OdigosConfiguration,
  RollbackAnnotation,
  RolloutAnnotation,
  type Workload,
} from "@odigos/crd-types";
import { describe, expect, it } from "vitest";
import { instrumentationFingerprint } from "./rollout.js";
import {
  type StatusInput,
  type StatusReason,
  StatusReasons,
  unsupportedKindStatus,
  type WorkloadState,
  workloadStatus,
} from "./status.js";

const goDevice = "instrumentation.odigos.io/go-ebpf-community";
const now = Date.parse("2026-12-05T12:00:00Z");
const minutesAgo = (minutes: number) => new Date(now - minutes * 60_000).toISOString();

const config: OdigosConfiguration = {
  metadata: { name: "odigos-config", namespace: "odigos-system", resourceVersion: "7" },
  spec: { defaultSDKs: { go: { sdkType: "ebpf", sdkTier: "community" } } },
} as unknown as OdigosConfiguration;

const runtimeDetails = (languages: ReadonlyArray<string>): InstrumentedApplication =>
  ({
    metadata: { name: "deployment-cart", namespace: "shop", uid: "rd-1", resourceVersion: "3" },
    spec: { languages: languages.map((language) => ({ containerName: "app", language })) },
  }) as unknown as InstrumentedApplication;

const workload = (
  options: {
    readonly annotations?: Record<string, string>;
    readonly devices?: ReadonlyArray<string>;
    readonly status?: Workload["status"];
    /** Without the workload's own opt-in marker. */
    readonly unmarked?: boolean;
  } = {},
): Workload => ({
  kind: "Deployment",
  metadata: {
    name: "cart",
    namespace: "shop",
    uid: "w-1",
    resourceVersion: "10",
    generation: 2,
    annotations: {
      ...(options.unmarked === true ? {} : { "odigos.io/instrument": "true" }),
      ...options.annotations,
    },
  },
  spec: {
    replicas: 4,
    template: {
      spec: {
        containers: [
          {
            name: "app",
            resources: {
              limits: Object.fromEntries((options.devices ?? []).map((device) => [device, "1"])),
            },
          },
        ],
      },
    },
  },
  status: options.status ?? {
    observedGeneration: 2,
    replicas: 4,
    updatedReplicas: 4,
    availableReplicas: 4,
  },
});

const input = (overrides: Partial<StatusInput> = {}): StatusInput => ({
  workload: workload({ devices: [goDevice] }),
  namespace: undefined,
  odigosNamespace: "odigos-system",
  runtimeDetails: runtimeDetails(["go"]),
  collectorsReady: true,
  config,
  now,
  rolloutTimeoutMs: 10 * 60_000,
  ...overrides,
});

const rolloutRecord = (action: string, at: string) => JSON.stringify({ action, at, generation: 2 });
const rollbackRecord = (fingerprint: string) =>
  JSON.stringify({
    reason: "CrashLoopBackOff",
    container: "app",
    at: minutesAgo(30),
    fingerprint,
    configVersion: "7",
  });
const goFingerprint = instrumentationFingerprint({
  runtimeDetailsUid: "rd-1",
  languages: [{ containerName: "app", language: "go" }],
  devices: { app: [goDevice] },
});
const rolling = { observedGeneration: 2, replicas: 5, updatedReplicas: 3, availableReplicas: 4 };

const cases: ReadonlyArray<readonly [StatusReason, WorkloadState, StatusInput, string | RegExp]> = [
  ["Instrumented", "Instrumented", input(), "the workload opts in"],
  [
    "NotOptedIn",
    "NotInstrumented",
    input({ workload: workload({ unmarked: true }) }),
    "neither the workload nor its namespace opts in",
  ],
  [
    "OptedOutByWorkload",
    "NotInstrumented",
    input({ workload: workload({ annotations: { "odigos.io/instrument": "false" } }) }),
    "the workload opts out",
  ],
  [
    "WaitingForRuntimeDetails",
    "NotInstrumented",
    input({ workload: workload(), runtimeDetails: undefined }),
    /no runtime details yet/,
  ],
  [
    "NoDefaultSdk",
    "NotInstrumented",
    input({ workload: workload(), runtimeDetails: runtimeDetails(["java"]) }),
    'odigos-config has no default SDK for java (container "app")',
  ],
  ["ConfigUnavailable", "Held", input({ config: undefined }), /odigos-config is missing/],
  [
    "CollectorsNotReady",
    "Held",
    input({ collectorsReady: false, live: { collectorsGraceLeftMs: 42_000 } }),
    /devices kept for 42 s more/,
  ],
  ["ChangePending", "Waiting", input({ workload: workload() }), /devices to be written/],
  [
    "WaitingForRolloutSlot",
    "Waiting",
    input({
      workload: workload(),
      live: { waitingForSlot: { position: 3, inFlight: 10, limit: 10 } },
    }),
    /position 3 \(10 rolling, 10 allowed\)/,
  ],
  [
    "RollingOut",
    "RollingOut",
    input({
      workload: workload({
        devices: [goDevice],
        annotations: { [RolloutAnnotation]: rolloutRecord("instrument", minutesAgo(1)) },
        status: rolling,
      }),
    }),
    /instrument rollout started .*: 3\/4 replicas updated/,
  ],
  [
    "RolloutStuck",
    "RollingOut",
    input({
      workload: workload({
        devices: [goDevice],
        annotations: { [RolloutAnnotation]: rolloutRecord("instrument", minutesAgo(11)) },
        status: rolling,
      }),
    }),
    /not complete after the rollout timeout: 3\/4 replicas updated/,
  ],
  [
    "RolledBack",
    "Held",
    input({
      workload: workload({ annotations: { [RollbackAnnotation]: rollbackRecord(goFingerprint) } }),
    }),
    /container app CrashLoopBackOff/,
  ],
  [
    "FightPaused",
    "Held",
    input({
      workload: workload(),
      live: { fight: { writer: "argocd-controller", retryAt: minutesAgo(-10) } },
    }),
    /argocd-controller keeps removing the devices/,
  ],
  [
    "CircuitBreakerOpen",
    "Held",
    input({ workload: workload(), live: { breakerOpen: true } }),
    /circuit breaker is open/,
  ],
  [
    "DryRun",
    "Waiting",
    input({ workload: workload(), live: { dryRun: true } }),
    /dry run: nothing is written/,
  ],
];

describe("workloadStatus", () => {
  it.each(cases)("%s: %s", (reason, state, given, message) => {
    const status = workloadStatus(given);
    expect({ state: status.state, reason: status.reason }).toEqual({ state, reason });
    expect(status.message).toMatch(message);
  });

  it("reports an opted-in Rollout whose template is another object's as not supported", () => {
    const referenced: Workload = {
      ...workload(),
      kind: "Rollout",
      spec: {
        replicas: 2,
        template: { spec: { containers: [] } },
        workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      },
    };
    expect(workloadStatus(input({ workload: referenced }))).toEqual({
      state: "NotInstrumented",
      reason: "WorkloadRefNotSupported",
      message:
        "its pod template is Deployment web's (spec.workloadRef): the instrumentor writes only a template of the Rollout's own",
      remedy: "move the pod template into the Rollout's spec.template",
      devices: { present: {} },
    });
    // Not opted in, it is simply that.
    const unmarked = { ...referenced, metadata: { ...referenced.metadata, annotations: {} } };
    expect(workloadStatus(input({ workload: unmarked })).reason).toBe("NotOptedIn");
  });

  it("has a case for every reason in the closed list", () => {
    const covered = new Set([
      ...cases.map(([reason]) => reason),
      "KindNotSupported",
      "WorkloadRefNotSupported",
    ]);
    expect([...StatusReasons].filter((reason) => !covered.has(reason))).toEqual([]);
    expect(unsupportedKindStatus("Job")).toMatchObject({
      state: "NotInstrumented",
      reason: "KindNotSupported",
    });
  });

  it("gives the exact command where there is one", () => {
    expect(
      workloadStatus(
        input({ workload: workload({ annotations: { "odigos.io/instrument": "false" } }) }),
      ).remedy,
    ).toBe("kubectl annotate -n shop deployment cart odigos.io/instrument=true --overwrite");
    expect(
      workloadStatus(input({ workload: workload(), live: { breakerOpen: true } })).remedy,
    ).toBe(
      "kubectl -n odigos-system annotate odigosconfiguration odigos-config odigos.io/reset-breaker=$(date +%s) --overwrite",
    );
  });

  it("a fight paused for a writer managedFields does not record says so, and how to find it", () => {
    const recorded = workloadStatus(
      input({
        workload: workload(),
        live: { fight: { writer: "argocd-controller", retryAt: minutesAgo(-10) } },
      }),
    );
    expect(recorded.remedy).toBe(
      `make argocd-controller ignore resources.limits["instrumentation.odigos.io/*"] of this workload's containers, or opt it out`,
    );
    const unrecorded = workloadStatus(
      input({
        workload: workload(),
        live: {
          fight: {
            writer: "an unrecorded writer (candidates: helm, gitops)",
            candidates: ["helm", "gitops"],
            retryAt: minutesAgo(-10),
          },
        },
      }),
    );
    expect(unrecorded).toMatchObject({ state: "Held", reason: "FightPaused" });
    expect(unrecorded.message).toBe(
      `an unrecorded writer (candidates: helm, gitops) keeps removing the devices: not put back before ${minutesAgo(-10)}`,
    );
    expect(unrecorded.remedy).toMatch(
      /^find the writer \(candidates: helm, gitops; the audit log names it\) and make it ignore/,
    );
  });

  it("a rollback for other inputs holds nothing: the workload is instrumented again", () => {
    const other = input({
      workload: workload({ annotations: { [RollbackAnnotation]: rollbackRecord("older") } }),
    });
    expect(workloadStatus(other).reason).toBe("ChangePending");
  });

  it("removing devices: pending, then rolling out, then not instrumented", () => {
    const optedOut = { "odigos.io/instrument": "false" };
    expect(
      workloadStatus(input({ workload: workload({ annotations: optedOut, devices: [goDevice] }) })),
    ).toMatchObject({ state: "Waiting", reason: "ChangePending" });
    const removing = workload({
      annotations: {
        ...optedOut,
        [RolloutAnnotation]: rolloutRecord("uninstrument", minutesAgo(1)),
      },
      status: rolling,
    });
    expect(workloadStatus(input({ workload: removing }))).toMatchObject({
      state: "RollingOut",
      reason: "RollingOut",
    });
    expect(workloadStatus(input({ workload: workload({ annotations: optedOut }) }))).toMatchObject({
      state: "NotInstrumented",
      reason: "OptedOutByWorkload",
    });
  });
});
