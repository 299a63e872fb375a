import {
  DefaultOdigosNamespace,
  InstrumentAnnotation,
  LegacyInstrumentationLabel,
  odigosNamespaceFrom,
} from "@odigos/crd-types";
import { describe, expect, it } from "vitest";
import {
  ignoredNamespaces,
  isOptedIn,
  type Marked,
  type OptInScope,
  readMarker,
} from "./opt-in.js";
import { odigosConfig } from "./test-support/builders.js";
import type { Marker, OptIn } from "./types.js";

/** Metadata with the `odigos.io/instrument` annotation. */
const annotation = (value: string): Marked => ({ annotations: { [InstrumentAnnotation]: value } });
/** Metadata with the legacy `odigos-instrumentation` label. */
const label = (value: string): Marked => ({ labels: { [LegacyInstrumentationLabel]: value } });
/** Metadata with both markers. */
const both = (annotationValue: string, labelValue: string): Marked => ({
  annotations: { [InstrumentAnnotation]: annotationValue },
  labels: { [LegacyInstrumentationLabel]: labelValue },
});
const none: Marked = {};
const unrelated: Marked = {
  labels: { app: "cart", "odigos-instrumentation-legacy": "enabled" },
  annotations: { "odigos.io/reported-name": "cart", "odigos.io/instrument-x": "true" },
};

describe("readMarker", () => {
  it.each<[string, Marked | undefined, Marker]>([
    ['annotation "true" enables', annotation("true"), { _tag: "Enabled", source: "annotation" }],
    [
      'annotation "false" disables',
      annotation("false"),
      { _tag: "Disabled", source: "annotation", value: "false" },
    ],
    [
      'annotation "" disables',
      annotation(""),
      { _tag: "Disabled", source: "annotation", value: "" },
    ],
    [
      'annotation "yes" disables',
      annotation("yes"),
      { _tag: "Disabled", source: "annotation", value: "yes" },
    ],
    [
      'annotation "TRUE" disables (case matters)',
      annotation("TRUE"),
      { _tag: "Disabled", source: "annotation", value: "TRUE" },
    ],
    [
      'annotation "enabled" disables (that is the label\'s value)',
      annotation("enabled"),
      { _tag: "Disabled", source: "annotation", value: "enabled" },
    ],
    ["label enabled enables", label("enabled"), { _tag: "Enabled", source: "label" }],
    [
      "label disabled disables",
      label("disabled"),
      { _tag: "Disabled", source: "label", value: "disabled" },
    ],
    [
      'label "true" disables (that is the annotation\'s value)',
      label("true"),
      { _tag: "Disabled", source: "label", value: "true" },
    ],
    ['label "" disables', label(""), { _tag: "Disabled", source: "label", value: "" }],
    [
      'annotation "true" wins over label disabled',
      both("true", "disabled"),
      { _tag: "Enabled", source: "annotation" },
    ],
    [
      'annotation "false" wins over label enabled',
      both("false", "enabled"),
      { _tag: "Disabled", source: "annotation", value: "false" },
    ],
    [
      'annotation "" wins over label enabled',
      both("", "enabled"),
      { _tag: "Disabled", source: "annotation", value: "" },
    ],
    ["no labels or annotations", none, { _tag: "Absent" }],
    ["no metadata at all", undefined, { _tag: "Absent" }],
    ["only unrelated labels and annotations", unrelated, { _tag: "Absent" }],
    ["empty label and annotation maps", { labels: {}, annotations: {} }, { _tag: "Absent" }],
  ])("%s", (_name, metadata, expected) => {
    expect(readMarker(metadata)).toEqual(expected);
  });
});

describe("ignoredNamespaces", () => {
  it("is the Odigos namespace alone when odigos-config is unavailable", () => {
    expect([...ignoredNamespaces(undefined, "odigos-system")]).toEqual(["odigos-system"]);
  });

  it("adds odigos-config spec.ignoredNamespaces to the Odigos namespace", () => {
    expect(
      [...ignoredNamespaces(odigosConfig(null, ["kube-system", "legacy"]), "odigos")].sort(),
    ).toEqual(["kube-system", "legacy", "odigos"]);
  });

  it("is the Odigos namespace alone when odigos-config lists none", () => {
    const config = odigosConfig();
    const { ignoredNamespaces: _dropped, ...spec } = config.spec;
    expect([...ignoredNamespaces({ ...config, spec }, "odigos-system")]).toEqual(["odigos-system"]);
  });
});

