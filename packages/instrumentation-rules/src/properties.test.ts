/** fast-check properties of the rules: order independence, precedence, the "iff", determinism. */
import {
  type CollectorsGroup,
  DefaultOdigosNamespace,
  DeviceResourcePrefix,
  type InstrumentedApplication,
  type OdigosConfiguration,
} from "@odigos/crd-types";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collectorsReady, shouldInstrument } from "./decision.js";
import { desiredDevices, deviceName, isDeviceName } from "./devices.js";
import { deviceIntent } from "./intent.js";
import { ignoredNamespaces, isOptedIn, type Marked } from "./opt-in.js";
import {
  collectorsGroups,
  completeDefaultSdks,
  containers,
  defaultSdks,
  language,
  languageEntries,
  markedMetadata,
  namespaceName,
  odigosConfiguration,
  otelSdk,
  ownMarker,
  readyDataCollection,
  runtimeDetailsOf,
  runtimeDetailsWithoutLanguages,
  shuffled,
  unmarkedMetadata,
} from "./test-support/arbitraries.js";
import type { DeviceProblem, OptIn } from "./types.js";

const sortedProblems = (problems: ReadonlyArray<DeviceProblem>) =>
  [...problems].map((problem) => JSON.stringify(problem)).sort();

/** Containers, language entries for them, default SDKs and collectors groups. */
const workloadState = containers.chain((podContainers) =>
  fc.record({
    containers: fc.constant(podContainers),
    languages: languageEntries(podContainers.map((container) => container.name)),
    defaultSdks,
    groups: collectorsGroups,
    optIn: fc.constantFrom<OptIn>(
      { optedIn: true, reason: "WorkloadEnabled" },
      { optedIn: true, reason: "NamespaceEnabled" },
      { optedIn: false, reason: "WorkloadDisabled" },
      { optedIn: false, reason: "NoMarker" },
    ),
  }),
);

/**
 * Independent oracle for the "should instrument" decision, written from the
 * wording of SPEC sections 2 and 3 alone: it calls no function of this package
 * and uses the literal marker keys and values the SPEC names.
 */
type SpecMarker = "enabled" | "disabled" | "none";

/**
 * SPEC 2: an object "carries a marker" when it has the annotation
 * `odigos.io/instrument` (`"true"` enables, any other value disables) or the
 * legacy label `odigos-instrumentation` (`enabled` enables, any other value
 * disables); "when both are present on one object the annotation wins".
 */
const specMarker = (object: Marked | undefined): SpecMarker => {
  const annotations = object?.annotations ?? {};
  if (Object.hasOwn(annotations, "odigos.io/instrument")) {
    return annotations["odigos.io/instrument"] === "true" ? "enabled" : "disabled";
  }
  const labels = object?.labels ?? {};
  if (Object.hasOwn(labels, "odigos-instrumentation")) {
    return labels["odigos-instrumentation"] === "enabled" ? "enabled" : "disabled";
  }
  return "none";
};

const specOptInBranches = [
  "odigos-namespace",
  "ignored-namespace",
  "own-enabled",
  "own-disabled",
  "namespace-enabled",
  "namespace-disabled",
  "no-marker",
] as const;
const specDecisionBranches = [
  "not-opted-in",
  "no-runtime-details",
  "no-languages",
  "collectors-not-ready",
  "instrument",
] as const;

/** The raw cluster state one workload's decision is read from. */
interface ClusterState {
  readonly workload: Marked;
  readonly namespace: string;
  readonly namespaceMetadata: Marked | undefined;
  readonly config: OdigosConfiguration | undefined;
  readonly runtimeDetails: InstrumentedApplication | undefined;
  readonly groups: ReadonlyArray<CollectorsGroup>;
}

