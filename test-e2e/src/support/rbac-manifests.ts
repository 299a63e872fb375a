/**
 * The RBAC objects of the rendered plain manifests (deploy/manifests/*.yaml, what
 * `helm template` prints for deploy/helm/instrumentor), re-targeted at a test's own Odigos
 * namespace, applied with the admin client, and edited one verb at a time.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  type KubeConfig,
  loadAllYaml,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1Deployment,
  type V1PolicyRule,
  type V1Role,
  type V1RoleBinding,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import { waitFor } from "./wait-for.js";

export const manifestsDir = fileURLToPath(new URL("../../../deploy/manifests/", import.meta.url));
/** The namespace the manifests are rendered for. */
export const renderedNamespace = "odigos-system";

export interface RenderedManifests {
  readonly serviceAccount: V1ServiceAccount;
  readonly clusterRole: V1ClusterRole;
  readonly clusterRoleBinding: V1ClusterRoleBinding;
  readonly role: V1Role;
  readonly roleBinding: V1RoleBinding;
  readonly deployment: V1Deployment;
}

type Manifest = { kind?: string; metadata?: { name?: string; namespace?: string } };

/** The roles for people who read the plugin's status, not the instrumentor's own. */
const statusViewerFile = "status-viewer.yaml";

const readObjects = (dir: string, files: (name: string) => boolean): Manifest[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".yaml") && files(name))
    .sort()
    .flatMap((name) => loadAllYaml(readFileSync(join(dir, name), "utf8")) as Manifest[])
    .filter((object) => object !== null && object !== undefined);

/** The chart's ClusterRole and Role for `kubectl odigos-instrumentor` users (bound to nobody). */
export function readStatusViewerRoles(dir = manifestsDir): {
  readonly clusterRole: V1ClusterRole;
  readonly role: V1Role;
} {
  const objects = readObjects(dir, (name) => name === statusViewerFile);
  const clusterRole = objects.find((object) => object.kind === "ClusterRole");
  const role = objects.find((object) => object.kind === "Role");
  if (clusterRole === undefined || role === undefined)
    throw new Error(`deploy/manifests/${statusViewerFile} lacks its ClusterRole or Role`);
  return { clusterRole: clusterRole as V1ClusterRole, role: role as V1Role };
}

/** The instrumentor's own objects of deploy/manifests/*.yaml, by kind (exactly one of each is expected). */
export function readRenderedManifests(dir = manifestsDir): RenderedManifests {
  const objects = readObjects(dir, (name) => name !== statusViewerFile);
  const one = <T>(kind: string): T => {
    const found = objects.filter((object) => object.kind === kind);
    if (found.length !== 1)
      throw new Error(`deploy/manifests holds ${found.length} ${kind} objects, expected 1`);
    return structuredClone(found[0]) as T;
  };
  return {
    serviceAccount: one("ServiceAccount"),
    clusterRole: one("ClusterRole"),
    clusterRoleBinding: one("ClusterRoleBinding"),
    role: one("Role"),
    roleBinding: one("RoleBinding"),
    deployment: one("Deployment"),
  };
}

/**
 * The manifests moved to `namespace`, with the cluster-scoped objects renamed `<name>-<suffix>`
 * so that test runs (and other files) never share or overwrite them.
 */
export function retarget(
  manifests: RenderedManifests,
  namespace: string,
  suffix: string,
): RenderedManifests {
  const m = structuredClone(manifests);
  const clusterName = `${m.clusterRole.metadata?.name}-${suffix}`;
  const moveSubjects = (subjects: V1RoleBinding["subjects"]) =>
    (subjects ?? []).map((subject) =>
      subject.namespace === renderedNamespace ? { ...subject, namespace } : subject,
    );
  m.serviceAccount.metadata = { ...m.serviceAccount.metadata, namespace };
  m.clusterRole.metadata = { ...m.clusterRole.metadata, name: clusterName };
  m.clusterRoleBinding.metadata = { ...m.clusterRoleBinding.metadata, name: clusterName };
  m.clusterRoleBinding.roleRef = { ...m.clusterRoleBinding.roleRef, name: clusterName };
  m.clusterRoleBinding.subjects = moveSubjects(m.clusterRoleBinding.subjects);
  m.role.metadata = { ...m.role.metadata, namespace };
  m.roleBinding.metadata = { ...m.roleBinding.metadata, namespace };
  m.roleBinding.subjects = moveSubjects(m.roleBinding.subjects);
  m.deployment.metadata = { ...m.deployment.metadata, namespace };
  for (const object of Object.values(m) as Manifest[]) {
    const ns = object.metadata?.namespace;
    if (ns !== undefined && ns !== namespace)
      throw new Error(`${object.kind} still in namespace ${ns}`);
  }
  return m;
}

