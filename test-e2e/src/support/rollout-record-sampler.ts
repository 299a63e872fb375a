/**
 * The sampler of the `make start` demo, whose local cluster has no audit log: it still judges a
 * rollout from the instrumentor's own `odigos.io/rollout` record. Tests on a control plane with an
 * audit log use the independent `sampleRollouts` (./rollout-sampler.ts) instead.
 */
import { decodeDeployment } from "@odigos/crd-types";
import { readRolloutRecord, rolloutProgress } from "@odigos/instrumentation-rules";
import * as Either from "effect/Either";
import type { Cluster } from "./odigos.js";

interface Sample {
  readonly at: number;
  /** Workloads rolling because of the instrumentor at that moment. */
  readonly rolling: readonly string[];
}

export interface RecordRolloutSampler {
  readonly samples: readonly Sample[];
  /** Workloads whose rollout of this phase was seen complete. */
  readonly completed: ReadonlySet<string>;
  readonly stop: () => Promise<void>;
}

export function sampleRolloutsByRecord(
  cluster: Cluster,
  namespace: string,
  phaseStart: number,
): RecordRolloutSampler {
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
