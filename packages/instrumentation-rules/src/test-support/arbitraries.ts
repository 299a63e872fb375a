/**
 * fast-check arbitraries for the inputs of the instrumentation rules. Test-only
 * (excluded from the build by tsconfig.build.json); other packages' tests may
 * copy the approach: small arbitraries that produce *decoded* values, biased
 * towards the interesting keys and values (the marker keys, `"true"`,
 * `"enabled"`, empty strings, existing container names).
 */
import {
  type CollectorsGroup,
  CollectorsGroupRole,
  InstrumentAnnotation,
  type InstrumentedApplication,
  type LanguageByContainer,
  LegacyInstrumentationLabel,
  type OdigosConfiguration,
  type OtelSdk,
  type ProgrammingLanguage,
  ProgrammingLanguages,
  SdkTier,
  SdkType,
  type StringMap,
} from "@odigos/crd-types";
import fc from "fast-check";
import type { DefaultSdks } from "../devices.js";
import type { Marked } from "../opt-in.js";
import { meta } from "./builders.js";

/** Values a marker may carry: the meaningful ones, near misses, and anything. */
export const markerValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("true", "false", "", "yes", "enabled", "disabled", "TRUE", " true", "Enabled"),
  fc.string({ maxLength: 8 }),
);

/** Label/annotation keys other than the markers (some look similar). */
export const otherKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "app",
    "team",
    "odigos.io/reported-name",
    "instrumentation.odigos.io/ebpf",
    "odigos.io/instrument-x",
    "odigos-instrumentation-legacy",
  ),
  fc.stringMatching(/^[a-z][a-z0-9./-]{0,15}$/),
);

/** A string map that may or may not contain `markerKey` (with a random value). */
export const stringMapWith = (markerKey: string): fc.Arbitrary<StringMap> =>
  fc
    .tuple(
      fc.dictionary(otherKey, fc.string({ maxLength: 8 }), { maxKeys: 4, noNullPrototype: true }),
      fc.option(markerValue, { nil: undefined }),
    )
    .map(([others, value]) => {
      const { [markerKey]: _dropped, ...rest } = others;
      return value === undefined ? rest : { ...rest, [markerKey]: value };
    });

/**
 * Metadata of a workload or namespace: random labels and annotations, each
 * possibly absent, each possibly carrying its marker key with a random value.
 */
export const markedMetadata: fc.Arbitrary<Marked> = fc.record(
  {
    labels: stringMapWith(LegacyInstrumentationLabel),
    annotations: stringMapWith(InstrumentAnnotation),
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** Metadata that carries no marker at all (but may have other labels/annotations). */
export const unmarkedMetadata: fc.Arbitrary<Marked> = markedMetadata.map(withoutMarkers);

/** Removes both marker keys from some metadata. */
export function withoutMarkers(metadata: Marked): Marked {
  const { [LegacyInstrumentationLabel]: _label, ...labels } = metadata.labels ?? {};
  const { [InstrumentAnnotation]: _annotation, ...annotations } = metadata.annotations ?? {};
  return { labels, annotations };
}

/** A marker the object will certainly carry, and whether it says enabled. */
export const ownMarker: fc.Arbitrary<{
  readonly enabled: boolean;
  readonly apply: (m: Marked) => Marked;
}> = fc.oneof(
  // Annotation: decides whatever the label says.
  fc.tuple(markerValue, fc.option(markerValue, { nil: undefined })).map(([value, label]) => ({
    enabled: value === "true",
    apply: (metadata: Marked): Marked => ({
      labels: {
        ...metadata.labels,
        ...(label === undefined ? {} : { [LegacyInstrumentationLabel]: label }),
      },
      annotations: { ...metadata.annotations, [InstrumentAnnotation]: value },
    }),
  })),
  // Legacy label alone.
  markerValue.map((value) => ({
    enabled: value === "enabled",
    apply: (metadata: Marked): Marked => {
      const { [InstrumentAnnotation]: _dropped, ...annotations } = metadata.annotations ?? {};
      return { labels: { ...metadata.labels, [LegacyInstrumentationLabel]: value }, annotations };
    },
  })),
);

/** Namespace names, including the usual suspects. */
export const namespaceName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("default", "shop", "kube-system", "odigos-system"),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
);

export const language: fc.Arbitrary<ProgrammingLanguage> = fc.constantFrom(...ProgrammingLanguages);

/** DNS-label-ish container names. */
export const containerName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("app", "sidecar", "istio-proxy", "worker"),
  fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/),
);

