/**
 * What the benchmark's runs share: its own API clients (told apart by User-Agent), small
 * concurrency helpers, and the per-phase meter (API-server counters, the audit log split by
 * client, CPU and memory of every process of the benchmark).
 */
import {
  type AuditLine,
  AuditTail,
  type ControlPlane,
  filterAudit,
  type PodsOptions,
  startControlPlane,
} from "@odigos/control-plane";
import { OdigosApiVersion, OdigosConfigName, OdigosResources } from "@odigos/crd-types";
import { type InstrumentorProcess, metricSum, parseSamples } from "@odigos/harness";
import {
  credentialsFromKubeconfig,
  type KubeClientApi,
  type KubeError,
  type KubeObject,
  makeKubeClient,
  type Resource,
  Resources,
} from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import { cpuSeconds, type MemorySampler, ownCpuSeconds, systemBusySeconds } from "./proc.js";
import { diffTotals, requestTotals } from "./prometheus.js";
import { createdCount, summarizeByComponent, summarizeRequests } from "./requests.js";
import type { Tracker } from "./tracker.js";
import type { GcSeconds, PhaseResult } from "./types.js";
import { defaultSdks, namespaceManifest } from "./workloads.js";

export const odigosNamespace = "odigos-bench";
const userAgent = (role: string) => `odigos-bench/0.1.0 ${role}`;
const collectorsGroup = "data-collection";

/** A client of the benchmark's own, told apart in the audit log by its User-Agent. */
export type BenchClient = KubeClientApi & { readonly close: () => void };

export const benchClient = async (kubeconfigPath: string, role: string): Promise<BenchClient> =>
  makeKubeClient(await Effect.runPromise(credentialsFromKubeconfig(kubeconfigPath)), {
    userAgent: userAgent(role),
    maxSockets: 256,
  });

/** Runs a request; a failure rejects with the client's own error (method, path, code, reason). */
export const send = <A>(request: Effect.Effect<A, KubeError>): Promise<A> =>
  Effect.runPromise(Effect.mapError(request, (error) => new Error(error.message)));

/**
 * What every run seeds first: the Odigos namespace with an `odigos-config` (default SDKs for the
 * five languages) and a data-collection CollectorsGroup that is not ready, and `namespaces`
 * namespaces for the workloads. Returns the switch of the collectors' readiness.
 */
export const seedOdigos = async (
  driver: BenchClient,
  namespaces: number,
  concurrency: number,
): Promise<(ready: boolean) => Promise<unknown>> => {
  await send(
    driver.create(Resources.Namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: odigosNamespace },
    }),
  );
  await send(
    driver.create(OdigosResources.OdigosConfiguration, {
      apiVersion: OdigosApiVersion,
      kind: "OdigosConfiguration",
      metadata: { name: OdigosConfigName, namespace: odigosNamespace },
      spec: { configVersion: 1, odigosVersion: "v1.0.0", defaultSDKs: defaultSdks },
    }),
  );
  await send(
    driver.create(OdigosResources.CollectorsGroup, {
      apiVersion: OdigosApiVersion,
      kind: "CollectorsGroup",
      metadata: { name: collectorsGroup, namespace: odigosNamespace },
      spec: { role: "DATA_COLLECTION" },
    }),
  );
  const setCollectorsReady = (ready: boolean) =>
    send(
      driver.patch(
        OdigosResources.CollectorsGroup,
        collectorsGroup,
        { type: "merge", body: { status: { ready } } },
        { namespace: odigosNamespace, subresource: "status" },
      ),
    );
  await setCollectorsReady(false);
  await pool(
    Array.from({ length: namespaces }, (_, index) => index),
    concurrency,
    async (index) => {
      await send(driver.create(Resources.Namespace, namespaceManifest(index)));
    },
  );
  return setCollectorsReady;
};

/** Runs `task` over `items` with at most `concurrency` in flight; `onDone` after each. */
export const pool = <T>(
  items: ReadonlyArray<T>,
  concurrency: number,
  task: (item: T) => Promise<void>,
  onDone?: (done: number) => void,
): Promise<void> => {
  let done = 0;
  return Effect.runPromise(
    Effect.forEach(
      items,
      (item) =>
        Effect.tryPromise({ try: () => task(item), catch: (error) => error }).pipe(
          Effect.tap(() => Effect.sync(() => onDone?.(++done))),
        ),
      { concurrency, discard: true },
    ),
  );
};

/** Creates every object, `concurrency` at a time; `onDone` after each. */
export const createAll = (
  driver: BenchClient,
  creates: ReadonlyArray<{ readonly resource: Resource; readonly body: KubeObject }>,
  concurrency: number,
  onDone: (done: number) => void,
): Promise<void> =>
  pool(
    creates,
    concurrency,
    async ({ resource, body }) => {
      await send(driver.create(resource, body));
    },
    onDone,
  );

