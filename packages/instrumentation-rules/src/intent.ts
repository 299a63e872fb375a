/** Combines the decision with the configuration into what should happen to a workload's devices. */
import type { Container, InstrumentedApplication, OdigosConfiguration } from "@odigos/crd-types";
import { desiredDevices } from "./devices.js";
import type { Decision, DesiredDevices, DeviceProblem } from "./types.js";

/** What to do with one workload's devices. */
export type DeviceIntent =
  /** Carry exactly these devices (an empty set removes all, without touching annotations). */
  | {
      readonly _tag: "Instrument";
      readonly devices: DesiredDevices;
      readonly problems: ReadonlyArray<DeviceProblem>;
    }
  /** Carry no device and drop the deprecated eBPF annotation. Needs no configuration. */
  | { readonly _tag: "Uninstrument" }
  /** No usable `odigos-config`: add nothing, remove nothing (no mass restart from a passing fault). */
  | { readonly _tag: "LeaveAsIs"; readonly reason: "ConfigUnavailable" };

/**
 * `config` is the decoded `odigos-config`, or undefined when it is missing or
 * failed to decode; either way no device can be chosen.
 */
export const deviceIntent = (
  decision: Decision,
  containers: ReadonlyArray<Pick<Container, "name">>,
  runtimeDetails: InstrumentedApplication | undefined,
  config: OdigosConfiguration | undefined,
): DeviceIntent => {
  if (!decision.instrument) return { _tag: "Uninstrument" };
  if (config === undefined) return { _tag: "LeaveAsIs", reason: "ConfigUnavailable" };
  const { devices, problems } = desiredDevices(containers, runtimeDetails, config.spec.defaultSDKs);
  return { _tag: "Instrument", devices, problems };
};
