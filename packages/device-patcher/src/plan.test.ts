/** SPEC section 4, one named case per rule: the exact patch and the state it leads to. */
import * as Either from "effect/Either";
import { describe, expect, it } from "vitest";
import { applyJsonPatch, type JsonPatchOperation } from "./json-patch.js";
import {
  type DevicePlanSummary,
  type DevicePlanTarget,
  planDevices,
  withAnnotations,
} from "./plan.js";
import {
  container,
  deployment,
  goDevice,
  javaDevice,
  javaEnterpriseDevice,
  pythonDevice,
} from "./test-support/builders.js";

const limitsOf = (index: number) => `/spec/template/spec/containers/${index}/resources/limits`;
const requestsOf = (index: number) => `/spec/template/spec/containers/${index}/resources/requests`;
const esc = (device: string) => device.replace("/", "~1");
const ebpfAnnotationPath = "/metadata/annotations/instrumentation.odigos.io~1ebpf";
const precondition: JsonPatchOperation = {
  op: "replace",
  path: "/metadata/resourceVersion",
  value: "7",
};
const instrument = (devices: Record<string, ReadonlyArray<string>>): DevicePlanTarget => ({
  _tag: "Instrument",
  devices,
});
const uninstrument: DevicePlanTarget = { _tag: "Uninstrument" };
const labelPath = "/spec/template/metadata/labels/instrumentor.odigos.io~1instrumented";
const labelAdded: JsonPatchOperation = { op: "add", path: labelPath, value: "true" };
const labelRemoved: JsonPatchOperation = { op: "remove", path: labelPath };
const labelled = { "instrumentor.odigos.io/instrumented": "true" };

interface Case {
  readonly name: string;
  readonly workload: ReturnType<typeof deployment>;
  readonly target: DevicePlanTarget;
  /** Operations after the precondition; `null`: NoChange. */
  readonly operations: ReadonlyArray<JsonPatchOperation> | null;
  /** The pod-template label, after the device operations: added or removed with them. */
  readonly label?: "added" | "removed";
  readonly summary?: Partial<DevicePlanSummary>;
  /** Containers' resources after the patch, by container name. */
  readonly after?: Record<string, unknown>;
  readonly annotationsAfter?: Record<string, string> | undefined;
}