export type Log = (message: string) => void;

export interface Mark {
  readonly metrics: ReadonlyMap<string, number>;
  readonly instrumentorCpu: number | undefined;
  readonly apiServerCpu: number | undefined;
  readonly etcdCpu: number | undefined;
  readonly benchCpu: number;
  readonly systemBusy: number;
  readonly at: number;
  readonly waitedForQuietMs: number;
  /** The instrumentor's GC seconds so far, by kind, when one is attached. */
  readonly instrumentorGc: GcSeconds | undefined;
  /** CPU seconds of kube-controller-manager, kube-scheduler and kwok, when they run. */
  readonly componentsCpu: Readonly<Record<ClusterComponent, number | undefined>>;
}

/** The cluster's own processes besides the API server and etcd (with a controller manager, or pods). */
export type ClusterComponent = "controllerManager" | "scheduler" | "kwok";
const clusterComponents: ReadonlyArray<ClusterComponent> = [
  "controllerManager",
  "scheduler",
  "kwok",
];

/** The instrumentor's GC seconds from its /metrics text (`nodejs_gc_duration_seconds_sum` by kind). */
export const gcSecondsOf = (text: string): GcSeconds | undefined => {
  const samples = parseSamples(text, "nodejs_gc_duration_seconds_sum");
  if (samples.length === 0) return undefined;
  const of = (kind: string) =>
    samples.filter((sample) => sample.labels.kind === kind).reduce((sum, s) => sum + s.value, 0);
  return { minor: of("minor"), major: of("major"), incremental: of("incremental") };
};

const gcDelta = (after: GcSeconds | undefined, before: GcSeconds | undefined) =>
  after === undefined || before === undefined
    ? undefined
    : {
        minor: after.minor - before.minor,
        major: after.major - before.major,
        incremental: after.incremental - before.incremental,
      };

const delta = (after: number | undefined, before: number | undefined) =>
  after === undefined || before === undefined ? undefined : after - before;

/** CPU seconds so far of every process of the benchmark. */
interface OurCpu {
  readonly apiServer: number | undefined;
  readonly etcd: number | undefined;
  readonly instrumentor: number | undefined;
  readonly bench: number;
  readonly components: Record<ClusterComponent, number | undefined>;
}

/** CPU seconds since `mark` of each process of the benchmark, and of every other process (`other`). */
const cpuSince = (mark: Mark, cpu: OurCpu, systemBusy: number) => {
  const apiServer = delta(cpu.apiServer, mark.apiServerCpu);
  const etcd = delta(cpu.etcd, mark.etcdCpu);
  const instrumentor = delta(cpu.instrumentor, mark.instrumentorCpu);
  const bench = cpu.bench - mark.benchCpu;
  const components = Object.fromEntries(
    clusterComponents.map((name) => [name, delta(cpu.components[name], mark.componentsCpu[name])]),
  ) as Record<ClusterComponent, number | undefined>;
  const other = Math.max(
    0,
    systemBusy -
      mark.systemBusy -
      (apiServer ?? 0) -
      (etcd ?? 0) -
      (instrumentor ?? 0) -
      clusterComponents.reduce((sum, name) => sum + (components[name] ?? 0), 0) -
      bench,
  );
  return { apiServer, etcd, instrumentor, bench, components, other };
};

/** Per-phase figures: API-server counters, the audit log split by client, CPU and memory. */
export class Meter {
  private instrumentor: { process: InstrumentorProcess; sampler: MemorySampler } | undefined;

  constructor(
    private readonly driver: BenchClient,
    private readonly audit: AuditTail,
    private readonly controlPlane: ControlPlane,
    private readonly quiet: { readonly maxWaitMs: number; readonly maxOtherCores: number },
    private readonly log: Log,
    /**
     * Also count every client's requests by program (the controller manager's, the scheduler's,
     * kwok's: what the instrumentor's writes multiply into) and ReplicaSets created.
     */
    private readonly everyClient = false,
  ) {}

  attach(process: InstrumentorProcess, sampler: MemorySampler): void {
    this.instrumentor = { process, sampler };
  }

  detach(): void {
    this.instrumentor = undefined;
  }

  private async scrape(): Promise<Map<string, number>> {
    return requestTotals(await send(this.driver.getText("/metrics")));
  }

