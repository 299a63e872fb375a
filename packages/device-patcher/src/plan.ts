/**
 * SPEC section 4 as a pure planner: the desired devices of a workload against
 * its cached copy give either nothing to do or the smallest JSON Patch that
 * converges it, guarded by a resourceVersion precondition.
 */
import {
  type Container,
  DeprecatedEbpfAnnotation,
  DeviceQuantity,
  InstrumentedPodLabel,
  InstrumentedPodLabelValue,
  type ObjectMeta,
  type Quantity,
  type ResourceList,
  templatePath,
  type WorkloadKind,
} from "@odigos/crd-types";
import { type DesiredDevices, isDeviceName } from "@odigos/instrumentation-rules";
import { type JsonPatchOperation, jsonPointer, resourceVersionPrecondition } from "./json-patch.js";

/**
 * What a workload's devices should become: the rules' `DeviceIntent` without
 * `LeaveAsIs` (which must not reach the patcher: it means "write nothing").
 */
export type DevicePlanTarget =
  /** Each container carries exactly these devices (absent containers: none). */
  | { readonly _tag: "Instrument"; readonly devices: DesiredDevices }
  /** No container carries a device, and the deprecated eBPF annotation goes. */
  | { readonly _tag: "Uninstrument" };

/** The part of a decoded workload the planner reads (any crd-types `Workload` fits). */
export interface DevicePatchSubject {
  /** Where the patch writes the template (`templatePath`): a CronJob's is its Job template's. */
  readonly kind?: WorkloadKind | undefined;
  readonly metadata: Pick<ObjectMeta, "resourceVersion" | "annotations">;
  readonly spec: {
    readonly template: {
      readonly metadata?:
        | { readonly labels?: Readonly<Record<string, string>> | undefined }
        | undefined;
      readonly spec: { readonly containers: ReadonlyArray<Container> };
    };
  };
}

/** One device of one container. */
export interface ContainerDevice {
  readonly container: string;
  readonly device: string;
}

/** What a patch changes, for logs and events. */
export interface DevicePlanSummary {
  /** Devices added to `limits`. */
  readonly added: ReadonlyArray<ContainerDevice>;
  /** Devices removed from `limits` and/or `requests` (each pair listed once). */
  readonly removed: ReadonlyArray<ContainerDevice>;
  /** Desired devices whose quantity was not `"1"` and is set to `"1"`. */
  readonly normalised: ReadonlyArray<ContainerDevice>;
  /** Whether the deprecated `instrumentation.odigos.io/ebpf` annotation is removed. */
  readonly annotationRemoved: boolean;
  /** How the pod-template label `instrumentor.odigos.io/instrumented` changes with the devices. */
  readonly label: "added" | "removed" | "unchanged";
}

/** The planner's answer. */
export type DevicePlan =
  | { readonly _tag: "NoChange" }
  | {
      readonly _tag: "Patch";
      /** First operation: the resourceVersion precondition. */
      readonly operations: ReadonlyArray<JsonPatchOperation>;
      readonly summary: DevicePlanSummary;
    };

const isOne = (quantity: Quantity): boolean => quantity === DeviceQuantity;

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const deviceNamesIn = (list: ResourceList | undefined): ReadonlyArray<string> =>
  Object.keys(list ?? {})
    .filter(isDeviceName)
    .sort(byName);

interface ContainerPlan {
  readonly operations: ReadonlyArray<JsonPatchOperation>;
  readonly added: ReadonlyArray<string>;
  readonly removed: ReadonlyArray<string>;
  readonly normalised: ReadonlyArray<string>;
}

/** Operations for container `index`: removals, quantity fixes, then additions, each by name. */
const planContainer = (
  template: ReadonlyArray<string>,
  container: Container,
  index: number,
  desired: ReadonlySet<string>,
): ContainerPlan => {
  const resourcesPath = [...template, "spec", "containers", index, "resources"] as const;
  const limits = container.resources?.limits;
  const requests = container.resources?.requests;
  const operations: Array<JsonPatchOperation> = [];
  const removed = new Set<string>();
  const normalised: Array<string> = [];

  for (const name of deviceNamesIn(limits)) {
    if (!desired.has(name)) {
      operations.push({ op: "remove", path: jsonPointer([...resourcesPath, "limits", name]) });
      removed.add(name);
    } else if (!isOne(limits?.[name] ?? DeviceQuantity)) {
      const path = jsonPointer([...resourcesPath, "limits", name]);
      operations.push({ op: "replace", path, value: DeviceQuantity });
      normalised.push(name);
    }
  }
  // Requests never hold a device (as the Go instrumentor): limits alone request it.
  for (const name of deviceNamesIn(requests)) {
    operations.push({ op: "remove", path: jsonPointer([...resourcesPath, "requests", name]) });
    removed.add(name);
  }

  const added = [...desired].filter((name) => limits?.[name] === undefined).sort(byName);
  if (added.length > 0) {
    const fresh = Object.fromEntries(added.map((name) => [name, DeviceQuantity]));
    if (container.resources === undefined) {
      operations.push({ op: "add", path: jsonPointer(resourcesPath), value: { limits: fresh } });
    } else if (limits === undefined) {
      operations.push({ op: "add", path: jsonPointer([...resourcesPath, "limits"]), value: fresh });
    } else {
      for (const name of added) {
        const path = jsonPointer([...resourcesPath, "limits", name]);
        operations.push({ op: "add", path, value: DeviceQuantity });
      }
    }
  }
  return { operations, added, removed: [...removed].sort(byName), normalised };
};

