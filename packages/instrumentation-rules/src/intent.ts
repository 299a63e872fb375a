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
  /**
   * No usable `odigos-config` (missing, malformed, or without any default SDK):
   * add nothing, remove nothing, so a passing config fault restarts no pod.
   */
  | { readonly _tag: "LeaveAsIs"; readonly reason: "ConfigUnavailable" };

/** Whether a configuration can choose any device at all. */
export const hasDefaultSdks = (
  config: OdigosConfiguration | undefined,
): config is OdigosConfiguration => Object.keys(config?.spec.defaultSDKs ?? {}).length > 0;

/**
 * `config` is the decoded `odigos-config`, or undefined when it is missing or
 * failed to decode; either way, as when it names no default SDK at all, no
 * device can be chosen.
 */
export const deviceIntent = (
  decision: Decision,
  containers: ReadonlyArray<Pick<Container, "name">>,
  runtimeDetails: InstrumentedApplication | undefined,
  config: OdigosConfiguration | undefined,
): DeviceIntent => {
  if (!decision.instrument) return { _tag: "Uninstrument" };
  if (!hasDefaultSdks(config)) return { _tag: "LeaveAsIs", reason: "ConfigUnavailable" };
  const { devices, problems } = desiredDevices(containers, runtimeDetails, config.spec.defaultSDKs);
  return { _tag: "Instrument", devices, problems };
};
