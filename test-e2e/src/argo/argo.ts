/**
 * Helpers for the tests against the real Argo Rollouts controller: canary Rollouts with an
 * inline template, their status as Argo reports it (sampled over time), their pods by the
 * ReplicaSet that owns them, and the instrumentor's writes to them from the audit log.
 */
import { type V1Pod, Watch } from "@kubernetes/client-node";
import { type AuditEvent, filterAudit, writeVerbs } from "@odigos/control-plane";
import { mergePatch } from "../support/odigos.js";
import type { PodsBed } from "../support/pods-cluster.js";
import { waitFor } from "../support/wait-for.js";

const group = "argoproj.io";
const version = "v1alpha1";
const plural = "rollouts";
const ref = { group, version, plural } as const;

/** The status fields of a Rollout the tests read (Argo's `observedGeneration` is a string). */
export interface ArgoStatus {
  readonly observedGeneration?: string;
  readonly phase?: string;
  readonly message?: string;
  readonly abort?: boolean;
  readonly currentStepIndex?: number;
  readonly currentPodHash?: string;
  readonly stableRS?: string;
  readonly replicas?: number;
  readonly updatedReplicas?: number;
  readonly readyReplicas?: number;
  readonly availableReplicas?: number;
  readonly pauseConditions?: ReadonlyArray<{ readonly reason?: string }>;
}

export interface RolloutObject {
  readonly metadata: {
    readonly name: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly annotations?: Record<string, string>;
  };
  readonly spec: {
    readonly replicas?: number;
    readonly template: {
      readonly metadata?: {
        readonly labels?: Record<string, string>;
        readonly annotations?: Record<string, string>;
      };
      readonly spec?: {
        readonly containers?: ReadonlyArray<{
          readonly name: string;
          readonly resources?: { readonly limits?: Record<string, string> };
        }>;
      };
    };
  };
  readonly status?: ArgoStatus;
}

export type CanaryStep = { setWeight: number } | { pause: { duration?: string } };

/** A canary Rollout (labels `app=<name>`, one container `app`) with these steps. */
export async function createCanaryRollout(
  bed: PodsBed,
  namespace: string,
  name: string,
  options: {
    replicas: number;
    steps: readonly CanaryStep[];
    podAnnotations?: Record<string, string>;
  },
): Promise<void> {
  await bed.cluster.custom.createNamespacedCustomObject({
    ...ref,
    namespace,
    body: {
      apiVersion: `${group}/${version}`,
      kind: "Rollout",
      metadata: { name, namespace },
      spec: {
        replicas: options.replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: {
            labels: { app: name },
            ...(options.podAnnotations === undefined
              ? {}
              : { annotations: options.podAnnotations }),
          },
          spec: { containers: [{ name: "app", image: "example.invalid/app:1" }] },
        },
        strategy: { canary: { steps: options.steps } },
      },
    },
  });
}

export async function readRollout(
  bed: PodsBed,
  namespace: string,
  name: string,
): Promise<RolloutObject> {
  return (await bed.cluster.custom.getNamespacedCustomObject({
    ...ref,
    namespace,
    name,
  })) as RolloutObject;
}

/** Argo's `kubectl argo rollouts abort`: a merge patch `{"status":{"abort":true}}` of the status subresource. */
export async function abortRollout(bed: PodsBed, namespace: string, name: string): Promise<void> {
  await bed.cluster.custom.patchNamespacedCustomObjectStatus(
    { ...ref, namespace, name, body: { status: { abort: true } } },
    mergePatch,
  );
}

/**
 * Done as Argo reports it: it has seen the current generation, its phase is Healthy, the
 * ReplicaSet of the current template is the stable one, and every replica is updated and available.
 */
export function argoComplete(rollout: RolloutObject): boolean {
  const status = rollout.status ?? {};
  const replicas = rollout.spec.replicas ?? 1;
  return (
    status.observedGeneration === String(rollout.metadata.generation) &&
    status.phase === "Healthy" &&
    status.abort !== true &&
    status.currentPodHash !== undefined &&
    status.currentPodHash === status.stableRS &&
    status.updatedReplicas === replicas &&
    status.availableReplicas === replicas
  );
}

