/** fast-check properties of the rules: order independence, precedence, the "iff", determinism. */
import {
  DefaultOdigosNamespace,
  DeviceResourcePrefix,
  type InstrumentedApplication,
} from "@odigos/crd-types";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collectorsReady, hasLanguages, shouldInstrument } from "./decision.js";
import { desiredDevices, deviceName, isDeviceName } from "./devices.js";
import { deviceIntent } from "./intent.js";
import { ignoredNamespaces, isOptedIn, type Marked, readMarker } from "./opt-in.js";
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
        const inherited = readMarker(namespaceMetadata);
        expect(result.optedIn).toBe(inherited._tag === "Enabled");
        expect(result.reason).toBe(
          inherited._tag === "Enabled"
            ? "NamespaceEnabled"
            : inherited._tag === "Disabled"
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

  it("instruments if and only if opted in, with languages, and collectors ready", () => {
    fc.assert(
      fc.property(
        workloadState,
        fc.option(runtimeDetailsWithoutLanguages, { freq: 3 }),
        ({ optIn, languages, groups }, noLanguages) => {
          const details = noLanguages === null ? runtimeDetailsOf(languages) : noLanguages;
          const ready = collectorsReady(groups);
          const decision = shouldInstrument({
            optIn,
            runtimeDetails: details,
            collectorsReady: ready,
          });
          expect(decision.instrument).toBe(optIn.optedIn && hasLanguages(details) && ready);
          expect(decision.reason === "Instrument").toBe(decision.instrument);
          expect(decision.optIn).toBe(optIn);
        },
      ),
    );
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
