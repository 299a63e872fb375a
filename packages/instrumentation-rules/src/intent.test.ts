import { describe, expect, it } from "vitest";
import { type DeviceIntent, deviceIntent } from "./intent.js";
import { communitySdks, odigosConfig, runtimeDetails } from "./test-support/builders.js";
import type { Decision } from "./types.js";

const instrument: Decision = {
  instrument: true,
  reason: "Instrument",
  message: "the workload opts in",
  optIn: { optedIn: true, reason: "WorkloadEnabled" },
};
const notOptedIn: Decision = {
  instrument: false,
  reason: "NotOptedIn",
  message: "the workload opts out",
  optIn: { optedIn: false, reason: "WorkloadDisabled" },
};
const collectorsNotReady: Decision = {
  instrument: false,
  reason: "CollectorsNotReady",
  message: "the workload opts in but no data-collection collectors group is ready",
  optIn: { optedIn: true, reason: "WorkloadEnabled" },
};

const containers = [{ name: "app" }, { name: "sidecar" }];
const details = runtimeDetails([
  { containerName: "app", language: "go" },
  { containerName: "missing", language: "java" },
]);
const config = odigosConfig();

describe("deviceIntent", () => {
  it.each<[string, Decision, Parameters<typeof deviceIntent>[3], DeviceIntent]>([
    ["not instrument -> Uninstrument", notOptedIn, config, { _tag: "Uninstrument" }],
    [
      "not instrument -> Uninstrument, even without odigos-config (removal needs no config)",
      notOptedIn,
      undefined,
      { _tag: "Uninstrument" },
    ],
    [
      "opted in but collectors not ready -> Uninstrument",
      collectorsNotReady,
      config,
      { _tag: "Uninstrument" },
    ],
    [
      "instrument with config undefined -> LeaveAsIs",
      instrument,
      undefined,
      { _tag: "LeaveAsIs", reason: "ConfigUnavailable" },
    ],
    [
      "instrument with config -> Instrument with devices and problems",
      instrument,
      config,
      {
        _tag: "Instrument",
        devices: { app: ["instrumentation.odigos.io/go-ebpf-community"] },
        problems: [{ _tag: "ContainerNotFound", containerName: "missing", language: "java" }],
      },
    ],
    [
      "instrument with an enterprise SDK -> Instrument with the enterprise device",
      instrument,
      odigosConfig({ ...communitySdks, go: { sdkType: "ebpf", sdkTier: "enterprise" } }),
      {
        _tag: "Instrument",
        devices: { app: ["instrumentation.odigos.io/go-ebpf-enterprise"] },
        problems: [{ _tag: "ContainerNotFound", containerName: "missing", language: "java" }],
      },
    ],
    [
      "instrument with a config that has no defaultSDKs -> LeaveAsIs (no mass removal)",
      instrument,
      odigosConfig(null),
      { _tag: "LeaveAsIs", reason: "ConfigUnavailable" },
    ],
    [
      "instrument with a config whose defaultSDKs is empty -> LeaveAsIs",
      instrument,
      odigosConfig({}),
      { _tag: "LeaveAsIs", reason: "ConfigUnavailable" },
    ],
  ])("%s", (_name, decision, configuration, expected) => {
    expect(deviceIntent(decision, containers, details, configuration)).toEqual(expected);
  });
});
