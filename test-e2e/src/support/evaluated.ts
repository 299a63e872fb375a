/**
 * Evidence that an instrumentor (run with `--log-level=debug`) has evaluated an object as it is
 * now: its cache logged `"observed"` for the object's current resourceVersion (or a later one),
 * and then its work queue was empty with no worker busy, so every reconcile the change queued is
 * done. A check that something did *not* happen comes after this.
 */
import type { InstrumentorProcess } from "@odigos/harness";
import type { Cluster, Informer } from "./odigos.js";

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
  await instrumentor.idle(30_000);
}
