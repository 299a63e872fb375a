// Issue 8: the rendered RBAC manifests (deploy/manifests) grant exactly what the instrumentor
// uses. Run as their ServiceAccount, it converges; with any one verb of any one rule removed,
// it logs a Forbidden naming that verb and resource, and keeps running. The Argo Rollouts CRD
// (a minimal one) is installed for the whole file, so Rollouts are watched.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  EventsV1Api,
  type KubeConfig,
  type V1PolicyRule,
  Watch,
} from "@kubernetes/client-node";
import { type InstrumentorProcess, type LogLine, startInstrumentor } from "@odigos/harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  argoRolloutsCrdName,
  createRollout,
  installArgoRolloutsCrd,
  rolloutDevices,
  uninstallArgoRolloutsCrd,
} from "../support/argo-rollouts.js";
import { adminKubeConfig, createCronJob, cronJobDevices } from "../support/cluster.js";
import { Cluster, device } from "../support/odigos.js";
import {
  applyRbac,
  deleteClusterRbac,
  type RenderedManifests,
  type RuleVerb,
  readRenderedManifests,
  retarget,
  ruleVerbs,
  setRules,
  waitForAccess,
  withoutVerb,
} from "../support/rbac-manifests.js";
import { kubeConfigForServiceAccount } from "../support/service-account-client.js";
import { waitFor } from "../support/wait-for.js";

const go = [{ containerName: "app", language: "go" as const }];
const leaseName = "instrumentor.odigos.io";
const warnOrWorse = new Set(["warn", "error", "fatal"]);

/** Every string field of a log line (msg, err, ...). */
const textOf = (line: LogLine): string =>
  Object.values(line)
    .filter((value): value is string => typeof value === "string")
    .join("\n");

/** A log line that reports the API server's 403 for this verb on this resource. */
const forbids = (verb: string, resource: string) => (line: LogLine) => {
  const text = textOf(line);
  return /forbidden/i.test(text) && text.includes(`cannot ${verb} resource "${resource}"`);
};

/**
 * Which resources a missing verb must be reported for: the scenario patches a Deployment, a
 * CronJob and a Rollout, the first resource of each patch rule.
 */
const expectedResources = (which: RuleVerb): readonly string[] =>
  which.verb === "patch" ? which.resources.slice(0, 1) : which.resources;

