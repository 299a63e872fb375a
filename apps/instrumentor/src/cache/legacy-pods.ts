/**
 * Workloads an earlier version of the instrumentor instrumented: devices in the pod template,
 * but not the `instrumentor.odigos.io/instrumented` label (written with the devices since), so
 * their pods are not in the label-selected pod cache. While such a workload's instrument rollout
 * is within the rollback window, its pods must still be watched: a crash loop is still rolled back.
 */
import { InstrumentedPodLabel, type Workload } from "@odigos/crd-types";
import { devicesOn, readRolloutRecord } from "@odigos/instrumentation-rules";

/** How many such workloads there are, and when the last of their windows ends; none: undefined. */
export const legacyRolloutsUntil = (
  workloads: Iterable<Workload>,
  now: number,
  windowMs: number,
): { readonly count: number; readonly until: number } | undefined => {
  let count = 0;
  let until = 0;
  for (const workload of workloads) {
    if (workload.spec.template.metadata?.labels?.[InstrumentedPodLabel] !== undefined) continue;
    const record = readRolloutRecord(workload.metadata.annotations);
    if (record?.action !== "instrument") continue;
    const ends = Date.parse(record.at) + windowMs;
    if (!(ends > now)) continue;
    if (Object.keys(devicesOn(workload.spec.template.spec.containers)).length === 0) continue;
    count += 1;
    until = Math.max(until, ends);
  }
  return count === 0 ? undefined : { count, until };
};
