/**
 * Unit-test harness: the instrumentor's layers over the in-memory fake API server, a logger
 * that keeps its lines, builders for the objects scenarios need, and `eventually` to wait for
 * evidence. Test-only: excluded from the build.
 */
import { Writable } from "node:stream";
import {
  OdigosApiVersion,
  OdigosConfigName,
  OdigosResources,
  templatePath,
  type WorkloadKind,
  workloadResource,
} from "@odigos/crd-types";
import { KubeClient, type KubeObject, type Resource, Resources } from "@odigos/kube-client";
import { eventually, FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { ClusterState } from "../cache/cluster-state.js";
import type { InstrumentorConfig } from "../config.js";
import { Controller } from "../controller/controller.js";
import { WorkloadQueue } from "../controller/work-queue.js";
import { instrumentorLayer } from "../manager.js";
import { makeLogger } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";

export const odigosNamespace = "odigos-test";

export const testConfig = (overrides: Partial<InstrumentorConfig> = {}): InstrumentorConfig => ({
  metricsBindAddress: { _tag: "Disabled" },
  healthProbeBindAddress: { _tag: "Disabled" },
  leaderElect: false,
  leaderElectionId: "instrumentor.odigos.io",
  odigosNamespace,
  maxConcurrentReconciles: 2,
  logLevel: "debug",
  maxConcurrentRollouts: 0,
  rolloutTimeoutMs: 600_000,
  collectorsUnreadyGraceMs: 0,
  rollbackRestarts: 3,
  rollbackWindowMs: 3_600_000,
  breakerThreshold: 3,
  breakerWindowMs: 3_600_000,
  fightLimit: 3,
  fightWindowMs: 600_000,
  dryRun: false,
  ...overrides,
});

/** A logger whose JSON lines are kept in `lines`. */
export const capturingLogger = () => {
  const lines: Array<Record<string, unknown> & { msg?: string; level?: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line !== "") lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: makeLogger("debug", sink), lines };
};

/** The instrumentor's own layer graph (`instrumentorLayer`, as `main.ts` builds it) over `fake`. */
export const appLayer = (fake: FakeApiServer, config: InstrumentorConfig = testConfig()) => {
  const { logger, lines } = capturingLogger();
  const layer = instrumentorLayer(config, logger, Layer.succeed(KubeClient, fake.client));
  return { layer, lines };
};

/** The JSON lines the instrumentor logged, oldest first. */
export type Lines = ReadonlyArray<Record<string, unknown>>;

/** What a test body can ask of the running instrumentor: every service of its layer graph. */
export type InstrumentorServices = Layer.Layer.Success<ReturnType<typeof instrumentorLayer>>;

/**
 * Runs `body` with the instrumentor started over `fake` as `main.ts` starts it (caches synced,
 * controller running), given the lines it logs; `overrides` change the test configuration.
 */
export const withInstrumentor = <A, E>(
  fake: FakeApiServer,
  overrides: Partial<InstrumentorConfig>,
  body: (lines: Lines) => Effect.Effect<A, E, InstrumentorServices>,
) => {
  const { layer, lines } = appLayer(fake, testConfig(overrides));
  return Effect.gen(function* () {
    yield* (yield* ClusterState).synced;
    yield* (yield* Controller).start;
    return yield* body(lines);
  }).pipe(Effect.provide(layer));
};

/** Waits until the queue is empty and no worker is busy (it says nothing of changes not yet seen). */
export const idle = Effect.flatMap(WorkloadQueue, (queue) =>
  eventually(() => queue.depth() === 0 && queue.inFlight() === 0, "an idle queue"),
);

/** The informers' names, as the cache logs them, and what each one watches. */
const informerResources = {
  Deployment: Resources.Deployment,
  StatefulSet: Resources.StatefulSet,
  DaemonSet: Resources.DaemonSet,
  CronJob: Resources.CronJob,
  Rollout: workloadResource("Rollout"),
  CustomResourceDefinition: Resources.CustomResourceDefinition,
  Namespace: Resources.Namespace,
  Pod: Resources.Pod,
  InstrumentedApplication: OdigosResources.InstrumentedApplication,
  CollectorsGroup: OdigosResources.CollectorsGroup,
  OdigosConfiguration: OdigosResources.OdigosConfiguration,
} satisfies Record<string, Resource>;

/**
 * Evidence that the instrumentor has evaluated an object as `fake` holds it now: its cache logged
 * `"observed"` for the object's current resourceVersion or a later one (for an object deleted,
 * its deletion), then the queue was idle, so every reconcile the change queued is done. A check
 * that something did *not* happen comes after this (as test-e2e's `evaluatedBy`). `key` is
 * `namespace/name`, or the name of a cluster-scoped object.
 */
