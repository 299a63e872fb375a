/** SPEC section 2: opt-in markers and their inheritance from the namespace. */
import {
  InstrumentAnnotation,
  InstrumentAnnotationEnabled,
  LegacyInstrumentationEnabled,
  LegacyInstrumentationLabel,
  type OdigosConfiguration,
  type StringMap,
} from "@odigos/crd-types";
import type { Marker, OptIn } from "./types.js";

/** Anything with optional labels and annotations (a workload's or namespace's metadata). */
export interface Marked {
  readonly labels?: StringMap | undefined;
  readonly annotations?: StringMap | undefined;
}

/** Reads an object's marker; the annotation wins over the legacy label. */
export const readMarker = (metadata: Marked | undefined): Marker => {
  const annotation = metadata?.annotations?.[InstrumentAnnotation];
  if (annotation !== undefined) {
    return annotation === InstrumentAnnotationEnabled
      ? { _tag: "Enabled", source: "annotation" }
      : { _tag: "Disabled", source: "annotation", value: annotation };
  }
  const label = metadata?.labels?.[LegacyInstrumentationLabel];
  if (label !== undefined) {
    return label === LegacyInstrumentationEnabled
      ? { _tag: "Enabled", source: "label" }
      : { _tag: "Disabled", source: "label", value: label };
  }
  return { _tag: "Absent" };
};

/** Namespaces never instrumented: `odigos-config` `spec.ignoredNamespaces` plus the Odigos namespace. */
export const ignoredNamespaces = (
  config: OdigosConfiguration | undefined,
  odigosNamespace: string,
): ReadonlySet<string> => new Set([odigosNamespace, ...(config?.spec.ignoredNamespaces ?? [])]);

/** What {@link isOptedIn} needs to know about where a workload lives. */
export interface OptInScope {
  /** The Odigos namespace (`CURRENT_NS`). */
  readonly odigosNamespace: string;
  /** From {@link ignoredNamespaces}. */
  readonly ignoredNamespaces: ReadonlySet<string>;
}

/**
 * A workload is opted in when its own marker enables it, or when it has no
 * marker and its namespace's marker enables it; ignored namespaces never are.
 */
export const isOptedIn = (
  workload: { readonly namespace: string; readonly metadata: Marked },
  namespace: Marked | undefined,
  scope: OptInScope,
): OptIn => {
  if (workload.namespace === scope.odigosNamespace) {
    return { optedIn: false, reason: "OdigosNamespace" };
  }
  if (scope.ignoredNamespaces.has(workload.namespace)) {
    return { optedIn: false, reason: "IgnoredNamespace" };
  }
  const own = readMarker(workload.metadata);
  if (own._tag === "Enabled") return { optedIn: true, reason: "WorkloadEnabled" };
  if (own._tag === "Disabled") return { optedIn: false, reason: "WorkloadDisabled" };
  const inherited = readMarker(namespace);
  if (inherited._tag === "Enabled") return { optedIn: true, reason: "NamespaceEnabled" };
  if (inherited._tag === "Disabled") return { optedIn: false, reason: "NamespaceDisabled" };
  return { optedIn: false, reason: "NoMarker" };
};
