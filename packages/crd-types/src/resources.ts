/**
 * REST coordinates of the kinds the instrumentor reads and writes, shaped like
 * `@odigos/kube-client`'s `Resource` (this package stays free of any client).
 */
import { OdigosGroup, OdigosPlurals, OdigosVersion } from "./constants.js";
import { type WorkloadKind, workloadPlural } from "./kubernetes.js";

/** Group, version, plural, kind and scope of one kind. */
export interface ResourceCoordinates {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const odigos = (kind: keyof typeof OdigosPlurals): ResourceCoordinates => ({
  group: OdigosGroup,
  version: OdigosVersion,
  plural: OdigosPlurals[kind],
  kind,
  namespaced: true,
});

/** The three Odigos kinds. */
export const OdigosResources = {
  InstrumentedApplication: odigos("InstrumentedApplication"),
  CollectorsGroup: odigos("CollectorsGroup"),
  OdigosConfiguration: odigos("OdigosConfiguration"),
} as const;

const workload = (group: string, version: string, kind: WorkloadKind): ResourceCoordinates => ({
  group,
  version,
  plural: workloadPlural(kind),
  kind,
  namespaced: true,
});

const workloads: Readonly<Record<WorkloadKind, ResourceCoordinates>> = {
  Deployment: workload("apps", "v1", "Deployment"),
  StatefulSet: workload("apps", "v1", "StatefulSet"),
  DaemonSet: workload("apps", "v1", "DaemonSet"),
  CronJob: workload("batch", "v1", "CronJob"),
  Rollout: workload("argoproj.io", "v1alpha1", "Rollout"),
};

/** The coordinates of a workload kind (`apps/v1`, `batch/v1` for CronJob, `argoproj.io/v1alpha1` for Rollout). */
export const workloadResource = (kind: WorkloadKind): ResourceCoordinates => workloads[kind];

/** `apiVersion` of a workload kind: `apps/v1`, `batch/v1`, `argoproj.io/v1alpha1`. */
export const workloadApiVersion = (kind: WorkloadKind): string =>
  `${workloads[kind].group}/${workloads[kind].version}`;
