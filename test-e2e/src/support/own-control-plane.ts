import { type ControlPlane, ensureBinaries, startControlPlane } from "@odigos/control-plane";
import { type InstrumentorProcess, startInstrumentor } from "@odigos/harness";
import { Cluster, devicesOf, type WorkloadKind } from "./odigos.js";
import { waitFor } from "./wait-for.js";

/**
 * A control plane of a test file's own, for faults that would disturb every
 * other file (killing the API server, compacting etcd).
 */
export interface FaultBed {
  readonly controlPlane: ControlPlane;
  readonly cluster: Cluster;
  readonly odigosNamespace: string;
  readonly start: (args?: readonly string[]) => Promise<InstrumentorProcess>;
  /** Waits until every listed workload's devices per container equal `expected(name)`. */
  readonly expectAll: (
    kind: WorkloadKind,
    namespace: string,
    names: readonly string[],
    expected: (name: string) => Record<string, string[]>,
    timeoutMs?: number,
  ) => Promise<void>;
  readonly stop: () => Promise<void>;
}

export async function startFaultBed(extraApiServerArgs: readonly string[] = []): Promise<FaultBed> {
  const controlPlane = await startControlPlane({
    binaries: await ensureBinaries(),
    auditLog: true,
    extraApiServerArgs,
  });
  const cluster = new Cluster(controlPlane.kubeConfig());
  const odigosNamespace = "odigos-system";
  await cluster.createOdigosNamespace(odigosNamespace);
  const processes: InstrumentorProcess[] = [];
  return {
    controlPlane,
    cluster,
    odigosNamespace,
    start: async (args = []) => {
      const process = await startInstrumentor({
        kubeconfigPath: controlPlane.kubeconfigPath,
        odigosNamespace,
        args,
        waitReady: true,
      });
      processes.push(process);
      return process;
    },
    expectAll: async (kind, namespace, names, expected, timeoutMs = 60_000) => {
      let wrong: string[] = [];
      await waitFor(
        async () => {
          const list =
            kind === "Deployment"
              ? await cluster.apps.listNamespacedDeployment({ namespace })
              : kind === "StatefulSet"
                ? await cluster.apps.listNamespacedStatefulSet({ namespace })
                : await cluster.apps.listNamespacedDaemonSet({ namespace });
          const byName = new Map(
            list.items.map((item) => [item.metadata?.name ?? "", devicesOf(item)]),
          );
          wrong = names.filter(
            (name) => JSON.stringify(byName.get(name)) !== JSON.stringify(expected(name)),
          );
          return wrong.length === 0;
        },
        {
          timeoutMs,
          intervalMs: 200,
          description: `devices of ${names.length} ${kind}s in ${namespace}`,
        },
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}; still wrong: ${wrong.slice(0, 10).join(", ")}${wrong.length > 10 ? "…" : ""}`,
        );
      });
    },
    stop: async () => {
      for (const process of processes) await process.stop("SIGKILL");
      await controlPlane.stop();
    },
  };
}