const cases: ReadonlyArray<Case> = [
  {
    name: "adds the whole resources object to a container without resources",
    label: "added",
    workload: deployment([container("app")]),
    target: instrument({ app: [goDevice] }),
    operations: [
      {
        op: "add",
        path: "/spec/template/spec/containers/0/resources",
        value: { limits: { [goDevice]: "1" } },
      },
    ],
    summary: { added: [{ container: "app", device: goDevice }], removed: [] },
    after: { app: { limits: { [goDevice]: "1" } } },
  },
  {
    name: "adds limits to resources that only have requests",
    label: "added",
    workload: deployment([container("app", { requests: { cpu: "100m" } })]),
    target: instrument({ app: [goDevice] }),
    operations: [{ op: "add", path: limitsOf(0), value: { [goDevice]: "1" } }],
    after: { app: { requests: { cpu: "100m" }, limits: { [goDevice]: "1" } } },
  },
  {
    name: "adds to existing limits, keeping cpu and memory",
    label: "added",
    workload: deployment([container("app", { limits: { cpu: "1", memory: "1Gi" } })]),
    target: instrument({ app: [goDevice] }),
    operations: [{ op: "add", path: `${limitsOf(0)}/${esc(goDevice)}`, value: "1" }],
    after: { app: { limits: { cpu: "1", memory: "1Gi", [goDevice]: "1" } } },
  },
  {
    name: "cleans a device out of requests, keeping the device in limits",
    label: "added",
    workload: deployment([
      container("app", {
        limits: { [goDevice]: "1" },
        requests: { [goDevice]: "1", cpu: "100m", [javaDevice]: "1" },
      }),
    ]),
    target: instrument({ app: [goDevice] }),
    operations: [
      { op: "remove", path: `${requestsOf(0)}/${esc(goDevice)}` },
      { op: "remove", path: `${requestsOf(0)}/${esc(javaDevice)}` },
    ],
    summary: {
      added: [],
      removed: [
        { container: "app", device: goDevice },
        { container: "app", device: javaDevice },
      ],
    },
    after: { app: { limits: { [goDevice]: "1" }, requests: { cpu: "100m" } } },
  },
  {
    name: "swaps the device on an SDK change (community to enterprise)",
    label: "added",
    workload: deployment([container("app", { limits: { [javaDevice]: "1", memory: "1Gi" } })]),
    target: instrument({ app: [javaEnterpriseDevice] }),
    operations: [
      { op: "remove", path: `${limitsOf(0)}/${esc(javaDevice)}` },
      { op: "add", path: `${limitsOf(0)}/${esc(javaEnterpriseDevice)}`, value: "1" },
    ],
    summary: {
      added: [{ container: "app", device: javaEnterpriseDevice }],
      removed: [{ container: "app", device: javaDevice }],
    },
    after: { app: { limits: { memory: "1Gi", [javaEnterpriseDevice]: "1" } } },
  },
  {
    name: "gives one container two devices for two languages",
    label: "added",
    workload: deployment([container("app")]),
    target: instrument({ app: [goDevice, pythonDevice] }),
    operations: [
      {
        op: "add",
        path: "/spec/template/spec/containers/0/resources",
        value: { limits: { [goDevice]: "1", [pythonDevice]: "1" } },
      },
    ],
    after: { app: { limits: { [goDevice]: "1", [pythonDevice]: "1" } } },
  },
  {
    name: "instruments only the containers with desired devices, and strips the others",
    label: "added",
    workload: deployment([
      container("istio-proxy", { limits: { cpu: "1", [goDevice]: "1" } }),
      container("app", { limits: {} }),
      container("sidecar"),
    ]),
    target: instrument({ app: [javaDevice] }),
    operations: [
      { op: "remove", path: `${limitsOf(0)}/${esc(goDevice)}` },
      { op: "add", path: `${limitsOf(1)}/${esc(javaDevice)}`, value: "1" },
    ],
    after: {
      "istio-proxy": { limits: { cpu: "1" } },
      app: { limits: { [javaDevice]: "1" } },
      sidecar: undefined,
    },
  },
  {
    name: "un-instruments: every device from limits and requests of every container, and the ebpf annotation",
    workload: deployment(
      [
        container("app", { limits: { [goDevice]: "1", cpu: "1" }, requests: { [goDevice]: "1" } }),
        container("worker", { limits: { [javaDevice]: "1", "instrumentation.odigos.io-x": "1" } }),
        container("plain", { limits: { memory: "1Gi" } }),
      ],
      { annotations: { "instrumentation.odigos.io/ebpf": "true", team: "shop" } },
    ),
    target: uninstrument,
    operations: [
      { op: "remove", path: `${limitsOf(0)}/${esc(goDevice)}` },
      { op: "remove", path: `${requestsOf(0)}/${esc(goDevice)}` },
      { op: "remove", path: `${limitsOf(1)}/instrumentation.odigos.io-x` },
      { op: "remove", path: `${limitsOf(1)}/${esc(javaDevice)}` },
      { op: "remove", path: ebpfAnnotationPath },
    ],
    summary: {
      added: [],
      removed: [
        { container: "app", device: goDevice },
        { container: "worker", device: "instrumentation.odigos.io-x" },
        { container: "worker", device: javaDevice },
      ],
      annotationRemoved: true,
    },
    after: {
      app: { limits: { cpu: "1" }, requests: {} },
      worker: { limits: {} },
      plain: { limits: { memory: "1Gi" } },
    },
    annotationsAfter: { team: "shop" },
  },
  {
    name: "un-instruments without an ebpf annotation: no operation for it",
    workload: deployment([container("app", { limits: { [goDevice]: "1" } })], {
      annotations: { team: "shop" },
    }),
    target: uninstrument,
    operations: [{ op: "remove", path: `${limitsOf(0)}/${esc(goDevice)}` }],
    summary: { annotationRemoved: false },
    annotationsAfter: { team: "shop" },
  },
  {
    name: "instrumenting leaves the ebpf annotation alone",
    workload: deployment([container("app")], {
      annotations: { "instrumentation.odigos.io/ebpf": "true" },
    }),
    target: instrument({}),
    operations: null,
  },
  {
    name: "normalises a device quantity of 2 to 1",
    label: "added",
    workload: deployment([container("app", { limits: { [goDevice]: "2" } })]),
    target: instrument({ app: [goDevice] }),
    operations: [{ op: "replace", path: `${limitsOf(0)}/${esc(goDevice)}`, value: "1" }],
    summary: { added: [], removed: [], normalised: [{ container: "app", device: goDevice }] },
    after: { app: { limits: { [goDevice]: "1" } } },
  },
  {
    name: "normalises a numeric quantity to the string the API serves",
    label: "added",
    workload: deployment([container("app", { limits: { [goDevice]: 1 } })]),
    target: instrument({ app: [goDevice] }),
    operations: [{ op: "replace", path: `${limitsOf(0)}/${esc(goDevice)}`, value: "1" }],
  },
  {
    name: "adds limits to an empty resources object",
    label: "added",
    workload: deployment([container("app", {})]),
    target: instrument({ app: [goDevice] }),
    operations: [{ op: "add", path: limitsOf(0), value: { [goDevice]: "1" } }],
    after: { app: { limits: { [goDevice]: "1" } } },
  },
  {
    name: "writes nothing when converged",
    workload: deployment([
      container("app", { limits: { [goDevice]: "1", cpu: "2" }, requests: { cpu: "1" } }),
      container("sidecar", { limits: { memory: "1Gi" } }),
    ]),
    target: instrument({ app: [goDevice] }),
    operations: null,
  },
  {
    name: "writes nothing when un-instrumenting a workload without devices",
    workload: deployment([container("app", { limits: { cpu: "1" } }), container("sidecar")]),
    target: uninstrument,
    operations: null,
  },
  {
    name: "ignores desired devices of a container the pod template lacks",
    label: "added",
    workload: deployment([container("app")]),
    target: instrument({ app: [goDevice], worker: [pythonDevice] }),
    operations: [
      {
        op: "add",
        path: "/spec/template/spec/containers/0/resources",
        value: { limits: { [goDevice]: "1" } },
      },
    ],
    summary: { added: [{ container: "app", device: goDevice }] },
  },
  {
    name: "never names a desired resource that is not a device",
    workload: deployment([container("app")]),
    target: instrument({ app: ["cpu"] }),
    operations: null,
  },
  {
    name: "escapes ~ in device names",
    workload: deployment([container("app", { limits: { "instrumentation.odigos.io/a~b": "1" } })]),
    target: uninstrument,
    operations: [{ op: "remove", path: `${limitsOf(0)}/instrumentation.odigos.io~1a~0b` }],
    after: { app: { limits: {} } },
  },
  {
    name: "removes the pod-template label with the last device",
    workload: deployment([container("app", { limits: { [goDevice]: "1" } })], {
      templateLabels: { app: "cart", ...labelled },
    }),
    target: uninstrument,
    operations: [{ op: "remove", path: `${limitsOf(0)}/${esc(goDevice)}` }],
    label: "removed",
  },
  {
    name: "keeps the label on a device swap that leaves a device",
    workload: deployment([container("app", { limits: { [javaDevice]: "1" } })], {
      templateLabels: { app: "cart", ...labelled },
    }),
    target: instrument({ app: [javaEnterpriseDevice] }),
    operations: [
      { op: "remove", path: `${limitsOf(0)}/${esc(javaDevice)}` },
      { op: "add", path: `${limitsOf(0)}/${esc(javaEnterpriseDevice)}`, value: "1" },
    ],
  },
  {
    name: "adds the labels map to a template without labels",
    workload: deployment([container("app")], { templateLabels: null }),
    target: instrument({ app: [goDevice] }),
    operations: [
      {
        op: "add",
        path: "/spec/template/spec/containers/0/resources",
        value: { limits: { [goDevice]: "1" } },
      },
      {
        op: "add",
        path: "/spec/template/metadata/labels",
        value: { "instrumentor.odigos.io/instrumented": "true" },
      },
    ],
    summary: { label: "added" },
  },
  {
    name: "never writes the label alone: devices as wanted and no label (an earlier version's) is no change",
    workload: deployment([container("app", { limits: { [goDevice]: "1" } })]),
    target: instrument({ app: [goDevice] }),
    operations: null,
  },
  {
    name: "never removes the label alone: no device and a label left behind is no change",
    workload: deployment([container("app")], { templateLabels: { app: "cart", ...labelled } }),
    target: uninstrument,
    operations: null,
  },
];

