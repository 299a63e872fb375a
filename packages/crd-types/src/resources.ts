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

const workloads: Readonly<Record<WorkloadKind, ResourceCoordinates>> = {
  Deployment: {
    group: "apps",
    version: "v1",
    plural: workloadPlural("Deployment"),
    kind: "Deployment",
    namespaced: true,
  },
  StatefulSet: {
    group: "apps",
    version: "v1",
    plural: workloadPlural("StatefulSet"),
    kind: "StatefulSet",
    namespaced: true,
  },
  DaemonSet: {
    group: "apps",
    version: "v1",
    plural: workloadPlural("DaemonSet"),
    kind: "DaemonSet",
    namespaced: true,
  },
};

/** `apps/v1` coordinates of a workload kind. */
export const workloadResource = (kind: WorkloadKind): ResourceCoordinates => workloads[kind];
