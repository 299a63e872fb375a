/** SPEC section 3: the three conditions and the final decision. */
import type { CollectorsGroup, InstrumentedApplication } from "@odigos/crd-types";
import type { Decision, OptIn } from "./types.js";

/** Runtime details exist and name at least one language. */
export const hasLanguages = (runtimeDetails: InstrumentedApplication | undefined): boolean =>
  (runtimeDetails?.spec?.languages?.length ?? 0) > 0;

/** At least one data-collection collectors group reports `status.ready: true`. */
export const collectorsReady = (groups: Iterable<CollectorsGroup>): boolean => {
  for (const group of groups) {
    if (group.spec.role === "DATA_COLLECTION" && group.status?.ready === true) return true;
  }
  return false;
};

const optInSentence: Record<OptIn["reason"], string> = {
  WorkloadEnabled: "the workload opts in",
  NamespaceEnabled: "the workload inherits its namespace's opt-in",
  WorkloadDisabled: "the workload opts out",
  NamespaceDisabled: "the namespace opts out and the workload has no marker of its own",
  NoMarker: "neither the workload nor its namespace opts in",
  IgnoredNamespace: "the namespace is listed in odigos-config ignoredNamespaces",
  OdigosNamespace: "the workload is in the Odigos namespace",
};

/** Describes an opt-in answer in one clause, for logs and events. */
export const describeOptIn = (optIn: OptIn): string => optInSentence[optIn.reason];

/** Inputs of {@link shouldInstrument}, all read from the current cluster state. */
export interface DecisionInput {
  readonly optIn: OptIn;
  readonly runtimeDetails: InstrumentedApplication | undefined;
  readonly collectorsReady: boolean;
}

/** A workload carries devices if and only if it is opted in, has languages and collectors are ready. */
export const shouldInstrument = (input: DecisionInput): Decision => {
  const { optIn } = input;
  if (!optIn.optedIn) {
    return { instrument: false, reason: "NotOptedIn", message: describeOptIn(optIn), optIn };
  }
  if (input.runtimeDetails === undefined) {
    return {
      instrument: false,
      reason: "NoRuntimeDetails",
      message: `${describeOptIn(optIn)} but it has no runtime details yet`,
      optIn,
    };
  }
  if (!hasLanguages(input.runtimeDetails)) {
    return {
      instrument: false,
      reason: "NoLanguages",
      message: `${describeOptIn(optIn)} but its runtime details name no language`,
      optIn,
    };
  }
  if (!input.collectorsReady) {
    return {
      instrument: false,
      reason: "CollectorsNotReady",
      message: `${describeOptIn(optIn)} but no data-collection collectors group is ready`,
      optIn,
    };
  }
  return { instrument: true, reason: "Instrument", message: describeOptIn(optIn), optIn };
};