describe("RBAC of the rendered manifests (deploy/manifests)", () => {
  const admin: KubeConfig = adminKubeConfig();
  const cluster = new Cluster(admin);
  const suffix = randomBytes(3).toString("hex");
  const odigosNamespace = `e2e-rbac-odigos-${suffix}`;
  const namespaces: string[] = [odigosNamespace];
  const tempDir = mkdtempSync(join(tmpdir(), "odigos-rbac-"));
  const kubeconfigPath = join(tempDir, "kubeconfig");
  let manifests: RenderedManifests;
  let fullRules: { clusterRole: V1PolicyRule[]; role: V1PolicyRule[] };
  let serviceAccount: { namespace: string; name: string };
  let asServiceAccount: KubeConfig;
  let running: InstrumentorProcess | undefined;
  /** Whether this file installed the Argo Rollouts CRD (then it removes it). */
  let installedArgoCrd = false;

  /**
   * A namespace with an opted-in Deployment and an opted-out one, an opted-in CronJob and an
   * opted-in Rollout, all with runtime details.
   */
  const scenarioNamespace = async (label: string): Promise<string> => {
    const ns = `e2e-rbac-${label}-${suffix}`.slice(0, 63);
    await cluster.createNamespace(ns);
    namespaces.push(ns);
    await cluster.createWorkload("Deployment", ns, "shop", {
      annotations: { "odigos.io/instrument": "true" },
    });
    await cluster.putRuntimeDetails("Deployment", ns, "shop", go);
    await cluster.createWorkload("Deployment", ns, "gone", {
      annotations: { "odigos.io/instrument": "false" },
    });
    await cluster.putRuntimeDetails("Deployment", ns, "gone", go);
    await createCronJob(admin, ns, "nightly", { "odigos.io/instrument": "true" });
    await cluster.putRuntimeDetailsNamed(ns, "cronjob-nightly", { languages: go });
    await createRollout(admin, ns, "canary", { "odigos.io/instrument": "true" });
    await cluster.putRuntimeDetailsNamed(ns, "rollout-canary", { languages: go });
    return ns;
  };

  /** The devices of the scenario's opted-in workload of the patch rule's first resource. */
  const devicesOfScenario = (which: RuleVerb, ns: string) => {
    switch (which.resources[0]) {
      case "cronjobs":
        return cronJobDevices(admin, ns, "nightly");
      case "rollouts":
        return rolloutDevices(admin, ns, "canary");
      default:
        return cluster.devices("Deployment", ns, "shop");
    }
  };

  const start = async (args: readonly string[] = [], waitReady = true) => {
    running = await startInstrumentor({
      kubeconfigPath,
      odigosNamespace,
      args: ["--leader-elect", ...args],
      waitReady,
    });
    return running;
  };

  const stop = async () => {
    const child = running;
    running = undefined;
    if (child === undefined) return undefined;
    const code = await child.stop("SIGTERM");
    expect(child.unstructured).toEqual([]);
    return code;
  };

  const deleteLease = async () => {
    const coordination = admin.makeApiClient(CoordinationV1Api);
    await coordination
      .deleteNamespacedLease({ name: leaseName, namespace: odigosNamespace })
      .catch((error: unknown) => {
        if (!(error instanceof ApiException) || error.code !== 404) throw error;
      });
  };

  beforeAll(async () => {
    manifests = retarget(readRenderedManifests(), odigosNamespace, suffix);
    fullRules = {
      clusterRole: manifests.clusterRole.rules ?? [],
      role: manifests.role.rules ?? [],
    };
    installedArgoCrd = await installArgoRolloutsCrd(admin);
    await cluster.createOdigosNamespace(odigosNamespace);
    await cluster.setCollectorsReady(odigosNamespace, "data-collection", true);
    await applyRbac(admin, manifests);
    serviceAccount = {
      namespace: odigosNamespace,
      name: manifests.serviceAccount.metadata?.name ?? "",
    };
    asServiceAccount = await kubeConfigForServiceAccount(admin, serviceAccount);
    writeFileSync(kubeconfigPath, asServiceAccount.exportConfig(), { mode: 0o600 });
  });

  afterAll(async () => {
    await running?.stop("SIGKILL");
    if (manifests !== undefined) await deleteClusterRbac(admin, manifests);
    for (const name of namespaces)
      await cluster.core.deleteNamespace({ name }).catch(() => undefined);
    if (installedArgoCrd) await uninstallArgoRolloutsCrd(admin);
    rmSync(tempDir, { recursive: true, force: true });
  });

  it("the rules are the least privilege the app needs: no wildcard, no read of single objects but the Lease, no CRD but Argo's", () => {
    const all = [...fullRules.clusterRole, ...fullRules.role];
    for (const rule of all) {
      expect(rule.verbs).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      expect(rule.apiGroups).not.toContain("*");
      if (rule.resources?.includes("customresourcedefinitions"))
        expect(rule.resourceNames).toEqual([argoRolloutsCrdName]);
    }
    expect(
      ruleVerbs(manifests).map((r) => `${r.role} ${r.resources.join(",")} ${r.verb}`),
    ).toMatchInlineSnapshot(`
        [
          "ClusterRole deployments,statefulsets,daemonsets list",
          "ClusterRole deployments,statefulsets,daemonsets watch",
          "ClusterRole deployments,statefulsets,daemonsets patch",
          "ClusterRole cronjobs list",
          "ClusterRole cronjobs watch",
          "ClusterRole cronjobs patch",
          "ClusterRole rollouts list",
          "ClusterRole rollouts watch",
          "ClusterRole rollouts patch",
          "ClusterRole customresourcedefinitions list",
          "ClusterRole customresourcedefinitions watch",
          "ClusterRole pods list",
          "ClusterRole pods watch",
          "ClusterRole namespaces list",
          "ClusterRole namespaces watch",
          "ClusterRole instrumentedapplications list",
          "ClusterRole instrumentedapplications watch",
          "ClusterRole instrumentedapplications delete",
          "ClusterRole events create",
          "Role collectorsgroups,odigosconfigurations list",
          "Role collectorsgroups,odigosconfigurations watch",
          "Role leases create",
          "Role leases get",
          "Role leases update",
        ]
      `);
  });

  it("the rendered Deployment is accepted by the API server (server-side dry run)", async () => {
    const created = await cluster.apps.createNamespacedDeployment({
      namespace: odigosNamespace,
      body: manifests.deployment,
      dryRun: "All",
    });
    const container = created.spec?.template.spec?.containers[0];
    expect(container?.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container?.args).toContain("--leader-elect");
    expect(container?.env?.map((env) => [env.name, env.valueFrom?.fieldRef?.fieldPath])).toEqual([
      ["CURRENT_NS", "metadata.namespace"],
      ["POD_NAME", "metadata.name"],
    ]);
    expect(created.spec?.template.spec?.serviceAccountName).toBe(serviceAccount.name);
  });

  it("with exactly these rules it converges: device added (Deployment, CronJob, Rollout), then removed with the runtime details on opt-out", async () => {
    await deleteLease();
    const ns = await scenarioNamespace("converge");
    const instrumentor = await start();
    await waitFor(
      async () =>
        JSON.stringify(await cluster.devices("Deployment", ns, "shop")) ===
        JSON.stringify({ app: [device("go")] }),
      { timeoutMs: 15_000, description: "device on the opted-in Deployment" },
    );
    // The CronJob's Job template, and the Rollout once the CRD's list and watch (restricted to
    // its name) told the instrumentor it is installed.
    await waitFor(
      async () =>
        JSON.stringify(await cronJobDevices(admin, ns, "nightly")) ===
        JSON.stringify({ app: [device("go")] }),
      { timeoutMs: 15_000, description: "device on the opted-in CronJob" },
    );
    await waitFor(
      async () =>
        JSON.stringify(await rolloutDevices(admin, ns, "canary")) ===
        JSON.stringify({ app: [device("go")] }),
      { timeoutMs: 15_000, description: "device on the opted-in Rollout" },
    );
    await waitFor(async () => !(await cluster.runtimeDetailsExists("Deployment", ns, "gone")), {
      timeoutMs: 15_000,
      description: "runtime details of the opted-out Deployment deleted",
    });

    await cluster.annotateWorkload("Deployment", ns, "shop", { "odigos.io/instrument": "false" });
    await waitFor(
      async () => JSON.stringify(await cluster.devices("Deployment", ns, "shop")) === "{}",
      {
        timeoutMs: 15_000,
        description: "device removed after opt-out",
      },
    );
    await waitFor(async () => !(await cluster.runtimeDetailsExists("Deployment", ns, "shop")), {
      timeoutMs: 15_000,
      description: "runtime details deleted after opt-out",
    });

    // Events were written (events.k8s.io, in the workload's namespace).
    const events = admin.makeApiClient(EventsV1Api);
    await waitFor(
      async () =>
        (await events.listNamespacedEvent({ namespace: ns })).items.some(
          (event) => event.reason === "Instrumented" && event.regarding?.name === "shop",
        ),
      { timeoutMs: 10_000, description: "an Instrumented event on shop" },
    );
    expect(instrumentor.logs.filter((line) => /forbidden/i.test(textOf(line)))).toEqual([]);
    // SIGTERM releases the Lease (get + update) and exits 0.
    expect(await stop()).toBe(0);
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: leaseName, namespace: odigosNamespace });
    expect(lease.spec?.holderIdentity ?? null).toBeNull();
  });

  it("the CRD rule reaches the Argo Rollouts CRD only: a list or watch must select it by name", async () => {
    const crds = asServiceAccount.makeApiClient(ApiextensionsV1Api);
    const status = (request: Promise<unknown>) =>
      request.then(
        () => 200,
        (error: unknown) => (error instanceof ApiException ? error.code : error),
      );
    const byName = (name: string) => `metadata.name=${name}`;
    /** The status of a watch request: 200 once it streams (then it is closed). */
    const watchStatus = async (fieldSelector: string | undefined) => {
      let failed: unknown;
      const controller = await new Watch(asServiceAccount).watch(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        fieldSelector === undefined ? {} : { fieldSelector },
        () => undefined,
        (error) => {
          failed ??= error;
        },
      );
      if (failed !== undefined && failed !== null)
        return (failed as { statusCode?: number }).statusCode ?? failed;
      controller.abort();
      return 200;
    };
    expect(
      await status(
        crds.listCustomResourceDefinition({ fieldSelector: byName(argoRolloutsCrdName) }),
      ),
    ).toBe(200);
    expect(await watchStatus(byName(argoRolloutsCrdName))).toBe(200);
    expect(await watchStatus(undefined)).toBe(403);
    expect(await status(crds.listCustomResourceDefinition())).toBe(403);
    expect(
      await status(
        crds.listCustomResourceDefinition({
          fieldSelector: byName("instrumentedapplications.odigos.io"),
        }),
      ),
    ).toBe(403);
    expect(await status(crds.readCustomResourceDefinition({ name: argoRolloutsCrdName }))).toBe(
      403,
    );
  });

  describe("one verb removed: a Forbidden naming verb and resource is logged, the process keeps running", () => {
    for (const [index, which] of ruleVerbs(readRenderedManifests()).entries()) {
      it(`${which.role} ${which.resources.join(",")}: without ${which.verb}`, async () => {
        // The Lease verbs need their step reached: create only when it is missing, update only
        // when there is one to take over (a free one), get always.
        await deleteLease();
        if (which.resources.includes("leases") && which.verb === "update") {
          await admin.makeApiClient(CoordinationV1Api).createNamespacedLease({
            namespace: odigosNamespace,
            body: {
              metadata: { name: leaseName, namespace: odigosNamespace },
              spec: { leaseDurationSeconds: 15 },
            },
          });
        }
        const ns = await scenarioNamespace(`c${index}`);

        const namespace = which.role === "Role" ? odigosNamespace : undefined;
        await setRules(admin, manifests, {
          clusterRole:
            which.role === "ClusterRole"
              ? withoutVerb(fullRules.clusterRole, which)
              : fullRules.clusterRole,
          role: which.role === "Role" ? withoutVerb(fullRules.role, which) : fullRules.role,
        });
        await waitForAccess(admin, serviceAccount, which, namespace, false);
        try {
          // A missing list or watch keeps the caches from syncing: do not wait for /readyz.
          const instrumentor = await start([], false);
          for (const resource of expectedResources(which)) {
            const line = await instrumentor.waitForLog(forbids(which.verb, resource), 15_000);
            expect(warnOrWorse.has(String(line.level))).toBe(true);
            // Without the CRD's list or watch, its informer fails (and Rollouts go unwatched).
            if (resource === "customresourcedefinitions")
              expect(line.informer).toBe("CustomResourceDefinition");
          }
          // A workload the instrumentor may not patch stays without its device.
          if (which.verb === "patch") expect(await devicesOfScenario(which, ns)).toEqual({});
          // Still alive after the Forbidden: /healthz answers, and SIGTERM finds it running (it
          // logs that it stops, and exits 0; a process that had died of the 403 exits 1).
          const health = await fetch(`http://127.0.0.1:${instrumentor.healthPort}/healthz`);
          expect(health.status).toBe(200);
          expect(await stop()).toBe(0);
          expect(instrumentor.logs.some((line) => line.signal === "SIGTERM")).toBe(true);
        } finally {
          await stop().catch(() => undefined);
          await setRules(admin, manifests, fullRules);
          await waitForAccess(admin, serviceAccount, which, namespace, true);
        }
      });
    }
  });
});