const scope: OptInScope = {
  odigosNamespace: DefaultOdigosNamespace,
  ignoredNamespaces: ignoredNamespaces(
    odigosConfig(null, ["kube-system", "legacy"]),
    DefaultOdigosNamespace,
  ),
};

interface OptInCase {
  readonly name: string;
  readonly workload: Marked;
  readonly namespace: Marked | undefined;
  readonly in?: string;
  readonly scope?: OptInScope;
  readonly expected: OptIn;
}

const enabled = (reason: "WorkloadEnabled" | "NamespaceEnabled"): OptIn => ({
  optedIn: true,
  reason,
});
const disabled = (
  reason: Exclude<OptIn["reason"], "WorkloadEnabled" | "NamespaceEnabled">,
): OptIn => ({
  optedIn: false,
  reason,
});

const optInCases: ReadonlyArray<OptInCase> = [
  // A marker on the workload, none on the namespace.
  {
    name: 'workload annotation "true" opts in',
    workload: annotation("true"),
    namespace: none,
    expected: enabled("WorkloadEnabled"),
  },
  {
    name: 'workload annotation "false" opts out',
    workload: annotation("false"),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload annotation "" opts out',
    workload: annotation(""),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload annotation "yes" opts out',
    workload: annotation("yes"),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: "workload label enabled opts in",
    workload: label("enabled"),
    namespace: none,
    expected: enabled("WorkloadEnabled"),
  },
  {
    name: "workload label disabled opts out",
    workload: label("disabled"),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload label with another value ("true") opts out',
    workload: label("true"),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload label "" opts out',
    workload: label(""),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  // A marker on the namespace, none on the workload.
  {
    name: 'namespace annotation "true" is inherited',
    workload: none,
    namespace: annotation("true"),
    expected: enabled("NamespaceEnabled"),
  },
  {
    name: 'namespace annotation "false" is inherited as opt-out',
    workload: none,
    namespace: annotation("false"),
    expected: disabled("NamespaceDisabled"),
  },
  {
    name: 'namespace annotation "" is inherited as opt-out',
    workload: none,
    namespace: annotation(""),
    expected: disabled("NamespaceDisabled"),
  },
  {
    name: 'namespace annotation "yes" is inherited as opt-out',
    workload: none,
    namespace: annotation("yes"),
    expected: disabled("NamespaceDisabled"),
  },
  {
    name: "namespace label enabled is inherited",
    workload: none,
    namespace: label("enabled"),
    expected: enabled("NamespaceEnabled"),
  },
  {
    name: "namespace label disabled is inherited as opt-out",
    workload: none,
    namespace: label("disabled"),
    expected: disabled("NamespaceDisabled"),
  },
  {
    name: 'namespace label with another value ("on") is inherited as opt-out',
    workload: none,
    namespace: label("on"),
    expected: disabled("NamespaceDisabled"),
  },
  {
    name: "workload with only unrelated metadata inherits the namespace",
    workload: unrelated,
    namespace: label("enabled"),
    expected: enabled("NamespaceEnabled"),
  },
  // Both marker kinds on one object: the annotation wins, in either direction.
  {
    name: 'workload annotation "true" beats its own label disabled',
    workload: both("true", "disabled"),
    namespace: none,
    expected: enabled("WorkloadEnabled"),
  },
  {
    name: 'workload annotation "false" beats its own label enabled',
    workload: both("false", "enabled"),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload annotation "" beats its own label enabled',
    workload: both("", "enabled"),
    namespace: none,
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload annotation "true" and label enabled agree',
    workload: both("true", "enabled"),
    namespace: none,
    expected: enabled("WorkloadEnabled"),
  },
  {
    name: 'namespace annotation "true" beats its own label disabled',
    workload: none,
    namespace: both("true", "disabled"),
    expected: enabled("NamespaceEnabled"),
  },
  {
    name: 'namespace annotation "false" beats its own label enabled',
    workload: none,
    namespace: both("false", "enabled"),
    expected: disabled("NamespaceDisabled"),
  },
  // Workload versus namespace: the workload's own marker wins.
  {
    name: 'workload annotation "false" beats namespace annotation "true"',
    workload: annotation("false"),
    namespace: annotation("true"),
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: "workload label disabled beats namespace label enabled",
    workload: label("disabled"),
    namespace: label("enabled"),
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload annotation "yes" beats namespace label enabled',
    workload: annotation("yes"),
    namespace: label("enabled"),
    expected: disabled("WorkloadDisabled"),
  },
  {
    name: 'workload annotation "true" beats namespace annotation "false"',
    workload: annotation("true"),
    namespace: annotation("false"),
    expected: enabled("WorkloadEnabled"),
  },
  {
    name: 'workload label enabled beats namespace annotation "false"',
    workload: label("enabled"),
    namespace: annotation("false"),
    expected: enabled("WorkloadEnabled"),
  },
  {
    name: 'workload annotation "true" beats namespace label disabled',
    workload: annotation("true"),
    namespace: label("disabled"),
    expected: enabled("WorkloadEnabled"),
  },
  {
    name: "workload label disabled beats a namespace enabled by annotation over its label",
    workload: label("disabled"),
    namespace: both("true", "disabled"),
    expected: disabled("WorkloadDisabled"),
  },
  // No marker anywhere.
  {
    name: "no marker anywhere is not opted in",
    workload: none,
    namespace: none,
    expected: disabled("NoMarker"),
  },
  {
    name: "no marker and only unrelated metadata is not opted in",
    workload: unrelated,
    namespace: unrelated,
    expected: disabled("NoMarker"),
  },
  {
    name: "no marker and an unknown namespace object is not opted in",
    workload: none,
    namespace: undefined,
    expected: disabled("NoMarker"),
  },
  {
    name: "workload enabling with an unknown namespace object opts in",
    workload: annotation("true"),
    namespace: undefined,
    expected: enabled("WorkloadEnabled"),
  },
  // Ignored namespaces and the Odigos namespace.
  {
    name: "ignored namespace (odigos-config) beats an enabling workload",
    in: "kube-system",
    workload: annotation("true"),
    namespace: none,
    expected: disabled("IgnoredNamespace"),
  },
  {
    name: "ignored namespace (odigos-config) beats an enabling namespace",
    in: "legacy",
    workload: none,
    namespace: label("enabled"),
    expected: disabled("IgnoredNamespace"),
  },
  {
    name: "ignored namespace with no marker is reported as ignored",
    in: "legacy",
    workload: none,
    namespace: none,
    expected: disabled("IgnoredNamespace"),
  },
  {
    name: "Odigos namespace beats an enabling workload",
    in: DefaultOdigosNamespace,
    workload: annotation("true"),
    namespace: none,
    expected: disabled("OdigosNamespace"),
  },
  {
    name: "Odigos namespace beats its own enabling marker",
    in: DefaultOdigosNamespace,
    workload: none,
    namespace: both("true", "enabled"),
    expected: disabled("OdigosNamespace"),
  },
  {
    name: "Odigos namespace is never instrumented even when the scope's ignored set omits it",
    in: "odigos",
    scope: { odigosNamespace: "odigos", ignoredNamespaces: new Set() },
    workload: label("enabled"),
    namespace: annotation("true"),
    expected: disabled("OdigosNamespace"),
  },
  {
    name: "with CURRENT_NS set, odigos-system is an ordinary namespace",
    in: "odigos-system",
    scope: {
      odigosNamespace: odigosNamespaceFrom({ CURRENT_NS: "odigos" }),
      ignoredNamespaces: ignoredNamespaces(undefined, "odigos"),
    },
    workload: none,
    namespace: annotation("true"),
    expected: enabled("NamespaceEnabled"),
  },
];

describe("isOptedIn", () => {
  it.each(optInCases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const namespace = c.in ?? "shop";
    expect(isOptedIn({ namespace, metadata: c.workload }, c.namespace, c.scope ?? scope)).toEqual(
      c.expected,
    );
  });
});
