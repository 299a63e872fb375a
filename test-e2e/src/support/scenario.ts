import { randomBytes } from "node:crypto";
import { type InstrumentorProcess, startInstrumentor } from "@odigos/harness";
import { inject } from "vitest";
import { adminKubeConfig } from "./cluster.js";
import { evaluatedBy } from "./evaluated.js";
import { Cluster, type Informer, type WorkloadKind } from "./odigos.js";
import { waitFor } from "./wait-for.js";

export interface Scenario {
  readonly cluster: Cluster;
  /** This file's Odigos namespace (CURRENT_NS of its instrumentor). */
  readonly odigosNamespace: string;
  /** The running instrumentor (a new one after {@link Scenario.restart}). */
  readonly instrumentor: InstrumentorProcess;
  /** Stops the instrumentor with SIGTERM (it must exit 0) and starts a new one with the same flags. */
  readonly restart: () => Promise<InstrumentorProcess>;
  /** A fresh namespace name with this file's prefix (not created). */
  readonly namespaceName: (label: string) => string;
  /** Creates a namespace that is deleted after the file. */
  readonly namespace: (
    label: string,
    annotations?: Record<string, string>,
    labels?: Record<string, string>,
  ) => Promise<string>;
  /** Waits until the workload's devices per container equal `expected` (`{}` = none). */
  readonly expectDevices: (
    kind: WorkloadKind,
    namespace: string,
    name: string,
    expected: Record<string, string[]>,
    timeoutMs?: number,
  ) => Promise<void>;
  readonly expectRuntimeDetails: (
    kind: WorkloadKind,
    namespace: string,
    name: string,
    exists: boolean,
    timeoutMs?: number,
  ) => Promise<void>;
  /**
   * Waits for evidence that the instrumentor has evaluated this object as it is now: its debug
   * log says its cache observed the object's current resourceVersion (or a later one), and then
   * its queue is empty with no worker busy, so every reconcile that change queued is done.
   * A check that something did *not* happen comes after this.
   */
  readonly evaluated: (
    informer: Informer,
    namespace: string | undefined,
    name: string,
  ) => Promise<void>;
  /** Waits until the work queue is empty and no worker is busy. */
  readonly idle: () => Promise<void>;
  readonly teardown: () => Promise<void>;
}

/** For a failure message: what the instrumentor logged about this object and its namespace. */
const loggedAbout = (instrumentor: InstrumentorProcess, namespace: string, name: string) => {
  const lines = instrumentor.logs
    .filter((line) => {
      const text = JSON.stringify(line);
      return text.includes(`"${namespace}"`) || text.includes(`"${namespace}/`);
    })
    .filter((line) => JSON.stringify(line).includes(name) || line.informer === "Namespace")
    .slice(-20)
    .map((line) => JSON.stringify(line));
  return lines.length === 0
    ? "; the instrumentor logged nothing about it"
    : `; the instrumentor's last lines about it:\n${lines.join("\n")}`;
};

/** The waits for a workload's outcome; a failure says what the instrumentor logged about it. */
const expectations = (
  cluster: Cluster,
  instrumentor: () => InstrumentorProcess,
): Pick<Scenario, "expectDevices" | "expectRuntimeDetails"> => ({
  expectDevices: async (kind, namespace, name, expected, timeoutMs = 15_000) => {
    let last: Record<string, string[]> = {};
    await waitFor(
      async () => {
        last = await cluster.devices(kind, namespace, name);
        return JSON.stringify(last) === JSON.stringify(sortRecord(expected));
      },
      {
        timeoutMs,
        description: `${kind} ${namespace}/${name} devices ${JSON.stringify(expected)}`,
      },
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}; last seen ${JSON.stringify(last)}${loggedAbout(instrumentor(), namespace, name)}`,
      );
    });
  },
  expectRuntimeDetails: async (kind, namespace, name, exists, timeoutMs = 15_000) => {
    await waitFor(
      async () => (await cluster.runtimeDetailsExists(kind, namespace, name)) === exists,
      {
        timeoutMs,
        description: `runtime details of ${kind} ${namespace}/${name} ${exists ? "present" : "gone"}`,
      },
    ).catch((error: Error) => {
      throw new Error(`${error.message}${loggedAbout(instrumentor(), namespace, name)}`);
    });
  },
});

/**
 * Stops the instrumentor (it must exit 0 and have written only JSON) and deletes the file's
 * namespaces, waiting until they are gone.
 */
const teardown = async (
  cluster: Cluster,
  instrumentor: InstrumentorProcess,
  created: readonly string[],
): Promise<void> => {
  const code = await instrumentor.stop("SIGTERM");
  for (const name of created) await cluster.core.deleteNamespace({ name }).catch(() => undefined);
  // The next file's instrumentor watches cluster-wide: leave it nothing of ours to act on.
  await waitFor(
    async () => {
      const left = await cluster.core.listNamespace();
      return !left.items.some((ns) => created.includes(ns.metadata?.name ?? ""));
    },
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: `namespaces ${created.join(", ")} deleted`,
    },
  );
  if (code !== 0) throw new Error(`instrumentor exited with ${code} on SIGTERM`);
  if (instrumentor.unstructured.length > 0) {
    throw new Error(`instrumentor wrote non-JSON lines:\n${instrumentor.unstructured.join("\n")}`);
  }
};

/**
 * One instrumentor process per test file with an Odigos namespace of its own
 * (odigos-config with default SDKs, a DATA_COLLECTION group, ready unless told).
 * Files run one after another: an instrumentor watches workloads cluster-wide.
 */
export async function startScenario(
  label: string,
  options: {
    collectorsReady?: boolean;
    args?: readonly string[];
    /** More environment for the instrumentor (e.g. `POD_NAME`). */
    env?: Readonly<Record<string, string>>;
  } = {},
): Promise<Scenario> {
  const kubeConfig = adminKubeConfig();
  const cluster = new Cluster(kubeConfig);
  const suffix = randomBytes(3).toString("hex");
  const namespaceName = (name: string) => `e2e-${label}-${name}-${suffix}`.slice(0, 63);
  const odigosNamespace = namespaceName("odigos");
  const created: string[] = [odigosNamespace];
  await cluster.createOdigosNamespace(odigosNamespace);
  if (options.collectorsReady ?? true)
    await cluster.setCollectorsReady(odigosNamespace, "data-collection", true);
  const start = () =>
    startInstrumentor({
      kubeconfigPath: inject("kubeconfigPath"),
      odigosNamespace,
      // Debug level: scenarios wait for the "observed" line of an object before a negative check.
      args: ["--log-level=debug", ...(options.args ?? [])],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
  let instrumentor = await start();
  return {
    evaluated: (informer, namespace, name) =>
      evaluatedBy(instrumentor, cluster, informer, namespace, name),
    idle: () => instrumentor.idle(30_000),
    cluster,
    odigosNamespace,
    get instrumentor() {
      return instrumentor;
    },
    restart: async () => {
      const code = await instrumentor.stop("SIGTERM");
      if (code !== 0) throw new Error(`instrumentor exited with ${code} on SIGTERM`);
      instrumentor = await start();
      return instrumentor;
    },
    namespaceName,
    namespace: async (name, annotations, labels) => {
      const full = namespaceName(name);
      await cluster.createNamespace(full, annotations, labels);
      created.push(full);
      return full;
    },
    ...expectations(cluster, () => instrumentor),
    teardown: () => teardown(cluster, instrumentor, created),
  };
}

const sortRecord = (record: Record<string, string[]>) =>
  Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, [...(record[key] ?? [])].sort()]),
  );