/** One verb of one rule of the ClusterRole or the Role. */
export interface RuleVerb {
  readonly role: "ClusterRole" | "Role";
  /** Index of the rule in its role. */
  readonly rule: number;
  readonly verb: string;
  readonly apiGroup: string;
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
}

/** Every verb of every rule, in manifest order. */
export function ruleVerbs(manifests: RenderedManifests): RuleVerb[] {
  const of = (role: "ClusterRole" | "Role", rules: readonly V1PolicyRule[] | undefined) =>
    (rules ?? []).flatMap((rule, index) =>
      rule.verbs.map((verb) => ({
        role,
        rule: index,
        verb,
        apiGroup: rule.apiGroups?.[0] ?? "",
        resources: rule.resources ?? [],
        resourceNames: rule.resourceNames ?? [],
      })),
    );
  return [...of("ClusterRole", manifests.clusterRole.rules), ...of("Role", manifests.role.rules)];
}

/** The rules with `verb` taken out of one rule; a rule left with no verb is dropped. */
export function withoutVerb(
  rules: readonly V1PolicyRule[] | undefined,
  which: RuleVerb,
): V1PolicyRule[] {
  return (rules ?? []).flatMap((rule, index) => {
    if (index !== which.rule) return [rule];
    const verbs = rule.verbs.filter((verb) => verb !== which.verb);
    return verbs.length === 0 ? [] : [{ ...rule, verbs }];
  });
}

const ignoreConflict = (error: unknown) => {
  if (!(error instanceof ApiException) || error.code !== 409) throw error;
};

/** Creates the ServiceAccount, ClusterRole, ClusterRoleBinding, Role and RoleBinding. */
export async function applyRbac(admin: KubeConfig, m: RenderedManifests): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const namespace = m.role.metadata?.namespace ?? "";
  await core
    .createNamespacedServiceAccount({ namespace, body: m.serviceAccount })
    .catch(ignoreConflict);
  await rbac.createClusterRole({ body: m.clusterRole });
  await rbac.createClusterRoleBinding({ body: m.clusterRoleBinding });
  await rbac.createNamespacedRole({ namespace, body: m.role });
  await rbac.createNamespacedRoleBinding({ namespace, body: m.roleBinding });
}

/** Replaces the rules of the ClusterRole and the Role (unconditional update). */
export async function setRules(
  admin: KubeConfig,
  m: RenderedManifests,
  rules: { clusterRole: V1PolicyRule[]; role: V1PolicyRule[] },
): Promise<void> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const clusterName = m.clusterRole.metadata?.name ?? "";
  const namespace = m.role.metadata?.namespace ?? "";
  const roleName = m.role.metadata?.name ?? "";
  await rbac.replaceClusterRole({
    name: clusterName,
    body: { ...m.clusterRole, rules: rules.clusterRole },
  });
  await rbac.replaceNamespacedRole({
    name: roleName,
    namespace,
    body: { ...m.role, rules: rules.role },
  });
}

/** Deletes the cluster-scoped objects (the namespaced ones go with the namespace). */
export async function deleteClusterRbac(admin: KubeConfig, m: RenderedManifests): Promise<void> {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const name = m.clusterRole.metadata?.name ?? "";
  await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
  await rbac.deleteClusterRole({ name }).catch(() => undefined);
}

/**
 * Waits until the API server's authorizer (which follows RBAC objects through a watch) gives
 * `allowed` for this service account and verb, so a test never races an RBAC change.
 */
export async function waitForAccess(
  admin: KubeConfig,
  user: { namespace: string; name: string },
  which: RuleVerb,
  namespace: string | undefined,
  allowed: boolean,
): Promise<void> {
  const authz = admin.makeApiClient(AuthorizationV1Api);
  const resourceAttributes = {
    verb: which.verb,
    group: which.apiGroup,
    resource: which.resources[0] ?? "",
    ...(namespace === undefined ? {} : { namespace }),
    ...(which.resourceNames[0] === undefined ? {} : { name: which.resourceNames[0] }),
  };
  await waitFor(
    async () => {
      const review = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${user.namespace}:${user.name}`,
            groups: ["system:serviceaccounts", `system:serviceaccounts:${user.namespace}`],
            resourceAttributes,
          },
        },
      });
      return (review.status?.allowed ?? false) === allowed;
    },
    {
      timeoutMs: 10_000,
      description: `${which.verb} ${which.resources[0]} ${allowed ? "allowed" : "denied"}`,
    },
  );
}