describe("planDevices", () => {
  it.each(cases)("$name", (testCase) => {
    const plan = planDevices(testCase.workload, testCase.target);
    if (testCase.operations === null) {
      expect(plan).toEqual({ _tag: "NoChange" });
      return;
    }
    expect(plan._tag).toBe("Patch");
    if (plan._tag !== "Patch") return;
    const label =
      testCase.label === "added"
        ? [labelAdded]
        : testCase.label === "removed"
          ? [labelRemoved]
          : [];
    expect(plan.operations).toEqual([precondition, ...testCase.operations, ...label]);
    if (testCase.summary?.label === undefined)
      expect(plan.summary.label).toBe(testCase.label ?? "unchanged");
    if (testCase.summary !== undefined) expect(plan.summary).toMatchObject(testCase.summary);

    const patched = Either.getOrThrow(applyJsonPatch(testCase.workload, plan.operations));
    for (const [name, resources] of Object.entries(testCase.after ?? {})) {
      const found = patched.spec.template.spec.containers.find((c) => c.name === name);
      expect(found?.resources, name).toEqual(resources);
    }
    if ("annotationsAfter" in testCase) {
      expect(patched.metadata.annotations).toEqual(testCase.annotationsAfter);
    }
    // Converged: planning again writes nothing.
    expect(planDevices(patched, testCase.target)).toEqual({ _tag: "NoChange" });
  });

  it("writes a CronJob's devices and label into its Job template, where the API keeps them", () => {
    const cronJob = { ...deployment([container("job")]), kind: "CronJob" as const };
    const plan = planDevices(cronJob, instrument({ job: [goDevice] }));
    const template = "/spec/jobTemplate/spec/template";
    expect(plan._tag === "Patch" && plan.operations.slice(1)).toEqual([
      {
        op: "add",
        path: `${template}/spec/containers/0/resources`,
        value: { limits: { [goDevice]: "1" } },
      },
      {
        op: "add",
        path: `${template}/metadata/labels/instrumentor.odigos.io~1instrumented`,
        value: "true",
      },
    ]);
    // Applied to the CronJob as served, it lands in the Job template, and nothing else moves.
    const served = {
      metadata: { resourceVersion: "7" },
      spec: {
        schedule: "* * * * *",
        jobTemplate: {
          spec: {
            template: {
              metadata: { labels: { app: "cart" } },
              spec: { containers: [{ name: "job" }] },
            },
          },
        },
      },
    };
    if (plan._tag !== "Patch") throw new Error("expected a patch");
    expect(Either.getOrThrow(applyJsonPatch(served, plan.operations))).toMatchObject({
      spec: {
        schedule: "* * * * *",
        jobTemplate: {
          spec: {
            template: {
              metadata: { labels: { app: "cart", "instrumentor.odigos.io/instrumented": "true" } },
              spec: { containers: [{ name: "job", resources: { limits: { [goDevice]: "1" } } }] },
            },
          },
        },
      },
    });
  });

  it("does not mutate its input", () => {
    const workload = deployment([container("app", { limits: { [javaDevice]: "1" } })]);
    const before = structuredClone(workload);
    const plan = planDevices(workload, instrument({ app: [goDevice] }));
    if (plan._tag === "Patch") Either.getOrThrow(applyJsonPatch(workload, plan.operations));
    expect(workload).toEqual(before);
  });

  it("is deterministic whatever the order of the desired device list", () => {
    const workload = deployment([container("app")]);
    expect(planDevices(workload, instrument({ app: [pythonDevice, goDevice] }))).toEqual(
      planDevices(workload, instrument({ app: [goDevice, pythonDevice] })),
    );
  });
});

