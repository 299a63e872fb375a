import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1Deployment,
  Watch,
} from "@kubernetes/client-node";
import { Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminKubeConfig } from "./support/cluster.js";
import { kubeClient } from "./support/history.js";
import { createTestNamespace, type TestNamespace } from "./support/namespace.js";
import { kubeConfigForServiceAccount } from "./support/service-account-client.js";
import { waitFor } from "./support/wait-for.js";

const odigos = { group: "odigos.io", version: "v1alpha1" } as const;
const instrumentedApplications = { ...odigos, plural: "instrumentedapplications" } as const;

interface InstrumentedApplication {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
  spec: { languages: { containerName: string; language: string; processName?: string }[] };
}

function instrumentedApplication(
  name: string,
  languages: InstrumentedApplication["spec"]["languages"],
): InstrumentedApplication {
  return {
    apiVersion: "odigos.io/v1alpha1",
    kind: "InstrumentedApplication",
    metadata: { name },
    spec: { languages },
  };
}

function deployment(name: string): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "app", image: `example.com/${name}:1.0.0` }] },
      },
    },
  };
}

/** The HTTP status of a failed client-node call. */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
  return 200;
}

let admin: KubeConfig;
let namespace: TestNamespace;

beforeAll(async () => {
  admin = adminKubeConfig();
  namespace = await createTestNamespace(admin, "control-plane");
});

afterAll(async () => {
  await namespace?.delete();
});

describe("the Odigos CRDs", () => {
  it("are all Established", async () => {
    const api = admin.makeApiClient(ApiextensionsV1Api);
    for (const plural of ["instrumentedapplications", "collectorsgroups", "odigosconfigurations"]) {
      const crd = await api.readCustomResourceDefinition({ name: `${plural}.odigos.io` });
      const established = crd.status?.conditions?.find((c) => c.type === "Established");
      expect(established?.status, plural).toBe("True");
    }
  });

  it("make the API server reject a language outside the enum", async () => {
    const api = admin.makeApiClient(CustomObjectsApi);
    const body = instrumentedApplication("deployment-bad-language", [
      { containerName: "app", language: "cobol" },
    ]);
    const error = await api
      .createNamespacedCustomObject({
        ...instrumentedApplications,
        namespace: namespace.name,
        body,
      })
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    expect(error).toBeInstanceOf(ApiException);
    const status = JSON.parse((error as ApiException<string>).body) as {
      code: number;
      reason: string;
      details: { causes: { reason: string; field: string; message: string }[] };
    };
    expect(status).toMatchObject({ code: 422, reason: "Invalid" });
    expect(status.details.causes).toEqual([
      {
        reason: "FieldValueNotSupported",
        field: "spec.languages[0].language",
        message:
          'Unsupported value: "cobol": supported values: "java", "python", "go", "dotnet", "javascript"',
      },
    ]);
  });
});

describe("a Deployment and its InstrumentedApplication", () => {
  it("round-trip through the API server", async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    const custom = admin.makeApiClient(CustomObjectsApi);
    await apps.createNamespacedDeployment({ namespace: namespace.name, body: deployment("cart") });
    const languages = [
      { containerName: "app", language: "go" },
      { containerName: "sidecar", language: "java", processName: "java -jar agent.jar" },
    ];
    await custom.createNamespacedCustomObject({
      ...instrumentedApplications,
      namespace: namespace.name,
      body: instrumentedApplication("deployment-cart", languages),
    });

    const readDeployment = await apps.readNamespacedDeployment({
      name: "cart",
      namespace: namespace.name,
    });
    expect(readDeployment.metadata?.labels).toEqual({ app: "cart" });
    expect(readDeployment.spec?.template.spec?.containers).toMatchObject([
      { name: "app", image: "example.com/cart:1.0.0" },
    ]);
    const readBack = (await custom.getNamespacedCustomObject({
      ...instrumentedApplications,
      namespace: namespace.name,
      name: "deployment-cart",
    })) as InstrumentedApplication;
    expect(readBack.metadata.namespace).toBe(namespace.name);
    expect(readBack.spec.languages).toEqual(languages);
  });
});

