/**
 * Builders for decoded workloads, so tests state only what matters to them.
 * Test-only: excluded from the build by tsconfig.build.json.
 */
import type { Container, Deployment, ResourceList, StringMap } from "@odigos/crd-types";

export const goDevice = "instrumentation.odigos.io/go-ebpf-community";
export const javaDevice = "instrumentation.odigos.io/java-native-community";
export const javaEnterpriseDevice = "instrumentation.odigos.io/java-native-enterprise";
export const pythonDevice = "instrumentation.odigos.io/python-native-community";

/** A container with optional `limits` / `requests` (`null`: no `resources` at all). */
export const container = (
  name: string,
  resources: { readonly limits?: ResourceList; readonly requests?: ResourceList } | null = null,
): Container => (resources === null ? { name } : { name, resources });

/** A decoded Deployment `shop/cart` with these containers. */
export const deployment = (
  containers: ReadonlyArray<Container>,
  options: {
    readonly annotations?: StringMap;
    readonly resourceVersion?: string;
    /** The pod template's labels (default `app: cart`); `null`: a template without labels. */
    readonly templateLabels?: StringMap | null;
  } = {},
): Deployment => ({
  kind: "Deployment",
  metadata: {
    name: "cart",
    namespace: "shop",
    uid: "uid-cart",
    resourceVersion: options.resourceVersion ?? "7",
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
  },
  spec: {
    template: {
      metadata:
        options.templateLabels === null
          ? {}
          : { labels: options.templateLabels ?? { app: "cart" } },
      spec: { containers },
    },
  },
});

export const cartRef = { kind: "Deployment", namespace: "shop", name: "cart" } as const;