  /** CPU seconds of every process of the benchmark (control plane, instrumentor, this one). */
  private ourCpu(): OurCpu {
    const pids = this.controlPlane.pids();
    const of = (pid: number | undefined) => (pid === undefined ? undefined : cpuSeconds(pid));
    return {
      apiServer: of(pids.apiserver),
      etcd: cpuSeconds(pids.etcd),
      instrumentor:
        this.instrumentor === undefined ? undefined : cpuSeconds(this.instrumentor.process.pid),
      bench: ownCpuSeconds(),
      components: {
        controllerManager: of(pids.controllerManager),
        scheduler: of(pids.scheduler),
        kwok: of(pids.kwok),
      },
    };
  }

  /** CPU cores used by other processes on the machine over `ms`. */
  private async otherCores(ms: number): Promise<number> {
    const before = this.ourCpu();
    const busyBefore = systemBusySeconds();
    await sleep(ms);
    const after = this.ourCpu();
    const ours =
      (delta(after.apiServer, before.apiServer) ?? 0) +
      (delta(after.etcd, before.etcd) ?? 0) +
      (delta(after.instrumentor, before.instrumentor) ?? 0) +
      clusterComponents.reduce(
        (sum, name) => sum + (delta(after.components[name], before.components[name]) ?? 0),
        0,
      ) +
      (after.bench - before.bench);
    return Math.max(0, systemBusySeconds() - busyBefore - ours) / (ms / 1000);
  }

  /** Waits (bounded) until other processes leave the CPUs mostly to the benchmark. */
  private async waitForQuiet(): Promise<number> {
    if (this.quiet.maxWaitMs <= 0) return 0;
    const started = performance.now();
    let logged = false;
    for (;;) {
      const other = await this.otherCores(500);
      const waited = performance.now() - started;
      if (other <= this.quiet.maxOtherCores) return waited;
      if (waited >= this.quiet.maxWaitMs) {
        this.log(`  other processes still use ${other.toFixed(1)} cores: measuring anyway`);
        return waited;
      }
      if (!logged) {
        this.log(
          `  other processes use ${other.toFixed(1)} cores: waiting up to ${(this.quiet.maxWaitMs / 1000).toFixed(0)} s for quiet`,
        );
        logged = true;
      }
    }
  }

  /** Starts a phase; with `quiet`, first waits for other load on the machine to drop. */
  async begin(quiet = false): Promise<Mark> {
    const waitedForQuietMs = quiet ? await this.waitForQuiet() : 0;
    await this.audit.read([]); // skip what happened before the phase
    const metrics = await this.scrape();
    const instrumentorGc =
      this.instrumentor === undefined
        ? undefined
        : gcSecondsOf(await this.instrumentor.process.metrics().catch(() => ""));
    this.instrumentor?.sampler.resetWindow();
    const cpu = this.ourCpu();
    return {
      metrics,
      instrumentorCpu: this.instrumentor === undefined ? 0 : cpu.instrumentor,
      apiServerCpu: cpu.apiServer,
      etcdCpu: cpu.etcd,
      benchCpu: cpu.bench,
      systemBusy: systemBusySeconds(),
      at: performance.now(),
      waitedForQuietMs,
      instrumentorGc,
      componentsCpu: cpu.components,
    };
  }

