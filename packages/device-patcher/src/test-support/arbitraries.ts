/**
 * fast-check arbitraries for the planner's inputs: decoded workloads whose
 * containers mix devices (current, stale, odd-looking), other resources and
 * odd quantities; and targets that may name containers the template lacks.
 * Test-only: excluded from the build by tsconfig.build.json.
 */
import type { Container, Deployment, Quantity, ResourceList, StringMap } from "@odigos/crd-types";
import fc from "fast-check";
import type { DevicePlanTarget } from "../plan.js";

export const containerNames = ["app", "worker", "istio-proxy", "db/x", "a~b"] as const;

export const deviceNames: fc.Arbitrary<string> = fc.constantFrom(
  "instrumentation.odigos.io/go-ebpf-community",
  "instrumentation.odigos.io/java-native-community",
  "instrumentation.odigos.io/java-native-enterprise",
  "instrumentation.odigos.io/python-native-community",
  "instrumentation.odigos.io-legacy",
  "instrumentation.odigos.io/a~b/c",
);

const otherResources: fc.Arbitrary<string> = fc.constantFrom(
  "cpu",
  "memory",
  "nvidia.com/gpu",
  "example.com/instrumentation.odigos.io",
);

const quantity: fc.Arbitrary<Quantity> = fc.constantFrom("1", "2", "500m", "0", 1, 3);

const resourceList: fc.Arbitrary<ResourceList> = fc.dictionary(
  fc.oneof(deviceNames, otherResources),
  quantity,
  { maxKeys: 5 },
);

const containerOf = (name: string): fc.Arbitrary<Container> =>
  fc.oneof(
    fc.constant({ name }),
    fc
      .record({ limits: resourceList, requests: resourceList }, { requiredKeys: [] })
      .map((resources) => ({ name, resources })),
  );

/** 1 to 4 containers with distinct names, in random order. */
export const containers: fc.Arbitrary<ReadonlyArray<Container>> = fc
  .shuffledSubarray([...containerNames], { minLength: 1, maxLength: 4 })
  .chain((names) => fc.tuple(...names.map(containerOf)));

const annotations: fc.Arbitrary<StringMap | undefined> = fc.option(
  fc.dictionary(
    fc.constantFrom("instrumentation.odigos.io/ebpf", "odigos.io/reported-name", "team"),
    fc.string({ maxLength: 4 }),
  ),
  { nil: undefined },
);

export const workload: fc.Arbitrary<Deployment> = fc
  .record({
    containers,
    annotations,
    resourceVersion: fc.integer({ min: 1, max: 1000 }).map(String),
  })
  .map(({ containers, annotations, resourceVersion }) => ({
    kind: "Deployment" as const,
    metadata: {
      name: "cart",
      namespace: "shop",
      uid: "uid-cart",
      resourceVersion,
      ...(annotations === undefined ? {} : { annotations }),
    },
    spec: { template: { spec: { containers } } },
  }));

/** Instrument (devices for any known container name, present or not) or Uninstrument. */
export const target: fc.Arbitrary<DevicePlanTarget> = fc.oneof(
  fc.constant({ _tag: "Uninstrument" as const }),
  fc
    .dictionary(
      fc.constantFrom(...containerNames, "missing"),
      fc.uniqueArray(deviceNames, { minLength: 1, maxLength: 3 }),
      { maxKeys: 4 },
    )
    .map((devices) => ({ _tag: "Instrument" as const, devices })),
);

/** A permutation of `items`. */
export const shuffled = <A>(items: ReadonlyArray<A>): fc.Arbitrary<ReadonlyArray<A>> =>
  fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