describe("the live KubeClient", () => {
  // A ConfigMap: no controller writes it, so its version changes only by this test's writes.
  it("gets only the metadata of a written object when it asks, with the version a GET sees", async () => {
    const client = await kubeClient(inject("kubeconfigPath"));
    const write = { namespace: namespace.name, answer: "metadata" } as const;
    try {
      const created = await Effect.runPromise(
        client.create(
          Resources.ConfigMap,
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "meta" }, data: { a: "1" } },
          write,
        ),
      );
      expect(created.kind).toBe("PartialObjectMetadata");
      const patched = await Effect.runPromise(
        client.patch(
          Resources.ConfigMap,
          "meta",
          {
            type: "json",
            operations: [
              {
                op: "test",
                path: "/metadata/resourceVersion",
                value: created.metadata.resourceVersion,
              },
              { op: "add", path: "/data/b", value: "2" },
            ],
          },
          write,
        ),
      );
      expect(patched).toMatchObject({
        apiVersion: "meta.k8s.io/v1",
        kind: "PartialObjectMetadata",
        metadata: { name: "meta", namespace: namespace.name },
      });
      expect(patched.data).toBeUndefined();
      const read = await Effect.runPromise(
        client.get(Resources.ConfigMap, "meta", { namespace: namespace.name }),
      );
      expect(read.data).toEqual({ a: "1", b: "2" });
      expect(patched.metadata.resourceVersion).toBe(read.metadata.resourceVersion);
    } finally {
      client.close();
    }
  });
});

describe("a watch on InstrumentedApplications", () => {
  it("sees create, update and delete in order", async () => {
    const custom = admin.makeApiClient(CustomObjectsApi);
    const scope = { ...instrumentedApplications, namespace: namespace.name };
    const name = "deployment-watched";
    // Start from a listed resourceVersion so no event between list and watch is missed.
    const list = (await custom.listNamespacedCustomObject(scope)) as {
      metadata: { resourceVersion: string };
    };
    const seen: { type: string; name: string; languages: string[] }[] = [];
    const watchFailure: unknown[] = [];
    const watch = await new Watch(admin).watch(
      `/apis/odigos.io/v1alpha1/namespaces/${namespace.name}/instrumentedapplications`,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: false },
      (type, object: InstrumentedApplication) => {
        if (object.metadata.name !== name) return;
        seen.push({ type, name, languages: object.spec.languages.map((l) => l.language) });
      },
      (error) => {
        if (error !== null && error !== undefined) watchFailure.push(error);
      },
    );
    try {
      await custom.createNamespacedCustomObject({
        ...scope,
        body: instrumentedApplication(name, [{ containerName: "app", language: "python" }]),
      });
      await custom.patchNamespacedCustomObject(
        {
          ...scope,
          name,
          body: { spec: { languages: [{ containerName: "app", language: "javascript" }] } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await custom.deleteNamespacedCustomObject({ ...scope, name });

      await waitFor(() => seen.length >= 3 || watchFailure.length > 0, {
        description: "three watch events",
      });
      expect(watchFailure).toEqual([]);
      expect(seen).toEqual([
        { type: "ADDED", name, languages: ["python"] },
        { type: "MODIFIED", name, languages: ["javascript"] },
        { type: "DELETED", name, languages: ["javascript"] },
      ]);
    } finally {
      watch.abort();
    }
  });
});

describe("a service account allowed only to get deployments in one namespace", () => {
  let other: TestNamespace;
  let serviceAccount: KubeConfig;

  beforeAll(async () => {
    other = await createTestNamespace(admin, "rbac-other");
    const apps = admin.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace: namespace.name, body: deployment("shop") });
    await apps.createNamespacedDeployment({ namespace: other.name, body: deployment("shop") });
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: namespace.name,
      body: {
        metadata: { name: "deployment-reader" },
        rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: namespace.name,
      body: {
        metadata: { name: "deployment-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "deployment-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: namespace.name }],
      },
    });
    serviceAccount = await kubeConfigForServiceAccount(admin, {
      namespace: namespace.name,
      name: "reader",
    });
  });

  afterAll(async () => {
    await other?.delete();
  });

  it("can get a deployment in its namespace", async () => {
    const apps = serviceAccount.makeApiClient(AppsV1Api);
    const read = await apps.readNamespacedDeployment({ name: "shop", namespace: namespace.name });
    expect(read.metadata?.name).toBe("shop");
  });

  it("is refused patch (403)", async () => {
    const apps = serviceAccount.makeApiClient(AppsV1Api);
    const patch = apps.patchNamespacedDeployment(
      {
        name: "shop",
        namespace: namespace.name,
        body: { metadata: { labels: { touched: "yes" } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(await statusOf(patch)).toBe(403);
  });

  it("is refused other namespaces (403)", async () => {
    const apps = serviceAccount.makeApiClient(AppsV1Api);
    expect(
      await statusOf(apps.readNamespacedDeployment({ name: "shop", namespace: other.name })),
    ).toBe(403);
    expect(await statusOf(apps.listNamespacedDeployment({ namespace: namespace.name }))).toBe(403);
  });
});
