/**
 * Builders for decoded objects, so tests state only what matters to them.
 * Test-only: excluded from the build by tsconfig.build.json.
 */
import {
  type Deployment,
  decodeDeployment,
  decodeInstrumentedApplication,
  type InstrumentedApplication,
  OdigosResources,
  type StringMap,
} from "@odigos/crd-types";
import type { OptIn } from "@odigos/instrumentation-rules";
import { Resources } from "@odigos/kube-client";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import { CleanupWritersLive } from "../writers.js";

const IA = OdigosResources.InstrumentedApplication;

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

/**
 * A fake API server holding these objects (with the UIDs and resourceVersions it gave them),
 * and the live writers over it.
 */
export const fakeCluster = (
  initial: {
    readonly runtimeDetails?: ReadonlyArray<InstrumentedApplication>;
    readonly workloads?: ReadonlyArray<Deployment>;
  } = {},
) => {
  const fake = new FakeApiServer({ fieldManager: "odigos-instrumentor" });
  const stored = {
    runtimeDetails: (initial.runtimeDetails ?? []).map((object) =>
      Either.getOrThrow(decodeInstrumentedApplication(fake.put(IA, object))),
    ),
    workloads: (initial.workloads ?? []).map((object) =>
      Either.getOrThrow(decodeDeployment(fake.put(Resources.Deployment, object))),
    ),
  };
  return {
    fake,
    ...stored,
    layer: Layer.provide(CleanupWritersLive, fake.layer),
    /** `namespace/name` of the runtime details still stored. */
    runtimeDetailsLeft: () =>
      fake.list(IA).map((object) => `${object.metadata.namespace}/${object.metadata.name}`),
    workload: (name = "cart") => {
      const object = fake.get(Resources.Deployment, name, "shop");
      return object === undefined ? undefined : Either.getOrThrow(decodeDeployment(object));
    },
  };
};
