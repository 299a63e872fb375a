import type { CollectorsGroup, InstrumentedApplication } from "@odigos/crd-types";
import { describe, expect, it } from "vitest";
import {
  collectorsReady,
  type DecisionInput,
  describeOptIn,
  hasLanguages,
  shouldInstrument,
} from "./decision.js";
import { collectorsGroup, meta, runtimeDetails } from "./test-support/builders.js";
import type { Decision, OptIn, OptInReason } from "./types.js";

const goInApp = runtimeDetails([{ containerName: "app", language: "go" }]);
const withoutSpec: InstrumentedApplication = { metadata: meta("deployment-cart", "shop") };
const withEmptySpec: InstrumentedApplication = { ...withoutSpec, spec: {} };
const withEmptyLanguages = runtimeDetails([]);

describe("hasLanguages", () => {
  it.each(
    (
      [
        ["missing runtime details", undefined, false],
        ["runtime details without spec", withoutSpec, false],
        ["runtime details whose spec has no languages", withEmptySpec, false],
        ["runtime details with an empty languages list", withEmptyLanguages, false],
        ["runtime details with one language", goInApp, true],
        [
          "runtime details with a language entry for a container that does not exist",
          runtimeDetails([{ containerName: "gone", language: "java" }]),
          true,
        ],
      ] as Array<[string, InstrumentedApplication | undefined, boolean]>
    ).map(([name, details, expected]) => [`${name} -> ${expected}`, details, expected] as const),
  )("%s", (_name, details, expected) => {
    expect(hasLanguages(details)).toBe(expected);
  });
});

const gateway = (ready: boolean | undefined, name?: string) =>
  collectorsGroup("GATEWAY", ready, name);
const dataCollection = (ready: boolean | undefined, name?: string) =>
  collectorsGroup("DATA_COLLECTION", ready, name);

describe("collectorsReady", () => {
  it.each(
    (
      [
        ["no collectors groups", [], false],
        ["GATEWAY ready only", [gateway(true)], false],
        ["several GATEWAY groups, all ready", [gateway(true, "g1"), gateway(true, "g2")], false],
        ["DATA_COLLECTION without status", [dataCollection(undefined)], false],
        [
          "DATA_COLLECTION with a status that has no ready field",
          [{ ...dataCollection(undefined), status: {} }],
          false,
        ],
        ["DATA_COLLECTION not ready", [dataCollection(false)], false],
        ["DATA_COLLECTION ready", [dataCollection(true)], true],
        [
          "DATA_COLLECTION ready next to a GATEWAY not ready",
          [gateway(false), dataCollection(true)],
          true,
        ],
        [
          "GATEWAY ready and DATA_COLLECTION not ready",
          [gateway(true), dataCollection(false), dataCollection(undefined, "dc2")],
          false,
        ],
        [
          "one DATA_COLLECTION ready among several not ready",
          [
            dataCollection(false, "dc1"),
            dataCollection(undefined, "dc2"),
            dataCollection(true, "dc3"),
            dataCollection(false, "dc4"),
            gateway(undefined),
          ],
          true,
        ],
      ] as Array<[string, ReadonlyArray<CollectorsGroup>, boolean]>
    ).map(([name, groups, expected]) => [`${name} -> ${expected}`, groups, expected] as const),
  )("%s", (_name, groups, expected) => {
    expect(collectorsReady(groups)).toBe(expected);
  });

  it("accepts any iterable, e.g. a cache's values()", () => {
    const cache = new Map([
      ["a", gateway(true)],
      ["b", dataCollection(true)],
    ]);
    expect(collectorsReady(cache.values())).toBe(true);
    expect(collectorsReady(new Set([gateway(true)]))).toBe(false);
  });
});

describe("describeOptIn", () => {
  it.each<[OptInReason, boolean, string]>([
    ["WorkloadEnabled", true, "the workload opts in"],
    ["NamespaceEnabled", true, "the workload inherits its namespace's opt-in"],
    ["WorkloadDisabled", false, "the workload opts out"],
    [
      "NamespaceDisabled",
      false,
      "the namespace opts out and the workload has no marker of its own",
    ],
    ["NoMarker", false, "neither the workload nor its namespace opts in"],
    ["IgnoredNamespace", false, "the namespace is listed in odigos-config ignoredNamespaces"],
    ["OdigosNamespace", false, "the workload is in the Odigos namespace"],
  ])("%s", (reason, optedIn, sentence) => {
    expect(describeOptIn({ optedIn, reason })).toBe(sentence);
  });
});

const optedIn: OptIn = { optedIn: true, reason: "WorkloadEnabled" };
const inherited: OptIn = { optedIn: true, reason: "NamespaceEnabled" };

interface DecisionCase {
  readonly name: string;
  readonly input: DecisionInput;
  readonly expected: Omit<Decision, "optIn">;
}

