/**
 * Small builders for decoded objects, so tests state only what matters to
 * them. Test-only: excluded from the build by tsconfig.build.json.
 */
import type {
  CollectorsGroup,
  CollectorsGroupRole,
  InstrumentedApplication,
  LanguageByContainer,
  ObjectMeta,
  OdigosConfiguration,
  OtelSdk,
  StringMap,
} from "@odigos/crd-types";
import type { DefaultSdks } from "../devices.js";

/** `ObjectMeta` with the required fields filled in. */
export const meta = (
  name: string,
  namespace: string | undefined,
  extra: { readonly labels?: StringMap; readonly annotations?: StringMap } = {},
): ObjectMeta => ({
  name,
  ...(namespace === undefined ? {} : { namespace }),
  uid: `uid-${namespace ?? ""}-${name}`,
  resourceVersion: "1",
  ...extra,
});

/** Runtime details (`InstrumentedApplication`) naming these language entries. */
export const runtimeDetails = (
  languages: ReadonlyArray<LanguageByContainer>,
  namespace = "shop",
  name = "deployment-cart",
): InstrumentedApplication => ({ metadata: meta(name, namespace), spec: { languages } });

/** A collectors group; `ready: undefined` leaves `status` out entirely. */
export const collectorsGroup = (
  role: CollectorsGroupRole,
  ready: boolean | undefined,
  name: string = role === "GATEWAY" ? "odigos-gateway" : "odigos-data-collection",
): CollectorsGroup => ({
  metadata: meta(name, "odigos-system"),
  spec: { role },
  ...(ready === undefined ? {} : { status: { ready } }),
});

/** Default SDKs used by most tests: every language has one. */
export const communitySdks: NonNullable<DefaultSdks> = {
  java: { sdkType: "native", sdkTier: "community" },
  python: { sdkType: "native", sdkTier: "community" },
  go: { sdkType: "ebpf", sdkTier: "community" },
  dotnet: { sdkType: "native", sdkTier: "community" },
  javascript: { sdkType: "native", sdkTier: "community" },
};

/** `odigos-config` with these default SDKs (`null`: no `defaultSDKs` field) and ignored namespaces. */
export const odigosConfig = (
  defaultSDKs: Readonly<Record<string, OtelSdk>> | null = communitySdks,
  ignoredNamespaces: ReadonlyArray<string> = [],
): OdigosConfiguration => ({
  metadata: meta("odigos-config", "odigos-system"),
  spec: {
    configVersion: 1,
    odigosVersion: "v1.0.0",
    ...(defaultSDKs === null ? {} : { defaultSDKs }),
    ignoredNamespaces,
  },
});