const specShouldInstrument = (state: ClusterState, odigosNamespace: string) => {
  const optInBranch = ((): (typeof specOptInBranches)[number] => {
    // SPEC 2: "A namespace listed in odigos-config spec.ignoredNamespaces, and the
    // Odigos namespace itself, are never instrumented, whatever the markers say."
    if (state.namespace === odigosNamespace) return "odigos-namespace";
    if ((state.config?.spec.ignoredNamespaces ?? []).includes(state.namespace)) {
      return "ignored-namespace";
    }
    // SPEC 2, rule 1: "it carries a marker, and that marker says enabled"; and
    // "A workload's own disabling marker beats an enabling namespace."
    const own = specMarker(state.workload);
    if (own === "enabled") return "own-enabled";
    if (own === "disabled") return "own-disabled";
    // SPEC 2, rule 2: "it carries no marker, and its namespace carries a marker
    // that says enabled".
    const inherited = specMarker(state.namespaceMetadata);
    if (inherited === "enabled") return "namespace-enabled";
    if (inherited === "disabled") return "namespace-disabled";
    return "no-marker";
  })();
  const optedIn = optInBranch === "own-enabled" || optInBranch === "namespace-enabled";
  // SPEC 3.2: "its InstrumentedApplication exists and has at least one language entry".
  const detailsExist = state.runtimeDetails !== undefined;
  const languageCount = state.runtimeDetails?.spec?.languages?.length ?? 0;
  // SPEC 3.3: "at least one CollectorsGroup in the Odigos namespace has
  // spec.role: DATA_COLLECTION and status.ready: true".
  const ready = state.groups.some(
    (group) =>
      group.metadata.namespace === odigosNamespace &&
      group.spec.role === "DATA_COLLECTION" &&
      group.status?.ready === true,
  );
  // SPEC 3: devices "if and only if all three hold".
  const instrument = optedIn && detailsExist && languageCount >= 1 && ready;
  const decisionBranch: (typeof specDecisionBranches)[number] = !optedIn
    ? "not-opted-in"
    : !detailsExist
      ? "no-runtime-details"
      : languageCount === 0
        ? "no-languages"
        : !ready
          ? "collectors-not-ready"
          : "instrument";
  return { optedIn, instrument, optInBranch, decisionBranch };
};

/**
 * Raw cluster state built from the arbitraries, biased so that every branch of
 * the oracle is taken: workloads with and without markers, namespaces that are
 * ignored or the Odigos namespace, unknown namespaces, missing config, runtime
 * details with and without languages, collectors groups with and without a
 * ready data-collection one.
 */
const withMarker = (marker: typeof ownMarker) =>
  fc.tuple(markedMetadata, marker).map(([base, { apply }]) => apply(base));
const enablingMarker = ownMarker.filter((marker) => marker.enabled);
const clusterState: fc.Arbitrary<ClusterState> = fc
  .record({
    workload: fc.oneof(
      markedMetadata,
      unmarkedMetadata,
      withMarker(ownMarker),
      withMarker(enablingMarker),
    ),
    namespaceMetadata: fc.option(
      fc.oneof(markedMetadata, withMarker(ownMarker), withMarker(enablingMarker)),
      { nil: undefined },
    ),
    config: fc.option(odigosConfiguration(), { nil: undefined }),
    runtimeDetails: fc.oneof(
      containers.chain((podContainers) =>
        languageEntries(podContainers.map((container) => container.name)).map(runtimeDetailsOf),
      ),
      runtimeDetailsWithoutLanguages,
    ),
    groups: fc.oneof(
      collectorsGroups,
      collectorsGroups.chain((others) => shuffled([...others, readyDataCollection])),
    ),
  })
  .chain((state) =>
    fc
      .oneof(
        { weight: 4, arbitrary: namespaceName },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            DefaultOdigosNamespace,
            ...(state.config?.spec.ignoredNamespaces ?? []),
          ),
        },
      )
      .map((namespace) => ({ ...state, namespace })),
  );

