import type { InstrumentedApplication, LanguageByContainer } from "@odigos/crd-types";
import { describe, expect, it } from "vitest";
import {
  type DefaultSdks,
  type DeviceSet,
  describeDeviceProblem,
  desiredDevices,
  deviceName,
  isDeviceName,
} from "./devices.js";
import { communitySdks, meta, runtimeDetails } from "./test-support/builders.js";
import type { DeviceProblem } from "./types.js";

const GO = "instrumentation.odigos.io/go-ebpf-community";
const JAVA = "instrumentation.odigos.io/java-native-community";
const PYTHON = "instrumentation.odigos.io/python-native-community";
const JS = "instrumentation.odigos.io/javascript-native-community";

describe("deviceName", () => {
  it.each([
    ["go", "ebpf", "community", "instrumentation.odigos.io/go-ebpf-community"],
    ["java", "native", "enterprise", "instrumentation.odigos.io/java-native-enterprise"],
    ["python", "native", "community", "instrumentation.odigos.io/python-native-community"],
    ["dotnet", "ebpf", "enterprise", "instrumentation.odigos.io/dotnet-ebpf-enterprise"],
    ["javascript", "native", "community", "instrumentation.odigos.io/javascript-native-community"],
  ] as const)("%s %s %s -> %s", (language, sdkType, sdkTier, expected) => {
    expect(deviceName(language, { sdkType, sdkTier })).toBe(expected);
  });
});

describe("isDeviceName", () => {
  it.each([
    ["instrumentation.odigos.io/go-ebpf-community", true],
    ["instrumentation.odigos.io/java-native-enterprise", true],
    ["instrumentation.odigos.io/some-future-device", true],
    ["instrumentation.odigos.io", true],
    ["cpu", false],
    ["memory", false],
    ["nvidia.com/gpu", false],
    ["odigos.io/instrument", false],
    ["x-instrumentation.odigos.io/go-ebpf-community", false],
    ["", false],
  ])("%s -> %s", (name, expected) => {
    expect(isDeviceName(name)).toBe(expected);
  });
});

const containers = (...names: ReadonlyArray<string>) => names.map((name) => ({ name }));

interface DevicesCase {
  readonly name: string;
  readonly containers: ReadonlyArray<{ readonly name: string }>;
  readonly runtimeDetails: InstrumentedApplication | undefined;
  readonly defaultSdks?: DefaultSdks;
  readonly expected: DeviceSet;
}

const entry = (containerName: string, language: LanguageByContainer["language"]) => ({
  containerName,
  language,
});

