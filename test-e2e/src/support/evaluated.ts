/**
 * Evidence that an instrumentor (run with `--log-level=debug`) has evaluated an object as it is
 * now: its cache logged `"observed"` for the object's current resourceVersion (or a later one),
 * and then its work queue was empty with no worker busy, so every reconcile the change queued is
 * done. A check that something did *not* happen comes after this.
 */
import type { InstrumentorProcess } from "./instrumentor-process.js";
import type { Cluster, Informer } from "./odigos.js";
import { waitFor } from "./wait-for.js";

/** Sum of one metric family in Prometheus text. */
export const metricSum = (text: string, name: string): number =>
  text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);

/** Waits until the instrumentor's work queue is empty and no worker is busy. */
export async function idleQueue(instrumentor: InstrumentorProcess): Promise<void> {
  await waitFor(
    async () => {
      const text = await (
        await fetch(`http://127.0.0.1:${instrumentor.metricsPort}/metrics`)
      ).text();
      return (
        metricSum(text, "workqueue_depth") +
          metricSum(text, "controller_runtime_active_workers") ===
        0
      );
    },
    { timeoutMs: 30_000, intervalMs: 50, description: "an idle work queue" },
  );
}

/** Waits for the instrumentor to have seen this object's current version, then for an idle queue. */
export async function evaluatedBy(
  instrumentor: InstrumentorProcess,
  cluster: Cluster,
  informer: Informer,
  namespace: string | undefined,
  name: string,
): Promise<void> {
  const version = Number(await cluster.resourceVersionOf(informer, namespace, name));
  const key = namespace === undefined ? name : `${namespace}/${name}`;
  await instrumentor.waitForLog(
    (line) =>
      line.msg === "observed" &&
      line.informer === informer &&
      line.key === key &&
      Number(line.resourceVersion) >= version,
    30_000,
  );
  await idleQueue(instrumentor);
}