/** One line for a failure message. */
export const describeStatus = (rollout: RolloutObject): string => {
  const s = rollout.status ?? {};
  return `gen=${rollout.metadata.generation} observed=${s.observedGeneration} ${s.phase} (${s.message ?? ""}) step=${s.currentStepIndex} current=${s.currentPodHash} stable=${s.stableRS} updated=${s.updatedReplicas} ready=${s.readyReplicas} available=${s.availableReplicas}/${rollout.spec.replicas} abort=${s.abort}`;
};

/** Waits until the Rollout satisfies `probe` (Argo's status, the template); the failure says where it stood. */
export async function waitForRolloutState(
  bed: PodsBed,
  namespace: string,
  name: string,
  probe: (rollout: RolloutObject) => boolean,
  description: string,
  timeoutMs = 120_000,
): Promise<RolloutObject> {
  let last: RolloutObject | undefined;
  return waitFor(
    async () => {
      last = await readRollout(bed, namespace, name);
      return probe(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 200, description: `Rollout ${namespace}/${name}: ${description}` },
  ).catch((error: Error) => {
    throw new Error(
      `${error.message}; last: ${last === undefined ? "none" : `${describeStatus(last)} ${JSON.stringify(last.status)}`}`,
    );
  });
}

/** A reading of a Rollout: when the GET was sent and answered, and what it said. */
export interface Sample {
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly rollout: RolloutObject;
}

/**
 * Reads a Rollout again and again (one GET at a time, every `intervalMs`) until stopped. What
 * a reading says held at some moment between `sentAt` and `receivedAt`.
 */
export class RolloutSampler {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly bed: PodsBed,
    private readonly namespace: string,
    private readonly name: string,
    private readonly intervalMs = 150,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const sentAt = Date.now();
      try {
        const rollout = await readRollout(this.bed, this.namespace, this.name);
        this.samples.push({ sentAt, receivedAt: Date.now(), rollout });
      } catch {
        // A slow or failed read: the next one will do.
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }

  async stop(): Promise<Sample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }

  /** The distinct (phase, step) states seen in order, for a failure message and the step checks. */
  states(): Array<{ phase: string; step: number | undefined; generation: number | undefined }> {
    const out: Array<{ phase: string; step: number | undefined; generation: number | undefined }> =
      [];
    for (const { rollout } of this.samples) {
      const state = {
        phase: rollout.status?.phase ?? "",
        step: rollout.status?.currentStepIndex,
        generation: rollout.metadata.generation,
      };
      const previous = out.at(-1);
      if (
        previous === undefined ||
        previous.phase !== state.phase ||
        previous.step !== state.step ||
        previous.generation !== state.generation
      )
        out.push(state);
    }
    return out;
  }
}

/** What the tests read of a pod of a Rollout. */
export interface ArgoPod {
  readonly name: string;
  /** The owning ReplicaSet. */
  readonly owner: string | undefined;
  /** `rollouts-pod-template-hash`. */
  readonly hash: string | undefined;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly devices: readonly string[];
  readonly restarts: number;
  /** `state.waiting.reason` of the containers that wait. */
  readonly waiting: readonly string[];
}

const argoPod = (pod: V1Pod): ArgoPod => ({
  name: pod.metadata?.name ?? "",
  owner: pod.metadata?.ownerReferences?.find((owner) => owner.controller === true)?.name,
  hash: pod.metadata?.labels?.["rollouts-pod-template-hash"],
  ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
  terminating: pod.metadata?.deletionTimestamp !== undefined,
  devices: (pod.spec?.containers ?? [])
    .flatMap((container) => Object.keys(container.resources?.limits ?? {}))
    .filter((resource) => resource.startsWith("instrumentation.odigos.io/"))
    .sort(),
  restarts: (pod.status?.containerStatuses ?? []).reduce((n, s) => n + s.restartCount, 0),
  waiting: (pod.status?.containerStatuses ?? []).flatMap((s) => s.state?.waiting?.reason ?? []),
});

