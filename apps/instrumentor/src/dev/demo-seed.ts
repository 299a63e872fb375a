/** The demo's objects: an Odigos namespace with ready collectors and one opted-in Deployment. */
import {
  DeviceResourcePrefix,
  OdigosApiVersion,
  OdigosConfigName,
  OdigosResources,
} from "@odigos/crd-types";
import { KubeClient, type KubeError, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Schedule from "effect/Schedule";

export const demoNamespace = "demo";
export const demoWorkload = "checkout";
export const demoCollectorsGroup = "odigos-data-collection";

export const seedDemo = (odigosNamespace: string): Effect.Effect<void, KubeError, KubeClient> =>
  Effect.gen(function* () {
    const client = yield* KubeClient;
    yield* client.create(Resources.Namespace, { metadata: { name: odigosNamespace } });
    yield* client.create(OdigosResources.OdigosConfiguration, {
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
    yield* client.create(OdigosResources.CollectorsGroup, {
      apiVersion: OdigosApiVersion,
      kind: "CollectorsGroup",
      metadata: { name: demoCollectorsGroup, namespace: odigosNamespace },
      spec: { role: "DATA_COLLECTION" },
    });
    yield* client.patch(
      OdigosResources.CollectorsGroup,
      demoCollectorsGroup,
      { type: "merge", body: { status: { ready: true } } },
      { namespace: odigosNamespace, subresource: "status" },
    );
    yield* client.create(Resources.Namespace, { metadata: { name: demoNamespace } });
    yield* client.create(Resources.Deployment, {
      metadata: {
        name: demoWorkload,
        namespace: demoNamespace,
        annotations: { "odigos.io/instrument": "true" },
      },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: demoWorkload } },
        template: {
          metadata: { labels: { app: demoWorkload } },
          spec: { containers: [{ name: "app", image: "ghcr.io/example/checkout:1.0" }] },
        },
      },
    });
    yield* client.create(OdigosResources.InstrumentedApplication, {
      apiVersion: OdigosApiVersion,
      kind: "InstrumentedApplication",
      metadata: { name: `deployment-${demoWorkload}`, namespace: demoNamespace },
      spec: { languages: [{ containerName: "app", language: "go" }] },
    });
  });

/** Polls the demo Deployment until a device appears; returns its name. */
export const waitForDevice = (
  timeoutMs: number,
): Effect.Effect<string, KubeError | Error, KubeClient> =>
  Effect.gen(function* () {
    const client = yield* KubeClient;
    const deployment = yield* client.get(Resources.Deployment, demoWorkload, {
      namespace: demoNamespace,
    });
    const spec = deployment.spec as {
      template?: {
        spec?: { containers?: Array<{ resources?: { limits?: Record<string, string> } }> };
      };
    };
    const limits = spec.template?.spec?.containers?.[0]?.resources?.limits ?? {};
    const device = Object.keys(limits).find((name) => name.startsWith(DeviceResourcePrefix));
    if (device === undefined)
      return yield* Effect.fail(new Error(`no device on ${demoNamespace}/${demoWorkload} yet`));
    return device;
  }).pipe(
    Effect.retry(Schedule.spaced("200 millis")),
    Effect.timeoutFail({
      duration: timeoutMs,
      onTimeout: () =>
        new Error(`no device on ${demoNamespace}/${demoWorkload} after ${timeoutMs} ms`),
    }),
  );