const devicesCases: ReadonlyArray<DevicesCase> = [
  {
    name: "one container with one language gets that language's default-SDK device",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("app", "go")]),
    expected: { devices: { app: [GO] }, problems: [] },
  },
  {
    name: "multi-container workload: only containers with a language get a device",
    containers: containers("app", "istio-proxy", "log-shipper", "worker"),
    runtimeDetails: runtimeDetails([entry("worker", "python"), entry("app", "java")]),
    expected: { devices: { app: [JAVA], worker: [PYTHON] }, problems: [] },
  },
  {
    name: "language entry whose container does not exist: ContainerNotFound, others still get devices",
    containers: containers("app", "sidecar"),
    runtimeDetails: runtimeDetails([entry("gone", "java"), entry("app", "go")]),
    expected: {
      devices: { app: [GO] },
      problems: [{ _tag: "ContainerNotFound", containerName: "gone", language: "java" }],
    },
  },
  {
    name: "language with no default SDK: NoDefaultSdk, others still get devices",
    containers: containers("app", "web"),
    runtimeDetails: runtimeDetails([entry("app", "dotnet"), entry("web", "javascript")]),
    defaultSdks: { javascript: { sdkType: "native", sdkTier: "community" } },
    expected: {
      devices: { web: [JS] },
      problems: [{ _tag: "NoDefaultSdk", containerName: "app", language: "dotnet" }],
    },
  },
  {
    name: "odigos-config without defaultSDKs: every entry is NoDefaultSdk",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("app", "go")]),
    defaultSdks: undefined,
    expected: {
      devices: {},
      problems: [{ _tag: "NoDefaultSdk", containerName: "app", language: "go" }],
    },
  },
  {
    name: "duplicate entry: DuplicateEntry, device listed once",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("app", "go"), entry("app", "go")]),
    expected: {
      devices: { app: [GO] },
      problems: [{ _tag: "DuplicateEntry", containerName: "app", language: "go" }],
    },
  },
  {
    name: "duplicate entry that differs only in processName is still a duplicate",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([
      { containerName: "app", language: "java", processName: "java" },
      { containerName: "app", language: "java", processName: "jshell" },
    ]),
    expected: {
      devices: { app: [JAVA] },
      problems: [{ _tag: "DuplicateEntry", containerName: "app", language: "java" }],
    },
  },
  {
    name: "duplicate entry of a missing container: reported as not found once, then as duplicate",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("gone", "go"), entry("gone", "go")]),
    expected: {
      devices: {},
      problems: [
        { _tag: "ContainerNotFound", containerName: "gone", language: "go" },
        { _tag: "DuplicateEntry", containerName: "gone", language: "go" },
      ],
    },
  },
  {
    name: "two languages in one container: both devices, sorted",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("app", "python"), entry("app", "go")]),
    expected: { devices: { app: [GO, PYTHON] }, problems: [] },
  },
  {
    name: "SDK swap community -> enterprise changes the device name",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("app", "java")]),
    defaultSdks: { ...communitySdks, java: { sdkType: "native", sdkTier: "enterprise" } },
    expected: {
      devices: { app: ["instrumentation.odigos.io/java-native-enterprise"] },
      problems: [],
    },
  },
  {
    name: "SDK swap native -> ebpf changes the device name",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("app", "java")]),
    defaultSdks: { ...communitySdks, java: { sdkType: "ebpf", sdkTier: "enterprise" } },
    expected: {
      devices: { app: ["instrumentation.odigos.io/java-ebpf-enterprise"] },
      problems: [],
    },
  },
  {
    name: "missing runtime details: no device, no problem",
    containers: containers("app"),
    runtimeDetails: undefined,
    expected: { devices: {}, problems: [] },
  },
  {
    name: "runtime details without spec: no device, no problem",
    containers: containers("app"),
    runtimeDetails: { metadata: meta("deployment-cart", "shop") },
    expected: { devices: {}, problems: [] },
  },
  {
    name: "empty languages: no device, no problem",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([]),
    expected: { devices: {}, problems: [] },
  },
  {
    name: "every entry has a problem: empty device set and every problem reported",
    containers: containers("app"),
    runtimeDetails: runtimeDetails([entry("db", "java"), entry("app", "dotnet")]),
    defaultSdks: { java: { sdkType: "native", sdkTier: "community" } },
    expected: {
      devices: {},
      problems: [
        { _tag: "ContainerNotFound", containerName: "db", language: "java" },
        { _tag: "NoDefaultSdk", containerName: "app", language: "dotnet" },
      ],
    },
  },
];

describe("desiredDevices", () => {
  it.each(devicesCases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const sdks = "defaultSdks" in c ? c.defaultSdks : communitySdks;
    const result = desiredDevices(c.containers, c.runtimeDetails, sdks);
    expect(result).toEqual(c.expected);
    // Container keys come out sorted too.
    expect(Object.keys(result.devices)).toEqual(Object.keys(result.devices).sort());
  });
});

describe("describeDeviceProblem", () => {
  it.each<[DeviceProblem, string]>([
    [
      { _tag: "ContainerNotFound", containerName: "gone", language: "java" },
      'runtime details name container "gone" (java), which the pod template does not have',
    ],
    [
      { _tag: "NoDefaultSdk", containerName: "app", language: "dotnet" },
      'odigos-config has no default SDK for dotnet (container "app")',
    ],
    [
      { _tag: "DuplicateEntry", containerName: "app", language: "go" },
      'runtime details list container "app" with go more than once',
    ],
  ])("%j", (problem, sentence) => {
    expect(describeDeviceProblem(problem)).toBe(sentence);
  });
});
