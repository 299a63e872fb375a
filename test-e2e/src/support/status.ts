/** SPEC section 9 in the e2e tests: the running operator's `/status`, and the workloads that show its reasons. */
import type { InstrumentorProcess } from "@odigos/harness";
import { type Cluster, device } from "./odigos.js";
import type { Scenario } from "./scenario.js";

/** One row of the operator's `/status`. */
export interface StatusEntry {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly state: string;
  readonly reason: string;
  readonly message: string;
  readonly remedy?: string;
}

/** The operator's `/status` rows of one namespace (its content type checked on the way). */
export const operatorStatus = async (
  instrumentor: InstrumentorProcess,
  namespace: string,
): Promise<ReadonlyArray<StatusEntry>> => {
  const response = await fetch(`http://127.0.0.1:${instrumentor.metricsPort}/status`);
  const type = response.headers.get("content-type");
  if (type !== "application/json") throw new Error(`/status answered ${type}, not JSON`);
  const body = (await response.json()) as { workloads: ReadonlyArray<StatusEntry> };
  return body.workloads.filter((entry) => entry.namespace === namespace);
};

/**
 * Three Deployments whose reasons follow from SPEC on a cluster without pods: `instrumented`
 * (opted in, Go runtime details: rolling out, as no node runs its pods), `noDetails` (opted in,
 * no runtime details) and `optedOut` (its own marker says false). Resolves once the first
 * carries its device.
 */
export const seedStatusCases = async (
  s: Pick<Scenario, "cluster" | "expectDevices">,
  namespace: string,
  names: { readonly instrumented: string; readonly noDetails: string; readonly optedOut: string },
): Promise<void> => {
  const cluster: Cluster = s.cluster;
  const optedIn = { annotations: { "odigos.io/instrument": "true" } };
  await cluster.createWorkload("Deployment", namespace, names.instrumented, optedIn);
  await cluster.putRuntimeDetails("Deployment", namespace, names.instrumented, [
    { containerName: "app", language: "go" },
  ]);
  await cluster.createWorkload("Deployment", namespace, names.noDetails, optedIn);
  await cluster.createWorkload("Deployment", namespace, names.optedOut, {
    annotations: { "odigos.io/instrument": "false" },
  });
  await s.expectDevices("Deployment", namespace, names.instrumented, { app: [device("go")] });
};
