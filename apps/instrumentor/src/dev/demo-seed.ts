/** The demo's objects: an Odigos namespace with ready collectors and one opted-in Deployment. */
import { DeviceResourcePrefix, OdigosApiVersion, OdigosConfigName } from "@odigos/crd-types";
import type { KubeHttp } from "../kube/http.js";
import {
  collectorsGroupsPath,
  odigosConfigurationsPath,
  runtimeDetailsIn,
} from "../kube/resources.js";

export const demoNamespace = "demo";
export const demoWorkload = "checkout";

const create = (kube: KubeHttp, path: string, body: unknown) =>
  kube.request("POST", path, { body });

export const seedDemo = async (kube: KubeHttp, odigosNamespace: string): Promise<void> => {
  await create(kube, "/api/v1/namespaces", { metadata: { name: odigosNamespace } });
  await create(kube, odigosConfigurationsPath(odigosNamespace), {
    apiVersion: OdigosApiVersion,
    kind: "OdigosConfiguration",
    metadata: { name: OdigosConfigName, namespace: odigosNamespace },
    spec: {
      configVersion: 1,
      odigosVersion: "v1.0.0",
      defaultSDKs: {
        go: { sdkType: "ebpf", sdkTier: "community" },
        java: { sdkType: "native", sdkTier: "community" },
        python: { sdkType: "native", sdkTier: "community" },
        javascript: { sdkType: "native", sdkTier: "community" },
        dotnet: { sdkType: "native", sdkTier: "community" },
      },
    },
  });
  const group = "odigos-data-collection";
  await create(kube, collectorsGroupsPath(odigosNamespace), {
    apiVersion: OdigosApiVersion,
    kind: "CollectorsGroup",
    metadata: { name: group, namespace: odigosNamespace },
    spec: { role: "DATA_COLLECTION" },
  });
  await kube.request("PATCH", `${collectorsGroupsPath(odigosNamespace)}/${group}/status`, {
    body: { status: { ready: true } },
    contentType: "application/merge-patch+json",
  });
  await create(kube, "/api/v1/namespaces", { metadata: { name: demoNamespace } });
  await create(kube, `/apis/apps/v1/namespaces/${demoNamespace}/deployments`, {
    metadata: { name: demoWorkload, annotations: { "odigos.io/instrument": "true" } },
    spec: {
      selector: { matchLabels: { app: demoWorkload } },
      template: {
        metadata: { labels: { app: demoWorkload } },
        spec: { containers: [{ name: "app", image: "ghcr.io/example/checkout:1.0" }] },
      },
    },
  });
  await create(kube, runtimeDetailsIn(demoNamespace), {
    apiVersion: OdigosApiVersion,
    kind: "InstrumentedApplication",
    metadata: { name: `deployment-${demoWorkload}`, namespace: demoNamespace },
    spec: { languages: [{ containerName: "app", language: "go" }] },
  });
};

/** Polls the demo Deployment until a device appears; returns its name. */
export const waitForDevice = async (kube: KubeHttp, timeoutMs: number): Promise<string> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await kube.request(
      "GET",
      `/apis/apps/v1/namespaces/${demoNamespace}/deployments/${demoWorkload}`,
    );
    const limits = (
      body as {
        spec?: {
          template?: {
            spec?: { containers?: Array<{ resources?: { limits?: Record<string, string> } }> };
          };
        };
      }
    ).spec?.template?.spec?.containers?.[0]?.resources?.limits;
    const device = Object.keys(limits ?? {}).find((name) => name.startsWith(DeviceResourcePrefix));
    if (device !== undefined) return device;
    if (Date.now() > deadline)
      throw new Error(`no device on ${demoNamespace}/${demoWorkload} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};