const decisionCases: ReadonlyArray<DecisionCase> = [
  {
    name: "all three conditions hold -> instrument",
    input: { optIn: optedIn, runtimeDetails: goInApp, collectorsReady: true },
    expected: { instrument: true, reason: "Instrument", message: "the workload opts in" },
  },
  {
    name: "all three hold through the namespace -> instrument",
    input: { optIn: inherited, runtimeDetails: goInApp, collectorsReady: true },
    expected: {
      instrument: true,
      reason: "Instrument",
      message: "the workload inherits its namespace's opt-in",
    },
  },
  {
    name: "workload opted out -> not instrumented",
    input: {
      optIn: { optedIn: false, reason: "WorkloadDisabled" },
      runtimeDetails: goInApp,
      collectorsReady: true,
    },
    expected: { instrument: false, reason: "NotOptedIn", message: "the workload opts out" },
  },
  {
    name: "namespace opted out -> not instrumented",
    input: {
      optIn: { optedIn: false, reason: "NamespaceDisabled" },
      runtimeDetails: goInApp,
      collectorsReady: true,
    },
    expected: {
      instrument: false,
      reason: "NotOptedIn",
      message: "the namespace opts out and the workload has no marker of its own",
    },
  },
  {
    name: "no marker anywhere -> not instrumented",
    input: {
      optIn: { optedIn: false, reason: "NoMarker" },
      runtimeDetails: goInApp,
      collectorsReady: true,
    },
    expected: {
      instrument: false,
      reason: "NotOptedIn",
      message: "neither the workload nor its namespace opts in",
    },
  },
  {
    name: "ignored namespace -> not instrumented",
    input: {
      optIn: { optedIn: false, reason: "IgnoredNamespace" },
      runtimeDetails: goInApp,
      collectorsReady: true,
    },
    expected: {
      instrument: false,
      reason: "NotOptedIn",
      message: "the namespace is listed in odigos-config ignoredNamespaces",
    },
  },
  {
    name: "Odigos namespace -> not instrumented",
    input: {
      optIn: { optedIn: false, reason: "OdigosNamespace" },
      runtimeDetails: goInApp,
      collectorsReady: true,
    },
    expected: {
      instrument: false,
      reason: "NotOptedIn",
      message: "the workload is in the Odigos namespace",
    },
  },
  {
    name: "missing runtime details -> not instrumented",
    input: { optIn: optedIn, runtimeDetails: undefined, collectorsReady: true },
    expected: {
      instrument: false,
      reason: "NoRuntimeDetails",
      message: "the workload opts in but it has no runtime details yet",
    },
  },
  {
    name: "runtime details without spec -> not instrumented",
    input: { optIn: optedIn, runtimeDetails: withoutSpec, collectorsReady: true },
    expected: {
      instrument: false,
      reason: "NoLanguages",
      message: "the workload opts in but its runtime details name no language",
    },
  },
  {
    name: "runtime details with a spec but no languages -> not instrumented",
    input: { optIn: optedIn, runtimeDetails: withEmptySpec, collectorsReady: true },
    expected: {
      instrument: false,
      reason: "NoLanguages",
      message: "the workload opts in but its runtime details name no language",
    },
  },
  {
    name: "runtime details with empty languages -> not instrumented",
    input: { optIn: inherited, runtimeDetails: withEmptyLanguages, collectorsReady: true },
    expected: {
      instrument: false,
      reason: "NoLanguages",
      message:
        "the workload inherits its namespace's opt-in but its runtime details name no language",
    },
  },
  {
    name: "collectors not ready -> not instrumented",
    input: { optIn: optedIn, runtimeDetails: goInApp, collectorsReady: false },
    expected: {
      instrument: false,
      reason: "CollectorsNotReady",
      message: "the workload opts in but no data-collection collectors group is ready",
    },
  },
  {
    name: "not opted in is reported first when every condition fails",
    input: {
      optIn: { optedIn: false, reason: "NoMarker" },
      runtimeDetails: undefined,
      collectorsReady: false,
    },
    expected: {
      instrument: false,
      reason: "NotOptedIn",
      message: "neither the workload nor its namespace opts in",
    },
  },
  {
    name: "missing runtime details is reported before collectors",
    input: { optIn: optedIn, runtimeDetails: undefined, collectorsReady: false },
    expected: {
      instrument: false,
      reason: "NoRuntimeDetails",
      message: "the workload opts in but it has no runtime details yet",
    },
  },
];

describe("shouldInstrument", () => {
  it.each(decisionCases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(shouldInstrument(c.input)).toEqual({ ...c.expected, optIn: c.input.optIn });
  });

  it("combines with collectorsReady over real groups: GATEWAY ready only is not enough", () => {
    const decision = shouldInstrument({
      optIn: optedIn,
      runtimeDetails: goInApp,
      collectorsReady: collectorsReady([gateway(true), dataCollection(undefined)]),
    });
    expect(decision.reason).toBe("CollectorsNotReady");
  });
});
