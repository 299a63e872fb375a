/**
 * Builders for decoded objects, so tests state only what matters to them.
 * Test-only: excluded from the build by tsconfig.build.json.
 */
import type { Deployment, InstrumentedApplication, StringMap } from "@odigos/crd-types";
import type { OptIn } from "@odigos/instrumentation-rules";

export const cartRef = { kind: "Deployment", namespace: "shop", name: "cart" } as const;

export const optedIn: OptIn = { optedIn: true, reason: "NamespaceEnabled" };
export const optedOut: OptIn = { optedIn: false, reason: "WorkloadDisabled" };

export const deployment = (
  name = "cart",
  annotations: StringMap | undefined = undefined,
  resourceVersion = "7",
): Deployment => ({
  kind: "Deployment",
  metadata: {
    name,
    namespace: "shop",
    uid: `uid-${name}`,
    resourceVersion,
    ...(annotations === undefined ? {} : { annotations }),
  },
  spec: { template: { spec: { containers: [{ name: "app" }] } } },
});

export const runtimeDetails = (
  name = "deployment-cart",
  uid = `uid-${name}`,
): InstrumentedApplication => ({
  metadata: { name, namespace: "shop", uid, resourceVersion: "3" },
  spec: { languages: [{ containerName: "app", language: "go" }] },
});

export const reported = { "odigos.io/reported-name": "cart", team: "shop" };