/** A pod template's containers: one to five, with unique names. */
export const containers: fc.Arbitrary<ReadonlyArray<{ readonly name: string }>> = fc
  .uniqueArray(containerName, { minLength: 1, maxLength: 5 })
  .map((names) => names.map((name) => ({ name })));

/**
 * Language entries mostly naming the given containers, sometimes a container
 * that does not exist, with duplicates possible.
 */
export const languageEntries = (
  containerNames: ReadonlyArray<string>,
  constraints: { readonly minLength?: number; readonly maxLength?: number } = {},
): fc.Arbitrary<ReadonlyArray<LanguageByContainer>> =>
  fc.array(
    fc.record(
      {
        containerName:
          containerNames.length === 0
            ? containerName
            : fc.oneof(
                { weight: 4, arbitrary: fc.constantFrom(...containerNames) },
                { weight: 1, arbitrary: containerName },
              ),
        language,
        processName: fc.constantFrom("java", "node", "python3", "/app/server"),
      },
      { requiredKeys: ["containerName", "language"], noNullPrototype: true },
    ),
    { maxLength: constraints.maxLength ?? 6, minLength: constraints.minLength ?? 0 },
  );

/** Runtime details for these languages (always with a spec). */
export const runtimeDetailsOf = (
  languages: ReadonlyArray<LanguageByContainer>,
): InstrumentedApplication => ({
  metadata: meta("deployment-cart", "shop"),
  spec: { languages },
});

/** Runtime details that give no language: absent, without spec, without or with empty languages. */
export const runtimeDetailsWithoutLanguages: fc.Arbitrary<InstrumentedApplication | undefined> =
  fc.constantFrom<InstrumentedApplication | undefined>(
    undefined,
    { metadata: meta("deployment-cart", "shop") },
    { metadata: meta("deployment-cart", "shop"), spec: {} },
    { metadata: meta("deployment-cart", "shop"), spec: { languages: [] } },
  );

/** A collectors group of any role whose status is absent, has no `ready`, or a random `ready`. */
export const collectorsGroup: fc.Arbitrary<CollectorsGroup> = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
    fc.constantFrom(...CollectorsGroupRole.literals),
    fc.option(fc.record({ ready: fc.boolean() }, { requiredKeys: [], noNullPrototype: true }), {
      nil: undefined,
    }),
  )
  .map(([name, role, status]) => ({
    metadata: meta(name, "odigos-system"),
    spec: { role },
    ...(status === undefined ? {} : { status }),
  }));

export const collectorsGroups: fc.Arbitrary<ReadonlyArray<CollectorsGroup>> = fc.array(
  collectorsGroup,
  { maxLength: 5 },
);

/** A data-collection group that is ready: what makes collectors ready. */
export const readyDataCollection: CollectorsGroup = {
  metadata: meta("odigos-data-collection", "odigos-system"),
  spec: { role: "DATA_COLLECTION" },
  status: { ready: true },
};

export const otelSdk: fc.Arbitrary<OtelSdk> = fc.record({
  sdkType: fc.constantFrom(...SdkType.literals),
  sdkTier: fc.constantFrom(...SdkTier.literals),
});

/** Default SDKs for a random subset of the languages (possibly none, possibly all). */
export const defaultSdks: fc.Arbitrary<NonNullable<DefaultSdks>> = fc
  .tuple(fc.subarray([...ProgrammingLanguages]), fc.array(otelSdk, { minLength: 5, maxLength: 5 }))
  .map(([languages, sdks]) =>
    Object.fromEntries(
      languages.map((lang, index) => [lang, sdks[index % sdks.length] as OtelSdk]),
    ),
  );

/** Default SDKs for every language. */
export const completeDefaultSdks: fc.Arbitrary<NonNullable<DefaultSdks>> = fc
  .array(otelSdk, { minLength: 5, maxLength: 5 })
  .map((sdks) =>
    Object.fromEntries(ProgrammingLanguages.map((lang, index) => [lang, sdks[index] as OtelSdk])),
  );

export const odigosConfiguration = (
  sdks: fc.Arbitrary<NonNullable<DefaultSdks>> = defaultSdks,
): fc.Arbitrary<OdigosConfiguration> =>
  fc
    .tuple(sdks, fc.array(namespaceName, { maxLength: 3 }))
    .map(([defaultSDKs, ignoredNamespaces]) => ({
      metadata: meta("odigos-config", "odigos-system"),
      spec: { configVersion: 1, odigosVersion: "v1.0.0", defaultSDKs, ignoredNamespaces },
    }));

/** A permutation of the given list. */
export const shuffled = <T>(items: ReadonlyArray<T>): fc.Arbitrary<ReadonlyArray<T>> =>
  fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
