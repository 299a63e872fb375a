/**
 * The sampler of the `make start` demo, whose local cluster has no audit log. Like the audit-log
 * sampler (./rollout-sampler.ts), it judges from the cluster alone, never from what the
 * instrumentor says about itself (its `odigos.io/rollout` records, `rolloutProgress`, its logs):
 *
 * - a Deployment's rollout starts at the first sample in which its pod template's
 *   instrumentation devices differ from what they were at the first sample of the phase (only
 *   the instrumentor writes devices in the demo);
 * - it ends at the first sample in which the Deployment's own status says its current template
 *   is rolled out, by Kubernetes' definition ({@link rolloutComplete}).
 *
 * Each sample is one list, so it is one consistent view of the namespace: a rollout started after
 * another ended is never counted with it. Sampled every 200 ms.
 */
import { type Cluster, devicesOf } from "./odigos.js";
import { rolloutComplete, type Sample } from "./rollout-sampler.js";

export interface TemplateRolloutSampler {
  readonly samples: readonly Sample[];
  /** Deployments whose rollout of this phase was seen complete. */
  readonly completed: ReadonlySet<string>;
  readonly stop: () => Promise<void>;
}

/**
 * Starts sampling `namespace`'s Deployments; resolves once the first sample (the phase's
 * baseline) is taken, so the caller makes its change after it.
 */
export async function sampleRolloutsByTemplate(
  cluster: Cluster,
  namespace: string,
): Promise<TemplateRolloutSampler> {
  const samples: Sample[] = [];
  /** Each Deployment's devices at the first sample. */
  const baseline = new Map<string, string>();
  /** Deployments seen with their devices changed. */
  const changed = new Set<string>();
  const done = new Set<string>();
  const sample = async () => {
    const at = Date.now();
    const list = await cluster.apps.listNamespacedDeployment({ namespace });
    const rolling: string[] = [];
    for (const workload of list.items) {
      const name = workload.metadata?.name ?? "";
      const devices = JSON.stringify(devicesOf(workload));
      if (!baseline.has(name)) baseline.set(name, devices);
      if (devices !== baseline.get(name)) changed.add(name);
      if (!changed.has(name) || done.has(name)) continue;
      // Complete for its current generation (`rolloutComplete` needs the controller to have
      // observed it), so for the change too.
      if (rolloutComplete("Deployment", workload)) done.add(name);
      else rolling.push(name);
    }
    samples.push({ at, rolling: rolling.sort() });
  };
  await sample();
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sample().catch(() => undefined);
    }
  })();
  return {
    samples,
    get completed() {
      return new Set(done);
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
