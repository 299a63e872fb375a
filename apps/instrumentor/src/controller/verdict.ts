/**
 * The rules' answer for one workload, and whether a global change (collectors readiness,
 * `odigos-config`) is what moved it: the same workload judged with the global inputs as they were
 * before that change needed no write.
 */
import {
  type InstrumentedApplication,
  OdigosApiVersion,
  type Workload,
  type WorkloadRef,
  workloadApiVersion,
} from "@odigos/crd-types";
import { type DevicePlanSummary, planDevices } from "@odigos/device-patcher";
import { judgeWorkload, type Verdict } from "@odigos/instrumentation-rules";
import type { ClusterView, ConfigurationState } from "../cache/cluster-state.js";
import type { EventTarget } from "../observability/events.js";
import type { GlobalChange } from "./event-handlers.js";

export const workloadTarget = (ref: WorkloadRef, workload: Workload | undefined): EventTarget => ({
  apiVersion: workloadApiVersion(ref.kind),
  kind: ref.kind,
  namespace: ref.namespace,
  name: ref.name,
  uid: workload?.metadata.uid,
});

export const runtimeDetailsTarget = (details: InstrumentedApplication): EventTarget => ({
  apiVersion: OdigosApiVersion,
  kind: "InstrumentedApplication",
  namespace: details.metadata.namespace ?? "",
  name: details.metadata.name,
  uid: details.metadata.uid,
});

export type { Verdict };

/** The rules' answer for one workload (the library's `judgeWorkload`), from given global inputs. */
export const judge = (
  view: ClusterView,
  ref: WorkloadRef,
  workload: Workload,
  runtimeDetails: InstrumentedApplication | undefined,
  global: { readonly collectorsReady: boolean; readonly configuration: ConfigurationState },
): Verdict =>
  judgeWorkload({
    workload: {
      namespace: ref.namespace,
      metadata: workload.metadata,
      containers: workload.spec.template.spec.containers,
    },
    namespace: view.namespace(ref.namespace)?.metadata,
    odigosNamespace: view.odigosNamespace,
    runtimeDetails,
    collectorsReady: global.collectorsReady,
    config: global.configuration._tag === "Available" ? global.configuration.config : undefined,
  });

/** True when, with the global inputs as they were before `change`, this workload needed no write. */
export const movedBy = (
  change: GlobalChange | undefined,
  view: ClusterView,
  ref: WorkloadRef,
  workload: Workload,
  runtimeDetails: InstrumentedApplication | undefined,
): change is GlobalChange => {
  if (change === undefined) return false;
  const before = judge(view, ref, workload, runtimeDetails, change.before);
  return (
    before.intent._tag === "LeaveAsIs" || planDevices(workload, before.intent)._tag === "NoChange"
  );
};

export const describeSummary = (summary: DevicePlanSummary) => ({
  added: summary.added.map((entry) => `${entry.container}:${entry.device}`),
  removed: summary.removed.map((entry) => `${entry.container}:${entry.device}`),
});