/**
 * Plans the smallest change that gives every container exactly its desired
 * devices (quantity `"1"`, in `limits` only) and, when un-instrumenting, drops
 * the deprecated eBPF annotation. Touches nothing else: no other resource, no
 * other field, no init container. Desired devices of containers the pod
 * template lacks are ignored (the rules report them). Container paths use the
 * indexes of `workload`; the resourceVersion precondition makes that safe.
 */
export const planDevices = (workload: DevicePatchSubject, target: DevicePlanTarget): DevicePlan => {
  const operations: Array<JsonPatchOperation> = [];
  const added: Array<ContainerDevice> = [];
  const removed: Array<ContainerDevice> = [];
  const normalised: Array<ContainerDevice> = [];
  const template = templatePath(workload.kind ?? "Deployment");

  workload.spec.template.spec.containers.forEach((container, index) => {
    const wanted =
      target._tag === "Instrument"
        ? (target.devices[container.name] ?? []).filter(isDeviceName)
        : [];
    const plan = planContainer(template, container, index, new Set(wanted));
    operations.push(...plan.operations);
    const entry = (device: string): ContainerDevice => ({ container: container.name, device });
    added.push(...plan.added.map(entry));
    removed.push(...plan.removed.map(entry));
    normalised.push(...plan.normalised.map(entry));
  });

  const annotationRemoved =
    target._tag === "Uninstrument" &&
    workload.metadata.annotations?.[DeprecatedEbpfAnnotation] !== undefined;
  if (annotationRemoved) {
    operations.push({
      op: "remove",
      path: jsonPointer(["metadata", "annotations", DeprecatedEbpfAnnotation]),
    });
  }

  if (operations.length === 0) return { _tag: "NoChange" };
  const devicesRemain =
    target._tag === "Instrument" &&
    workload.spec.template.spec.containers.some((container) =>
      (target.devices[container.name] ?? []).some(isDeviceName),
    );
  const label = labelOperation(template, workload, devicesRemain);
  if (label.operation !== undefined) operations.push(label.operation);
  return {
    _tag: "Patch",
    operations: [resourceVersionPrecondition(workload.metadata.resourceVersion), ...operations],
    summary: { added, removed, normalised, annotationRemoved, label: label.change },
  };
};

/**
 * The label rides along a device change only: set while any device remains, removed with the
 * last one. A template whose devices do not change keeps its label as it is (adding or removing
 * it alone would restart the pods for nothing).
 */
const labelOperation = (
  template: ReadonlyArray<string>,
  workload: DevicePatchSubject,
  devicesRemain: boolean,
): { operation?: JsonPatchOperation; change: DevicePlanSummary["label"] } => {
  const labels = workload.spec.template.metadata?.labels;
  const present = labels?.[InstrumentedPodLabel] === InstrumentedPodLabelValue;
  const path = jsonPointer([...template, "metadata", "labels", InstrumentedPodLabel]);
  if (devicesRemain && !present) {
    const fresh = { [InstrumentedPodLabel]: InstrumentedPodLabelValue };
    const operation: JsonPatchOperation =
      workload.spec.template.metadata === undefined
        ? {
            op: "add",
            path: jsonPointer([...template, "metadata"]),
            value: { labels: fresh },
          }
        : labels === undefined
          ? {
              op: "add",
              path: jsonPointer([...template, "metadata", "labels"]),
              value: fresh,
            }
          : { op: "add", path, value: InstrumentedPodLabelValue };
    return { operation, change: "added" };
  }
  if (!devicesRemain && labels?.[InstrumentedPodLabel] !== undefined)
    return { operation: { op: "remove", path }, change: "removed" };
  return { change: "unchanged" };
};

/**
 * Annotation changes that ride along a device change: set (a string) or remove (`null`), in the
 * same patch, so the record of a change can never be missing from the change itself. Keys
 * already as asked are left alone; removing an absent key is nothing.
 */
export type AnnotationChanges = Readonly<Record<string, string | null>>;

/** Adds `changes` to a device plan's patch; a `NoChange` plan stays `NoChange`. */
export const withAnnotations = (
  plan: DevicePlan,
  workload: DevicePatchSubject,
  changes: AnnotationChanges,
): DevicePlan => {
  if (plan._tag === "NoChange") return plan;
  const current = workload.metadata.annotations;
  const operations: Array<JsonPatchOperation> = [];
  if (current === undefined && Object.values(changes).some((value) => value !== null))
    operations.push({ op: "add", path: "/metadata/annotations", value: {} });
  for (const [key, value] of Object.entries(changes)) {
    const path = jsonPointer(["metadata", "annotations", key]);
    const present = current?.[key] !== undefined;
    if (value === null) {
      // The eBPF annotation may already be on its way out in this same patch.
      const removing = plan.operations.some(
        (operation) => operation.op === "remove" && operation.path === path,
      );
      if (present && !removing) operations.push({ op: "remove", path });
    } else if (current?.[key] !== value)
      operations.push({ op: present ? "replace" : "add", path, value });
  }
  return { ...plan, operations: [...plan.operations, ...operations] };
};