export const evaluated = (
  fake: FakeApiServer,
  lines: Lines,
  informer: keyof typeof informerResources,
  key: string,
) =>
  Effect.gen(function* () {
    const [namespace, name] = key.includes("/") ? key.split("/") : [undefined, key];
    const stored = fake.get(informerResources[informer], name ?? "", namespace);
    const version = Number(stored?.metadata.resourceVersion ?? Number.NaN);
    yield* eventually(
      () =>
        lines.some(
          (line) =>
            line.msg === "observed" &&
            line.informer === informer &&
            line.key === key &&
            (stored === undefined
              ? line.type === "DELETED"
              : Number(line.resourceVersion) >= version),
        ),
      `the instrumentor to observe ${informer} ${key}${stored === undefined ? "'s deletion" : ` at ${version}`}`,
    );
    yield* idle;
  });

/**
 * Queues `keys` for a look as the controller would, then waits until that many more reconciles
 * ran and the queue is idle: evidence that they were evaluated again.
 */
export const reevaluated = (keys: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    yield* idle;
    const before = yield* reconciles;
    const queue = yield* WorkloadQueue;
    for (const key of keys) queue.add(key);
    const deadline = Date.now() + 10_000;
    while ((yield* reconciles) < before + keys.length) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out re-evaluating ${keys}`);
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)));
    }
    yield* idle;
  });

/** Reconciles run so far, whatever their result (controller-runtime's counter). */
export const reconciles = Effect.flatMap(Metrics, (metrics) =>
  Effect.promise(async () =>
    (await metrics.reconcileTotal.get()).values.reduce((sum, entry) => sum + entry.value, 0),
  ),
);

// ---------------------------------------------------------------------------------------------
// Objects.

export const goDevice = "instrumentation.odigos.io/go-ebpf-community";
export const javaDevice = "instrumentation.odigos.io/java-native-community";

export const namespace = (name: string, annotations: Record<string, string> = {}): KubeObject => ({
  metadata: { name, annotations },
});

export const workload = (
  name: string,
  options: {
    readonly namespace?: string;
    readonly annotations?: Record<string, string>;
    readonly containers?: ReadonlyArray<{ name: string; resources?: unknown }>;
  } = {},
): KubeObject => ({
  metadata: {
    name,
    namespace: options.namespace ?? "shop",
    annotations: options.annotations ?? {},
  },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: options.containers ?? [{ name: "app", image: "app:1" }] },
    },
  },
});

export const runtimeDetails = (
  kind: WorkloadKind,
  name: string,
  languages: ReadonlyArray<unknown>,
  namespace = "shop",
): KubeObject => ({
  apiVersion: OdigosApiVersion,
  kind: "InstrumentedApplication",
  metadata: { name: `${kind.toLowerCase()}-${name}`, namespace },
  spec: { languages },
});

/** odigos-config (go: ebpf community, java: native community) and a DATA_COLLECTION group. */
export const seedOdigos = (fake: FakeApiServer, options: { readonly ready?: boolean } = {}) => {
  fake.put(OdigosResources.OdigosConfiguration, {
    metadata: { name: OdigosConfigName, namespace: odigosNamespace },
    spec: {
      configVersion: 1,
      odigosVersion: "v1.0.0",
      defaultSDKs: {
        go: { sdkType: "ebpf", sdkTier: "community" },
        java: { sdkType: "native", sdkTier: "community" },
      },
    },
  });
  fake.put(OdigosResources.CollectorsGroup, {
    metadata: { name: "data-collection", namespace: odigosNamespace },
    spec: { role: "DATA_COLLECTION" },
    status: { ready: options.ready ?? true },
  });
};

export const setCollectorsReady = (fake: FakeApiServer, ready: boolean) =>
  fake.update(
    OdigosResources.CollectorsGroup,
    "data-collection",
    odigosNamespace,
    { status: { ready } },
    "status",
  );

/** Device names per container of a stored workload's pod template (where `templatePath` says). */
export const devicesOf = (
  fake: FakeApiServer,
  kind: WorkloadKind,
  name: string,
  namespace = "shop",
) => {
  let node: unknown = fake.get(workloadResource(kind), name, namespace);
  for (const key of templatePath(kind)) node = (node as Record<string, unknown> | undefined)?.[key];
  type Container = { name: string; resources?: { limits?: Record<string, string> } };
  const containers =
    (node as { spec?: { containers?: Container[] } } | undefined)?.spec?.containers ?? [];
  return Object.fromEntries(
    containers.map((container) => [
      container.name,
      Object.keys(container.resources?.limits ?? {}).filter((resource) =>
        resource.startsWith("instrumentation.odigos.io"),
      ),
    ]),
  );
};

export { eventually, FakeApiServer, Resources };

/** What a controller manager would report once every replica of the current template is available. */
export const completeRollout = (fake: FakeApiServer, name: string) => {
  const stored = fake.get(Resources.Deployment, name, "shop");
  const generation = stored?.metadata.generation ?? 1;
  fake.update(
    Resources.Deployment,
    name,
    "shop",
    {
      status: {
        observedGeneration: generation,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      },
    },
    "status",
  );
};
