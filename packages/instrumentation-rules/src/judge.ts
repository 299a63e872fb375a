/**
 * The rules' whole answer for one workload: opt-in, the decision and what to do with its
 * devices. The one code path the operator decides by and the status model reads.
 */
import type { Container, InstrumentedApplication, OdigosConfiguration } from "@odigos/crd-types";
import { shouldInstrument } from "./decision.js";
import { type DeviceIntent, deviceIntent } from "./intent.js";
import { ignoredNamespaces, isOptedIn, type Marked } from "./opt-in.js";
import type { Decision, OptIn } from "./types.js";

/** What the rules read about one workload, all from the cluster. */
export interface JudgeInput {
  readonly workload: {
    readonly namespace: string;
    readonly metadata: Marked;
    readonly containers: ReadonlyArray<Pick<Container, "name">>;
  };
  /** The workload's namespace's metadata, when the namespace is known. */
  readonly namespace: Marked | undefined;
  /** The Odigos namespace (`CURRENT_NS`). */
  readonly odigosNamespace: string;
  readonly runtimeDetails: InstrumentedApplication | undefined;
  readonly collectorsReady: boolean;
  /** The decoded `odigos-config`; undefined when it is missing or failed to decode. */
  readonly config: OdigosConfiguration | undefined;
}

/** The rules' answer for one workload. */
export interface Verdict {
  readonly optIn: OptIn;
  readonly decision: Decision;
  readonly intent: DeviceIntent;
}

/** Opt-in, then the decision, then the device intent: SPEC sections 2 to 4 for one workload. */
export const judgeWorkload = (input: JudgeInput): Verdict => {
  const optIn = isOptedIn(
    { namespace: input.workload.namespace, metadata: input.workload.metadata },
    input.namespace,
    {
      odigosNamespace: input.odigosNamespace,
      ignoredNamespaces: ignoredNamespaces(input.config, input.odigosNamespace),
    },
  );
  const decision = shouldInstrument({
    optIn,
    runtimeDetails: input.runtimeDetails,
    collectorsReady: input.collectorsReady,
  });
  const intent = deviceIntent(
    decision,
    input.workload.containers,
    input.runtimeDetails,
    input.config,
  );
  return { optIn, decision, intent };
};