/**
 * Every version of a Rollout's pods the API server sends on a watch, from now until stopped: a
 * pod that lives for less than a poll's interval (a canary rolled back at once) is seen too.
 */
export class PodWatch {
  readonly seen: ArgoPod[] = [];
  private readonly started: Promise<AbortController>;

  constructor(bed: PodsBed, namespace: string, name: string) {
    this.started = new Watch(bed.controlPlane.kubeConfig()).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { labelSelector: `app=${name}` },
      (_type, pod: V1Pod) => {
        this.seen.push(argoPod(pod));
      },
      () => undefined,
    );
  }

  /** Resolves once the watch is open. */
  ready(): Promise<void> {
    return this.started.then(() => undefined);
  }

  async stop(): Promise<ArgoPod[]> {
    (await this.started).abort();
    return this.seen;
  }
}

/** The pods of a Rollout made by {@link createCanaryRollout} (label `app=<name>`). */
export async function argoPods(bed: PodsBed, namespace: string, name: string): Promise<ArgoPod[]> {
  const list = await bed.cluster.core.listNamespacedPod({
    namespace,
    labelSelector: `app=${name}`,
  });
  return list.items.map(argoPod).sort((a, b) => a.name.localeCompare(b.name));
}

/** Waits until the pods satisfy `probe`; the failure lists them. */
export async function waitForArgoPods(
  bed: PodsBed,
  namespace: string,
  name: string,
  probe: (pods: readonly ArgoPod[]) => boolean,
  description: string,
  timeoutMs = 120_000,
): Promise<ArgoPod[]> {
  let last: ArgoPod[] = [];
  return waitFor(
    async () => {
      last = await argoPods(bed, namespace, name);
      return probe(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 200, description: `${namespace}/${name} pods: ${description}` },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; pods: ${JSON.stringify(last)}`);
  });
}

/** A successful write of the instrumentor, with the time the API server received it. */
export interface TimedWrite {
  readonly verb: string;
  readonly subresource: string | undefined;
  readonly at: number;
}

/** The instrumentor's successful writes to one object (any subresource), from the audit log, in order. */
export async function instrumentorWritesTo(
  bed: PodsBed,
  resource: "rollouts" | "deployments",
  namespace: string,
  name: string,
): Promise<TimedWrite[]> {
  return filterAudit(await bed.controlPlane.readAuditEvents(), {
    verbs: writeVerbs,
    userAgent: (agent) => bed.instrumentor.sent(agent),
  })
    .filter(
      (event: AuditEvent) =>
        event.stage === "ResponseComplete" &&
        (event.responseStatus?.code ?? 0) < 300 &&
        event.objectRef?.resource === resource &&
        event.objectRef.namespace === namespace &&
        event.objectRef.name === name,
    )
    .map((event) => ({
      verb: event.verb,
      subresource: event.objectRef?.subresource,
      at: Date.parse(
        (event as { requestReceivedTimestamp?: string }).requestReceivedTimestamp ?? "",
      ),
    }))
    .sort((a, b) => a.at - b.at);
}

/**
 * Evidence that the instrumentor (run with `--log-level=debug`) has evaluated the Rollout as it
 * is now: its Rollout informer observed the current resourceVersion (or a later one), then its
 * queue was idle. The Rollout flavour of `support/evaluated.ts`.
 */
export async function evaluatedRollout(
  bed: PodsBed,
  namespace: string,
  name: string,
): Promise<void> {
  const version = Number((await readRollout(bed, namespace, name)).metadata.resourceVersion);
  await bed.instrumentor.waitForLog(
    (line) =>
      line.msg === "observed" &&
      line.informer === "Rollout" &&
      line.key === `${namespace}/${name}` &&
      Number(line.resourceVersion) >= version,
    30_000,
  );
  await bed.instrumentor.idle(30_000);
}
