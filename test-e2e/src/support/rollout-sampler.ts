/**
 * Watches, from the cluster alone, which workloads are rolling because of the instrumentor: a
 * workload whose `odigos.io/rollout` record (written in the same patch as the device change) is
 * newer than the phase started and whose own status has not yet shown that rollout complete.
 * Sampled every 200 ms, independent of what the instrumentor says about itself.
 */
import { decodeDeployment, RolloutAnnotation } from "@odigos/crd-types";
import { readRolloutRecord, rolloutProgress } from "@odigos/instrumentation-rules";
import * as Either from "effect/Either";
import type { Cluster } from "./odigos.js";

export interface Sample {
  readonly at: number;
  /** Workloads rolling because of the instrumentor at that moment. */
  readonly rolling: readonly string[];
}

export interface RolloutSampler {
  readonly samples: readonly Sample[];
  /** Workloads whose rollout of this phase was seen complete. */
  readonly completed: ReadonlySet<string>;
  readonly stop: () => Promise<void>;
}

export function sampleRollouts(
  cluster: Cluster,
  namespace: string,
  phaseStart: number,
): RolloutSampler {
  const samples: Sample[] = [];
  /** Per workload, the record (its `at`) whose rollout was seen complete: it no longer counts. */
  const doneAt = new Map<string, string>();
  let running = true;
  const sample = async () => {
    const list = await cluster.apps.listNamespacedDeployment({ namespace });
    const rolling: string[] = [];
    for (const raw of list.items) {
      const decoded = decodeDeployment(raw);
      if (Either.isLeft(decoded)) continue;
      const workload = decoded.right;
      const name = workload.metadata.name;
      const record = readRolloutRecord(workload.metadata.annotations);
      if (
        record === undefined ||
        Date.parse(record.at) < phaseStart ||
        doneAt.get(name) === record.at
      )
        continue;
      const complete =
        (workload.status?.observedGeneration ?? 0) >= record.generation &&
        rolloutProgress(workload)._tag === "Complete";
      if (complete) doneAt.set(name, record.at);
      else rolling.push(name);
    }
    samples.push({ at: Date.now(), rolling });
  };
  const loop = (async () => {
    while (running) {
      await sample().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    samples,
    get completed() {
      return new Set(doneAt.keys());
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** The rollout record annotation of a workload, parsed (undefined without one). */
export const rolloutRecordOf = (annotations: Record<string, string> | undefined) =>
  readRolloutRecord(
    annotations === undefined
      ? undefined
      : { [RolloutAnnotation]: annotations[RolloutAnnotation] ?? "" },
  );
