/**
 * SPEC section 5 as pure planners: which runtime details and which workload
 * annotation must go, given the workload's opt-in answer. No I/O.
 */
import {
  type InstrumentedApplication,
  type ObjectMeta,
  ReportedNameAnnotation,
  type WorkloadRef,
  workloadKey,
} from "@odigos/crd-types";
import type { OptIn } from "@odigos/instrumentation-rules";

/** Delete one InstrumentedApplication, only if its UID is still `uid` (it was not replaced meanwhile). */
export interface DeleteRuntimeDetails {
  readonly _tag: "DeleteRuntimeDetails";
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** Remove `odigos.io/reported-name` from a workload, only if it is still at `resourceVersion`. */
export interface RemoveReportedName {
  readonly _tag: "RemoveReportedName";
  readonly ref: WorkloadRef;
  readonly resourceVersion: string;
}

/** One cleanup write. */
export type CleanupAction = DeleteRuntimeDetails | RemoveReportedName;

/** A workload as the cleanup planner sees it (any crd-types `Workload` fits `workload`). */
export interface WorkloadCleanupInput {
  readonly ref: WorkloadRef;
  readonly workload: { readonly metadata: Pick<ObjectMeta, "resourceVersion" | "annotations"> };
  /** The rules' opt-in answer for this workload, now. */
  readonly optIn: OptIn;
  /** Its `InstrumentedApplication` (named `<kind>-<name>`), if the cache has one. */
  readonly runtimeDetails: InstrumentedApplication | undefined;
}

/** The UID-guarded delete of these runtime details (they live in the workload's namespace). */
const deleteRuntimeDetails = (
  runtimeDetails: InstrumentedApplication,
  workloadNamespace: string,
): DeleteRuntimeDetails => ({
  _tag: "DeleteRuntimeDetails",
  namespace: runtimeDetails.metadata.namespace ?? workloadNamespace,
  name: runtimeDetails.metadata.name,
  uid: runtimeDetails.metadata.uid,
});

/**
 * A workload that is not opted in loses its runtime details and its
 * `odigos.io/reported-name` annotation; an opted-in workload loses nothing.
 * Re-planning after the node agent re-created the runtime details deletes them again.
 */
export const planWorkloadCleanup = (input: WorkloadCleanupInput): ReadonlyArray<CleanupAction> => {
  if (input.optIn.optedIn) return [];
  const actions: Array<CleanupAction> = [];
  if (input.runtimeDetails !== undefined) {
    actions.push(deleteRuntimeDetails(input.runtimeDetails, input.ref.namespace));
  }
  if (input.workload.metadata.annotations?.[ReportedNameAnnotation] !== undefined) {
    actions.push({
      _tag: "RemoveReportedName",
      ref: input.ref,
      resourceVersion: input.workload.metadata.resourceVersion,
    });
  }
  return actions;
};

/**
 * A namespace's marker was removed or disabled: the workload planner over every
 * workload in it, each with its own opt-in answer (a workload that enables
 * itself stays opted in and loses nothing). Ordered by workload.
 */
export const planNamespaceCleanup = (
  workloads: Iterable<WorkloadCleanupInput>,
): ReadonlyArray<CleanupAction> =>
  [...workloads]
    .sort((a, b) => {
      const [keyA, keyB] = [workloadKey(a.ref), workloadKey(b.ref)];
      return keyA < keyB ? -1 : keyA > keyB ? 1 : 0;
    })
    .flatMap(planWorkloadCleanup);

/**
 * The workload no longer exists (deleted, or never existed: orphaned runtime
 * details): its runtime details go, whatever opt-in said.
 */
export const planDeletedWorkloadCleanup = (
  ref: WorkloadRef,
  runtimeDetails: InstrumentedApplication | undefined,
): ReadonlyArray<CleanupAction> =>
  runtimeDetails === undefined ? [] : [deleteRuntimeDetails(runtimeDetails, ref.namespace)];

/** `delete InstrumentedApplication shop/deployment-cart (uid 42)`, for logs. */
export const describeCleanupAction = (action: CleanupAction): string =>
  action._tag === "DeleteRuntimeDetails"
    ? `delete InstrumentedApplication ${action.namespace}/${action.name} (uid ${action.uid})`
    : `remove annotation ${ReportedNameAnnotation} from ${action.ref.kind} ${action.ref.namespace}/${action.ref.name}`;
