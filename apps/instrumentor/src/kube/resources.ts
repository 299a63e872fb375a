/** REST paths of every resource the instrumentor reads or writes. */
import {
  OdigosApiVersion,
  OdigosPlurals,
  type WorkloadKind,
  workloadPlural,
} from "@odigos/crd-types";

export const workloadCollectionPath = (kind: WorkloadKind): string =>
  `/apis/apps/v1/${workloadPlural(kind)}`;

export const workloadPath = (kind: WorkloadKind, namespace: string, name: string): string =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${workloadPlural(kind)}/${encodeURIComponent(name)}`;

export const namespaceCollectionPath = "/api/v1/namespaces";

const odigos = (plural: string, namespace?: string): string =>
  namespace === undefined
    ? `/apis/${OdigosApiVersion}/${plural}`
    : `/apis/${OdigosApiVersion}/namespaces/${encodeURIComponent(namespace)}/${plural}`;

export const runtimeDetailsCollectionPath = odigos(OdigosPlurals.InstrumentedApplication);
export const runtimeDetailsIn = (namespace: string): string =>
  odigos(OdigosPlurals.InstrumentedApplication, namespace);
export const runtimeDetailsPath = (namespace: string, name: string): string =>
  `${runtimeDetailsIn(namespace)}/${encodeURIComponent(name)}`;
export const collectorsGroupsPath = (odigosNamespace: string): string =>
  odigos(OdigosPlurals.CollectorsGroup, odigosNamespace);
export const odigosConfigurationsPath = (odigosNamespace: string): string =>
  odigos(OdigosPlurals.OdigosConfiguration, odigosNamespace);

export const eventsPath = (namespace: string): string =>
  `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`;

export const leasePath = (namespace: string, name?: string): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;