describe("withAnnotations", () => {
  const goDevice = "instrumentation.odigos.io/go-ebpf-community";
  const subject = (annotations?: Record<string, string>) => ({
    metadata: { resourceVersion: "7", ...(annotations === undefined ? {} : { annotations }) },
    spec: { template: { spec: { containers: [{ name: "app" }] } } },
  });
  const instrument = { _tag: "Instrument", devices: { app: [goDevice] } } as const;

  it("rides along a device change only, adding the annotations map when there is none", () => {
    const workload = subject();
    const plan = withAnnotations(planDevices(workload, instrument), workload, {
      "odigos.io/rollout": "{}",
      gone: null,
    });
    expect(plan._tag === "Patch" && plan.operations.slice(-2)).toEqual([
      { op: "add", path: "/metadata/annotations", value: {} },
      { op: "add", path: "/metadata/annotations/odigos.io~1rollout", value: "{}" },
    ]);
    const patched = Either.getOrThrow(
      applyJsonPatch(workload, plan._tag === "Patch" ? plan.operations : []),
    );
    expect(patched.metadata.annotations).toEqual({ "odigos.io/rollout": "{}" });
    const converged = subject();
    expect(
      withAnnotations(
        planDevices(
          {
            ...converged,
            spec: {
              template: {
                spec: { containers: [{ name: "app", resources: { limits: { [goDevice]: "1" } } }] },
              },
            },
          },
          instrument,
        ),
        converged,
        { a: "b" },
      ),
    ).toEqual({ _tag: "NoChange" });
  });

  it("replaces, removes, and leaves alone what is already as asked", () => {
    const workload = subject({ keep: "1", old: "x", same: "y" });
    const plan = withAnnotations(planDevices(workload, instrument), workload, {
      old: "z",
      keep: null,
      same: "y",
      absent: null,
    });
    const patched = Either.getOrThrow(
      applyJsonPatch(workload, plan._tag === "Patch" ? plan.operations : []),
    );
    expect(patched.metadata.annotations).toEqual({ old: "z", same: "y" });
  });
});
