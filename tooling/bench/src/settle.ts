/** When the instrumentor has settled after a change, judged from its own metrics. */
import { type InstrumentorProcess, metricSum } from "@odigos/harness";

/**
 * Waits until the instrumentor is idle: nothing queued or in progress, and its reconcile and
 * write counters unchanged for `quietMs`, with at least `atLeastReconciles` reconciles in all.
 * Resolves with the reconcile total. (A benchmark heuristic: the end-to-end tests wait for the
 * instrumentor's log line for the exact object version instead.)
 */
export const settled = async (
  instrumentor: InstrumentorProcess,
  options: { quietMs?: number; atLeastReconciles?: number; timeoutMs?: number } = {},
): Promise<number> => {
  const quietMs = options.quietMs ?? 500;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let previous = "";
  let since = performance.now();
  for (;;) {
    if (!instrumentor.alive) throw new Error("instrumentor exited while waiting for it to settle");
    const text = await instrumentor.metrics();
    const reconciles = metricSum(text, "controller_runtime_reconcile_total");
    const writes = metricSum(text, "odigos_instrumentor_writes_total");
    const busy =
      metricSum(text, "workqueue_depth") + metricSum(text, "controller_runtime_active_workers");
    const signature = `${reconciles}/${writes}`;
    if (busy > 0 || signature !== previous || reconciles < (options.atLeastReconciles ?? 0)) {
      previous = signature;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      return reconciles;
    }
    if (Date.now() > deadline) throw new Error("instrumentor did not settle in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
