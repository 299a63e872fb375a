/** SPEC section 4: which device each container should carry. */
import {
  type Container,
  DeviceResourcePrefix,
  type InstrumentedApplication,
  type OdigosConfiguration,
  type OtelSdk,
  type ProgrammingLanguage,
} from "@odigos/crd-types";
import type { DesiredDevices, DeviceProblem } from "./types.js";

/** `("go", {sdkType: "ebpf", sdkTier: "community"})` -> `instrumentation.odigos.io/go-ebpf-community`. */
export const deviceName = (language: ProgrammingLanguage, sdk: OtelSdk): string =>
  `${DeviceResourcePrefix}/${language}-${sdk.sdkType}-${sdk.sdkTier}`;

/** Whether a resource name is an instrumentation device (anything under the device prefix). */
export const isDeviceName = (resourceName: string): boolean =>
  resourceName.startsWith(DeviceResourcePrefix);

/** Default SDK per language, as `odigos-config` `spec.defaultSDKs` gives it. */
export type DefaultSdks = OdigosConfiguration["spec"]["defaultSDKs"];

/** The devices a workload should carry, and the language entries that produced none. */
export interface DeviceSet {
  readonly devices: DesiredDevices;
  readonly problems: ReadonlyArray<DeviceProblem>;
}

/**
 * For each language entry, the named container gets the device for that
 * language's default SDK. Entries whose container is missing or whose language
 * has no default SDK are skipped and returned as problems.
 */
export const desiredDevices = (
  containers: ReadonlyArray<Pick<Container, "name">>,
  runtimeDetails: InstrumentedApplication | undefined,
  defaultSdks: DefaultSdks,
): DeviceSet => {
  const containerNames = new Set(containers.map((container) => container.name));
  const byContainer = new Map<string, Set<string>>();
  const problems: Array<DeviceProblem> = [];
  const seen = new Set<string>();
  for (const { containerName, language } of runtimeDetails?.spec?.languages ?? []) {
    const entryKey = `${containerName}\u0000${language}`;
    if (seen.has(entryKey)) {
      problems.push({ _tag: "DuplicateEntry", containerName, language });
      continue;
    }
    seen.add(entryKey);
    if (!containerNames.has(containerName)) {
      problems.push({ _tag: "ContainerNotFound", containerName, language });
      continue;
    }
    const sdk = defaultSdks?.[language];
    if (sdk === undefined) {
      problems.push({ _tag: "NoDefaultSdk", containerName, language });
      continue;
    }
    const devices = byContainer.get(containerName) ?? new Set<string>();
    devices.add(deviceName(language, sdk));
    byContainer.set(containerName, devices);
  }
  const devices: Record<string, ReadonlyArray<string>> = {};
  for (const name of [...byContainer.keys()].sort()) {
    devices[name] = [...(byContainer.get(name) ?? [])].sort();
  }
  return { devices, problems };
};

/** Describes a device problem in one sentence, for logs and events. */
export const describeDeviceProblem = (problem: DeviceProblem): string => {
  switch (problem._tag) {
    case "ContainerNotFound":
      return `runtime details name container "${problem.containerName}" (${problem.language}), which the pod template does not have`;
    case "NoDefaultSdk":
      return `odigos-config has no default SDK for ${problem.language} (container "${problem.containerName}")`;
    case "DuplicateEntry":
      return `runtime details list container "${problem.containerName}" with ${problem.language} more than once`;
  }
};
