/**
 * What a client asked the API server for, from its audit log (read and filtered with
 * `@odigos/control-plane`'s audit module): requests by verb and resource, writes, workload
 * writes and GETs, Events, conflicts and errors; per program; objects created.
 */
import {
  type AuditLine,
  auditMatches,
  componentOf,
  countable,
  writeVerbs,
} from "@odigos/control-plane";
import { WorkloadKinds, workloadResource } from "@odigos/crd-types";
import type { RequestSummary } from "./types.js";

/**
 * The resources of every workload kind the instrumentor writes: `deployments`, `statefulsets`,
 * `daemonsets`, `cronjobs`, `rollouts` (`@odigos/control-plane`'s `workloadResources` has only
 * the first three).
 */
export const benchWorkloadResources: ReadonlySet<string> = new Set(
  WorkloadKinds.map((kind) => workloadResource(kind).plural),
);

export const summarizeRequests = (events: Iterable<AuditLine>): RequestSummary => {
  const byKey = new Map<string, number>();
  const perWorkload = new Map<string, number>();
  let total = 0;
  let writes = 0;
  let workloadWrites = 0;
  let workloadGets = 0;
  let eventCreates = 0;
  let conflicts = 0;
  let errors = 0;
  for (const event of events) {
    if (!countable(event)) continue;
    total++;
    const verb = event.verb ?? "?";
    const resource = event.objectRef?.resource ?? "";
    const subresource = event.objectRef?.subresource;
    const key =
      resource === ""
        ? `${verb} (non-resource)`
        : `${verb} ${resource}${subresource === undefined ? "" : `/${subresource}`}`;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
    const code = event.responseStatus?.code ?? 0;
    if (code === 409) conflicts++;
    else if (code >= 400) errors++;
    const onWorkload = auditMatches(event, { resources: benchWorkloadResources });
    if (writeVerbs.has(verb)) {
      writes++;
      if (resource === "events" && verb === "create") eventCreates++;
      if (onWorkload) {
        workloadWrites++;
        const name = `${resource}/${event.objectRef?.namespace ?? ""}/${event.objectRef?.name ?? ""}`;
        perWorkload.set(name, (perWorkload.get(name) ?? 0) + 1);
      }
    }
    if (onWorkload && verb === "get") workloadGets++;
  }
  const sorted = [...byKey].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    total,
    byVerbResource: Object.fromEntries(sorted),
    writes,
    workloadWrites,
    workloadsWritten: perWorkload.size,
    maxWritesPerWorkload: Math.max(0, ...perWorkload.values()),
    workloadGets,
    eventCreates,
    conflicts,
    errors,
  };
};

/** Requests per program (see `componentOf`), each summarised, the busiest first. */
export const summarizeByComponent = (
  events: Iterable<AuditLine>,
): Record<string, RequestSummary> => {
  const groups = new Map<string, AuditLine[]>();
  for (const event of events) {
    if (!countable(event)) continue;
    const component = componentOf(event.userAgent);
    const group = groups.get(component);
    if (group === undefined) groups.set(component, [event]);
    else group.push(event);
  }
  return Object.fromEntries(
    [...groups]
      .map(([component, lines]) => [component, summarizeRequests(lines)] as const)
      .sort((a, b) => b[1].total - a[1].total),
  );
};

/** Objects of `resource` created (a successful `create`, by anyone), e.g. ReplicaSets. */
export const createdCount = (events: Iterable<AuditLine>, resource: string): number => {
  let count = 0;
  for (const event of events) {
    if (event.stage !== "ResponseComplete" || event.verb !== "create") continue;
    if (event.objectRef?.resource !== resource || event.objectRef.subresource !== undefined)
      continue;
    const code = event.responseStatus?.code ?? 0;
    if (code >= 200 && code < 300) count++;
  }
  return count;
};
