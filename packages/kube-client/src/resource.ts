/** REST coordinates of a kind, and the paths built from them. */

/** Where a kind lives in the API: enough to build every path of it. */
export interface Resource {
  /** API group, `""` for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural used in paths, e.g. `deployments`. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** `apps/v1`, or `v1` for the core group. */
export const apiVersionOf = (resource: Resource): string =>
  resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;

const segment = encodeURIComponent;

/** `/api/v1/namespaces/shop/pods`, `/apis/apps/v1/deployments` (all namespaces), … */
export const collectionPath = (resource: Resource, namespace?: string): string => {
  const base =
    resource.group === "" ? `/api/${resource.version}` : `/apis/${apiVersionOf(resource)}`;
  return resource.namespaced && namespace !== undefined
    ? `${base}/namespaces/${segment(namespace)}/${resource.plural}`
    : `${base}/${resource.plural}`;
};

/** `/apis/apps/v1/namespaces/shop/deployments/cart[/status]` */
export const objectPath = (
  resource: Resource,
  name: string,
  namespace?: string,
  subresource?: string,
): string =>
  `${collectionPath(resource, namespace)}/${segment(name)}${subresource === undefined ? "" : `/${subresource}`}`;

const define = (
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced = true,
): Resource => ({ group, version, plural, kind, namespaced });

/** The built-in kinds Odigos tools read or write. */
export const Resources = {
  Namespace: define("", "v1", "namespaces", "Namespace", false),
  Node: define("", "v1", "nodes", "Node", false),
  Pod: define("", "v1", "pods", "Pod"),
  ServiceAccount: define("", "v1", "serviceaccounts", "ServiceAccount"),
  ConfigMap: define("", "v1", "configmaps", "ConfigMap"),
  Deployment: define("apps", "v1", "deployments", "Deployment"),
  StatefulSet: define("apps", "v1", "statefulsets", "StatefulSet"),
  DaemonSet: define("apps", "v1", "daemonsets", "DaemonSet"),
  ReplicaSet: define("apps", "v1", "replicasets", "ReplicaSet"),
  ControllerRevision: define("apps", "v1", "controllerrevisions", "ControllerRevision"),
  CronJob: define("batch", "v1", "cronjobs", "CronJob"),
  Job: define("batch", "v1", "jobs", "Job"),
  CustomResourceDefinition: define(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    false,
  ),
  Event: define("events.k8s.io", "v1", "events", "Event"),
  Lease: define("coordination.k8s.io", "v1", "leases", "Lease"),
} as const satisfies Record<string, Resource>;