describe("properties", () => {
  it("the decision and device set do not depend on list order", () => {
    fc.assert(
      fc.property(
        workloadState.chain((state) =>
          fc.record({
            state: fc.constant(state),
            groups: shuffled(state.groups),
            languages: shuffled(state.languages),
            containers: shuffled(state.containers),
          }),
        ),
        ({ state, groups, languages, containers: podContainers }) => {
          const decide = (
            g: typeof groups,
            details: InstrumentedApplication,
            c: typeof podContainers,
          ) => {
            const decision = shouldInstrument({
              optIn: state.optIn,
              runtimeDetails: details,
              collectorsReady: collectorsReady(g),
            });
            return { decision, devices: desiredDevices(c, details, state.defaultSdks) };
          };
          const original = decide(
            state.groups,
            runtimeDetailsOf(state.languages),
            state.containers,
          );
          const reordered = decide(groups, runtimeDetailsOf(languages), podContainers);
          expect(reordered.decision).toEqual(original.decision);
          expect(reordered.devices.devices).toEqual(original.devices.devices);
          expect(JSON.stringify(reordered.devices.devices)).toBe(
            JSON.stringify(original.devices.devices),
          );
          expect(sortedProblems(reordered.devices.problems)).toEqual(
            sortedProblems(original.devices.problems),
          );
        },
      ),
    );
  });

  it("a workload's own marker beats its namespace's, unless the namespace is ignored or Odigos'", () => {
    fc.assert(
      fc.property(
        markedMetadata,
        ownMarker,
        markedMetadata,
        namespaceName,
        fc.array(namespaceName, { maxLength: 3 }),
        (workloadBase, marker, namespaceMetadata, namespace, ignored) => {
          const scope = {
            odigosNamespace: DefaultOdigosNamespace,
            ignoredNamespaces: new Set([DefaultOdigosNamespace, ...ignored]),
          };
          const result = isOptedIn(
            { namespace, metadata: marker.apply(workloadBase) },
            namespaceMetadata,
            scope,
          );
          if (namespace === DefaultOdigosNamespace) {
            expect(result).toEqual({ optedIn: false, reason: "OdigosNamespace" });
          } else if (ignored.includes(namespace)) {
            expect(result).toEqual({ optedIn: false, reason: "IgnoredNamespace" });
          } else {
            expect(result).toEqual({
              optedIn: marker.enabled,
              reason: marker.enabled ? "WorkloadEnabled" : "WorkloadDisabled",
            });
          }
        },
      ),
    );
  });

  it("a workload without a marker gets its namespace's marker", () => {
    fc.assert(
      fc.property(unmarkedMetadata, markedMetadata, (workload, namespaceMetadata) => {
        const result = isOptedIn({ namespace: "shop", metadata: workload }, namespaceMetadata, {
          odigosNamespace: DefaultOdigosNamespace,
          ignoredNamespaces: ignoredNamespaces(undefined, DefaultOdigosNamespace),
        });
        const inherited = specMarker(namespaceMetadata);
        expect(result.optedIn).toBe(inherited === "enabled");
        expect(result.reason).toBe(
          inherited === "enabled"
            ? "NamespaceEnabled"
            : inherited === "disabled"
              ? "NamespaceDisabled"
              : "NoMarker",
        );
      }),
    );
  });

  it("the Odigos namespace and ignored namespaces are never opted in", () => {
    fc.assert(
      fc.property(
        markedMetadata,
        markedMetadata,
        odigosConfiguration(),
        namespaceName,
        (workload: Marked, namespaceMetadata: Marked, config, odigosNamespace) => {
          const scope = {
            odigosNamespace,
            ignoredNamespaces: ignoredNamespaces(config, odigosNamespace),
          };
          for (const namespace of [odigosNamespace, ...(config.spec.ignoredNamespaces ?? [])]) {
            expect(
              isOptedIn({ namespace, metadata: workload }, namespaceMetadata, scope).optedIn,
            ).toBe(false);
          }
        },
      ),
    );
  });

  it("instruments if and only if opted in, with languages, and collectors ready (SPEC oracle)", () => {
    const seen = new Map<string, number>();
    const count = (branch: string) => seen.set(branch, (seen.get(branch) ?? 0) + 1);
    fc.assert(
      fc.property(clusterState, (state) => {
        const { workload, namespace, namespaceMetadata, config, runtimeDetails, groups } = state;
        // The code under test, composed as judge.ts composes it.
        const optIn = isOptedIn({ namespace, metadata: workload }, namespaceMetadata, {
          odigosNamespace: DefaultOdigosNamespace,
          ignoredNamespaces: ignoredNamespaces(config, DefaultOdigosNamespace),
        });
        const decision = shouldInstrument({
          optIn,
          runtimeDetails,
          collectorsReady: collectorsReady(groups),
        });
        // The oracle: SPEC sections 2 and 3 only.
        const expected = specShouldInstrument(state, DefaultOdigosNamespace);
        count(expected.optInBranch);
        count(expected.decisionBranch);
        expect(optIn.optedIn).toBe(expected.optedIn);
        expect(decision.instrument).toBe(expected.instrument);
        expect(decision.reason === "Instrument").toBe(expected.instrument);
        expect(decision.optIn).toBe(optIn);
      }),
      { numRuns: 3_000 },
    );
    // Every branch of the oracle was taken.
    for (const branch of [...specOptInBranches, ...specDecisionBranches]) {
      expect(seen.get(branch) ?? 0, branch).toBeGreaterThan(0);
    }
  });

  it("taking away any one of the three conditions makes the decision false", () => {
    const allHold = containers.chain((podContainers) =>
      fc.record({
        workload: markedMetadata,
        marker: ownMarker.filter((marker) => marker.enabled),
        languages: languageEntries(
          podContainers.map((container) => container.name),
          { minLength: 1 },
        ),
        groups: collectorsGroups.chain((others) => shuffled([...others, readyDataCollection])),
        withoutLanguages: runtimeDetailsWithoutLanguages,
        disabling: ownMarker.filter((marker) => !marker.enabled),
      }),
    );
    fc.assert(
      fc.property(
        allHold,
        ({ workload, marker, languages, groups, withoutLanguages, disabling }) => {
          const scope = {
            odigosNamespace: DefaultOdigosNamespace,
            ignoredNamespaces: ignoredNamespaces(undefined, DefaultOdigosNamespace),
          };
          const optIn = isOptedIn(
            { namespace: "shop", metadata: marker.apply(workload) },
            {},
            scope,
          );
          const details = runtimeDetailsOf(languages);
          const ready = collectorsReady(groups);
          expect(
            shouldInstrument({ optIn, runtimeDetails: details, collectorsReady: ready }),
          ).toMatchObject({
            instrument: true,
            reason: "Instrument",
          });

          // 1. Not opted in: the workload's marker disables, or the namespace is ignored.
          const optedOut = isOptedIn(
            { namespace: "shop", metadata: disabling.apply(workload) },
            {},
            scope,
          );
          expect(
            shouldInstrument({ optIn: optedOut, runtimeDetails: details, collectorsReady: ready }),
          ).toMatchObject({
            instrument: false,
            reason: "NotOptedIn",
          });
          const ignored = isOptedIn(
            { namespace: "shop", metadata: marker.apply(workload) },
            {},
            {
              ...scope,
              ignoredNamespaces: new Set(["shop"]),
            },
          );
          expect(
            shouldInstrument({ optIn: ignored, runtimeDetails: details, collectorsReady: ready })
              .instrument,
          ).toBe(false);

          // 2. No languages: runtime details missing, without spec, or empty.
          const noLanguages = shouldInstrument({
            optIn,
            runtimeDetails: withoutLanguages,
            collectorsReady: ready,
          });
          expect(noLanguages.instrument).toBe(false);
          expect(noLanguages.reason).toBe(
            withoutLanguages === undefined ? "NoRuntimeDetails" : "NoLanguages",
          );

          // 3. Collectors not ready: every ready DATA_COLLECTION group loses readiness or goes away.
          const notReady = groups.filter(
            (group) => !(group.spec.role === "DATA_COLLECTION" && group.status?.ready === true),
          );
          expect(
            shouldInstrument({
              optIn,
              runtimeDetails: details,
              collectorsReady: collectorsReady(notReady),
            }),
          ).toMatchObject({ instrument: false, reason: "CollectorsNotReady" });
        },
      ),
    );
  });

  it("the device set is deterministic, sorted, and names only existing containers", () => {
    fc.assert(
      fc.property(workloadState, ({ containers: podContainers, languages, defaultSdks: sdks }) => {
        const details = runtimeDetailsOf(languages);
        const first = desiredDevices(podContainers, details, sdks);
        const second = desiredDevices(podContainers, details, sdks);
        expect(second).toEqual(first);
        const names = new Set(podContainers.map((container) => container.name));
        const keys = Object.keys(first.devices);
        expect(keys).toEqual([...keys].sort());
        for (const [container, devices] of Object.entries(first.devices)) {
          expect(names.has(container)).toBe(true);
          expect(devices.length).toBeGreaterThan(0);
          expect(devices).toEqual([...new Set(devices)].sort());
          // Every device comes from a language entry of that very container.
          const expected = languages
            .filter((entry) => entry.containerName === container)
            .flatMap((entry) => {
              const sdk = sdks[entry.language];
              return sdk === undefined ? [] : [deviceName(entry.language, sdk)];
            });
          expect(devices).toEqual([...new Set(expected)].sort());
        }
        // Every entry that gave no device is a problem, and vice versa.
        for (const entry of languages) {
          const produced = names.has(entry.containerName) && sdks[entry.language] !== undefined;
          const problem = first.problems.some(
            (p) => p.containerName === entry.containerName && p.language === entry.language,
          );
          expect(produced || problem).toBe(true);
        }
      }),
    );
  });

  it("with every language configured, every existing container named by an entry gets a device", () => {
    fc.assert(
      fc.property(
        containers.chain((podContainers) =>
          fc.record({
            containers: fc.constant(podContainers),
            languages: languageEntries(podContainers.map((container) => container.name)),
            sdks: completeDefaultSdks,
          }),
        ),
        ({ containers: podContainers, languages, sdks }) => {
          const { devices, problems } = desiredDevices(
            podContainers,
            runtimeDetailsOf(languages),
            sdks,
          );
          const names = new Set(podContainers.map((container) => container.name));
          const named = new Set(
            languages.map((entry) => entry.containerName).filter((name) => names.has(name)),
          );
          expect(new Set(Object.keys(devices))).toEqual(named);
          expect(problems.every((problem) => problem._tag !== "NoDefaultSdk")).toBe(true);
        },
      ),
    );
  });

  it("every device name starts with instrumentation.odigos.io/ and isDeviceName agrees", () => {
    fc.assert(
      fc.property(workloadState, ({ containers: podContainers, languages, defaultSdks: sdks }) => {
        const { devices } = desiredDevices(podContainers, runtimeDetailsOf(languages), sdks);
        for (const name of Object.values(devices).flat()) {
          expect(name.startsWith(`${DeviceResourcePrefix}/`)).toBe(true);
          expect(isDeviceName(name)).toBe(true);
        }
      }),
    );
    fc.assert(
      fc.property(language, otelSdk, (lang, sdk) => {
        const name = deviceName(lang, sdk);
        expect(name).toBe(`instrumentation.odigos.io/${lang}-${sdk.sdkType}-${sdk.sdkTier}`);
        expect(isDeviceName(name)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (name) => {
        expect(isDeviceName(name)).toBe(name.startsWith(DeviceResourcePrefix));
      }),
    );
  });

  it("deviceIntent: Uninstrument iff not instrumenting, LeaveAsIs iff config missing, else the device set", () => {
    fc.assert(
      fc.property(
        workloadState,
        fc.option(odigosConfiguration(), { nil: undefined }),
        ({ containers: podContainers, languages, groups, optIn }, config) => {
          const details = runtimeDetailsOf(languages);
          const decision = shouldInstrument({
            optIn,
            runtimeDetails: details,
            collectorsReady: collectorsReady(groups),
          });
          const intent = deviceIntent(decision, podContainers, details, config);
          if (!decision.instrument) expect(intent).toEqual({ _tag: "Uninstrument" });
          else if (Object.keys(config?.spec.defaultSDKs ?? {}).length === 0)
            expect(intent).toEqual({ _tag: "LeaveAsIs", reason: "ConfigUnavailable" });
          else
            expect(intent).toEqual({
              _tag: "Instrument",
              ...desiredDevices(podContainers, details, config?.spec.defaultSDKs),
            });
        },
      ),
    );
  });
});