  async end(mark: Mark, name: string, wallMs: number, workloads: number): Promise<PhaseResult> {
    const cpu = this.ourCpu();
    const systemBusy = systemBusySeconds();
    const elapsed = (performance.now() - mark.at) / 1000;
    const lines = await this.audit.read(
      this.everyClient ? [""] : ["odigos-instrumentor/", "odigos-bench/"],
    );
    const metrics = await this.scrape();
    const requests = diffTotals(mark.metrics, metrics);
    const by = (predicate: (agent: string) => boolean): AuditLine[] =>
      filterAudit(lines, { userAgent: predicate });
    const instrumentor = this.instrumentor;
    const floorClient = by((agent) => agent === userAgent("floor"));
    const bench = by((agent) => agent.startsWith("odigos-bench/") && agent !== userAgent("floor"));
    const {
      apiServer: apiServerCpu,
      etcd: etcdCpu,
      instrumentor: instrumentorCpu,
      bench: benchCpu,
      components: componentsCpu,
      other: otherCpu,
    } = cpuSince(mark, cpu, systemBusy);
    let heapUsedBytes: number | undefined;
    let gcSeconds: GcSeconds | undefined;
    if (instrumentor !== undefined) {
      const text = await instrumentor.process.metrics().catch(() => "");
      heapUsedBytes = metricSum(text, "nodejs_heap_size_used_bytes") || undefined;
      gcSeconds = gcDelta(gcSecondsOf(text), mark.instrumentorGc);
    }
    const result: PhaseResult = {
      name,
      wallMs,
      workloads,
      apiServer: {
        requests,
        total: Object.values(requests).reduce((sum, count) => sum + count, 0),
        cpuSeconds: apiServerCpu,
        etcdCpuSeconds: etcdCpu,
      },
      machine: {
        benchCpuSeconds: benchCpu,
        otherCpuSeconds: otherCpu,
        otherCores: elapsed > 0 ? otherCpu / elapsed : 0,
        waitedForQuietMs: mark.waitedForQuietMs,
      },
      ...(instrumentor === undefined
        ? {}
        : {
            instrumentor: {
              requests: summarizeRequests(by((agent) => instrumentor.process.sent(agent))),
              cpuSeconds: instrumentorCpu,
              peakRssBytes: instrumentor.sampler.resetWindow(),
              rssAfterBytes: instrumentor.sampler.rss,
              heapUsedBytes,
              gcSeconds,
              highWaterMarkBytes: instrumentor.sampler.highWaterMark,
            },
          }),
      ...(this.everyClient
        ? {
            cluster: {
              byComponent: summarizeByComponent(lines),
              replicaSetsCreated: createdCount(lines, "replicasets"),
              podsCreated: createdCount(lines, "pods"),
              controllerManagerCpuSeconds: componentsCpu.controllerManager,
              schedulerCpuSeconds: componentsCpu.scheduler,
              kwokCpuSeconds: componentsCpu.kwok,
            },
          }
        : {}),
      ...(floorClient.length === 0 ? {} : { floorClient: summarizeRequests(floorClient) }),
      ...(bench.length === 0 ? {} : { bench: summarizeRequests(bench) }),
    };
    return result;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** _steady_: `seconds` with no input changes, every request counted. */
export const steadyPhase = async (
  meter: Meter,
  seconds: number,
  log: Log,
): Promise<PhaseResult> => {
  log(`steady: ${seconds} s with no input changes`);
  const mark = await meter.begin();
  const started = performance.now();
  await sleep(seconds * 1000);
  return meter.end(mark, "steady", performance.now() - started, 0);
};

/** Calls `report` every `everyMs` while `work` runs. */
export const ticking = async <T>(
  work: Promise<T>,
  report: () => void,
  everyMs = 2000,
): Promise<T> => {
  const timer = setInterval(report, everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
};

export const throttled = (log: Log, label: string, total: number) => {
  const started = performance.now();
  let last = started;
  return (done: number) => {
    const now = performance.now();
    if (now - last < 2000 && done < total) return;
    last = now;
    const rate = done / Math.max(0.001, (now - started) / 1000);
    log(`${label}: ${done}/${total} (${rate.toFixed(0)}/s)`);
  };
};

/** What a run has started, so that Ctrl-C (or a failure) can stop it. */
export interface RunHandles {
  controlPlane?: ControlPlane;
  instrumentor?: InstrumentorProcess;
  tracker?: Tracker;
}

/** What both runs start with: the control plane, the benchmark's driver and watch clients, the meter. */
export interface BenchCluster {
  readonly controlPlane: ControlPlane;
  readonly driver: BenchClient;
  readonly watchClient: BenchClient;
  readonly meter: Meter;
  /** From the start of the control plane until it answered. */
  readonly startMs: number;
}

/**
 * Starts the control plane with its audit log on (never rotated: a 5000-workload run writes
 * several hundred MB), with pods when `pods` is given, then the clients and the meter (which
 * with pods also counts every other client's requests). `started` gets the control plane as soon
 * as it is up, so that Ctrl-C can stop it from then on.
 */
export const startBenchCluster = async (setup: {
  readonly pods?: PodsOptions | undefined;
  readonly quietWaitSeconds: number;
  readonly started: (controlPlane: ControlPlane) => void;
  readonly log: Log;
}): Promise<BenchCluster> => {
  const { log } = setup;
  const began = performance.now();
  const controlPlane = await startControlPlane({
    auditLog: true,
    extraApiServerArgs: ["--audit-log-maxsize=1000000"],
    ...(setup.pods === undefined ? {} : { pods: setup.pods }),
  });
  setup.started(controlPlane);
  const startMs = performance.now() - began;
  log(`control plane up at ${controlPlane.server} in ${(startMs / 1000).toFixed(1)} s`);
  const auditLogPath = controlPlane.auditLogPath;
  if (auditLogPath === undefined) throw new Error("the control plane has no audit log");
  const driver = await benchClient(controlPlane.kubeconfigPath, "driver");
  const watchClient = await benchClient(controlPlane.kubeconfigPath, "watch");
  const meter = new Meter(
    driver,
    new AuditTail(auditLogPath),
    controlPlane,
    { maxWaitMs: setup.quietWaitSeconds * 1000, maxOtherCores: 0.3 },
    log,
    setup.pods !== undefined,
  );
  return { controlPlane, driver, watchClient, meter, startMs };
};
