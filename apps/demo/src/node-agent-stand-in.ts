/**
 * The demo's stand-in for the Odigos node agent (odiglet), which is not part of this project.
 *
 * In a real cluster the node agent inspects the processes of a workload's running pods and
 * creates the workload's runtime details (`InstrumentedApplication`); the instrumentor only
 * deletes them, when the workload is not opted in (SPEC 1 and 5). Without an agent, a workload
 * opted out and back in would never be instrumented again. This stand-in plays the agent's part
 * for ONE namespace (the demo's): a Deployment there that is opted in, has a Running pod and no
 * runtime details gets them `delayMs` later, as the agent would after inspecting the pod, with the
 * language the pod declares in the annotation `demo.odigos.io/language` (a real agent finds it in
 * the process); so does a CronJob once a pod of one of its Jobs runs (or ran: a Job's pod ends by
 * itself). Like the agent, it never creates runtime details for a workload that is not opted in
 * (the decision: `stand-in-eligibility.ts`). Demo only: never part of the operator or its image.
 */
import {
  OdigosApiVersion,
  OdigosConfigName,
  OdigosResources,
  runtimeObjectName,
} from "@odigos/crd-types";
import { createInformer } from "@odigos/instrumentor";
import {
  hasStatus,
  KubeClient,
  type KubeClientApi,
  type KubeObject,
  type Resource,
  Resources,
} from "@odigos/kube-client";
import * as Clock from "effect/Clock";
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as Queue from "effect/Queue";
import type * as Scope from "effect/Scope";
import type { Logger } from "pino";
import {
  type AgentView,
  type Eligibility,
  eligibility,
  type StandInKind,
} from "./stand-in-eligibility.js";

/** How long runtime details just created are waited for on the watch before the workload can qualify again. */
const awaitWatchMs = 10_000;

export interface StandInOptions {
  /** The one namespace it acts in. */
  readonly namespace: string;
  readonly odigosNamespace: string;
  /** From the moment a workload is eligible to the creation of its runtime details. */
  readonly delayMs: number;
  readonly log: Logger;
}

type Eligible = Extract<Eligibility, { _tag: "Eligible" }>;
type NotEligible = Extract<Eligibility, { _tag: "NotEligible" }>;

/** One workload the stand-in looks at; `key` (`<kind>/<name>`) names it in the maps below. */
interface Target {
  readonly kind: StandInKind;
  readonly name: string;
  readonly key: string;
}

/** The stand-in at work: its client and options, and what it remembers from one pass to the next. */
interface StandIn {
  readonly client: KubeClientApi;
  readonly options: StandInOptions;
  /** Workload key -> when it became eligible. */
  readonly eligibleSince: Map<string, number>;
  /** Workload key -> when its runtime details were created, until the watch brings them. */
  readonly created: Map<string, number>;
  /** Workload key -> why it was last said not to qualify for lack of a language. */
  readonly told: Map<string, string>;
}

/**
 * The informers (not started) of what the stand-in reads: the namespace's Deployments, CronJobs,
 * pods and runtime details, the namespace itself and `odigos-config`; `onChange` runs on every event.
 */
const watchCluster = (client: KubeClientApi, options: StandInOptions, onChange: () => void) => {
  const { namespace, odigosNamespace, log } = options;
  const watch = (name: string, resource: Resource, inNamespace?: string, only?: string) =>
    createInformer<KubeObject>(client, log, {
      name,
      resource,
      namespace: inNamespace,
      decode: (raw) => Either.right(raw as KubeObject),
      resourceVersionOf: (object) => object.metadata.resourceVersion ?? "",
      keep: only === undefined ? undefined : (object) => object.metadata.name === only,
      onEvent: onChange,
    });
  const deployments = watch("Deployment", Resources.Deployment, namespace);
  const cronJobs = watch("CronJob", Resources.CronJob, namespace);
  const pods = watch("Pod", Resources.Pod, namespace);
  const runtime = watch(
    "InstrumentedApplication",
    OdigosResources.InstrumentedApplication,
    namespace,
  );
  const namespaces = watch("Namespace", Resources.Namespace, undefined, namespace);
  const configs = watch(
    "OdigosConfiguration",
    OdigosResources.OdigosConfiguration,
    odigosNamespace,
    OdigosConfigName,
  );
  const view = (): AgentView => ({
    namespace,
    odigosNamespace,
    namespaceObject: namespaces.get(namespace),
    config: configs.get(`${odigosNamespace}/${OdigosConfigName}`),
    deployments: [...deployments.values()],
    cronJobs: [...cronJobs.values()],
    pods: [...pods.values()],
    runtimeDetails: new Set([...runtime.values()].map((object) => object.metadata.name)),
  });
  return { informers: [deployments, cronJobs, pods, runtime, namespaces, configs], view };
};

/** Creates a workload's runtime details, as the agent would; false when it must try again later. */
const createRuntimeDetails = (
  standIn: StandIn,
  { kind, name, key }: Target,
  eligible: Eligible,
  now: number,
): Effect.Effect<boolean> => {
  const { client, options } = standIn;
  const { log, namespace } = options;
  const runtimeName = runtimeObjectName(kind, name);
  return client
    .create(OdigosResources.InstrumentedApplication, {
      apiVersion: OdigosApiVersion,
      kind: "InstrumentedApplication",
      metadata: { name: runtimeName, namespace },
      spec: {
        languages: eligible.containers.map((containerName) => ({
          containerName,
          language: eligible.language,
        })),
      },
    })
    .pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          standIn.created.set(key, now);
          log.info(
            {
              workload: name,
              namespace,
              kind,
              reason: "RuntimeDetailsCreated",
              pod: eligible.pod,
              language: eligible.language,
            },
            `stand-in node agent: inspected pod ${eligible.pod}, created runtime details ${runtimeName} (${eligible.language})`,
          );
        }),
      ),
      Effect.as(true),
      Effect.catchAll((error) =>
        Effect.sync(() => {
          // Already there: the watch brings it. Anything else: try again after the delay.
          if (hasStatus(error, 409)) return true;
          log.warn(
            { workload: name, namespace, kind, error: error.message },
            `stand-in node agent: could not create runtime details; trying again in ${options.delayMs} ms`,
          );
          return false;
        }),
      ),
    );
};

/** Says once why a workload stopped qualifying, or why its language cannot be told. */
const sayNotEligible = (standIn: StandIn, target: Target, answer: NotEligible): void => {
  const { log, namespace } = standIn.options;
  const { kind, name, key } = target;
  const fields = { workload: name, namespace, kind, reason: answer.reason };
  if (standIn.eligibleSince.delete(key) && answer.reason !== "HasRuntimeDetails")
    log.info(fields, `stand-in node agent: ${name} no longer qualifies (${answer.detail})`);
  else if (
    (answer.reason === "NoLanguage" || answer.reason === "UnknownLanguage") &&
    standIn.told.get(key) !== answer.detail
  ) {
    standIn.told.set(key, answer.detail);
    log.info(fields, `stand-in node agent: cannot tell ${name}'s language: ${answer.detail}`);
  }
};

/** Says that a workload just qualified and which pod the stand-in inspects. */
const sayInspecting = (standIn: StandIn, target: Target, answer: Eligible, now: number): void => {
  const { log, namespace, delayMs } = standIn.options;
  const { kind, name } = target;
  log.info(
    {
      workload: name,
      namespace,
      kind,
      reason: "Inspecting",
      pod: answer.pod,
      delayMs,
      // What the delay counts from: this pass's clock, a little before the line's own time.
      since: new Date(now).toISOString(),
    },
    `stand-in node agent: ${name} is opted in and has no runtime details; inspecting pod ${answer.pod}`,
  );
};

/**
 * One Deployment or CronJob in one pass: once it has qualified for the delay, its runtime details
 * are created. The answer is when it next needs a look, if it does.
 */
const considerWorkload = (
  standIn: StandIn,
  view: AgentView,
  kind: StandInKind,
  workload: KubeObject,
  now: number,
): Effect.Effect<number | undefined> =>
  Effect.gen(function* () {
    const { eligibleSince, created, options } = standIn;
    const name = workload.metadata.name;
    const target: Target = { kind, name, key: `${kind}/${name}` };
    const { key } = target;
    const answer = eligibility(view, workload, kind);
    if (answer._tag === "NotEligible") {
      created.delete(key);
      sayNotEligible(standIn, target, answer);
      return undefined;
    }
    // Just created, not yet seen by the watch: not eligible again (bounded, in case the watch
    // shows them only after they were deleted again).
    const createdAt = created.get(key);
    if (createdAt !== undefined && now - createdAt < awaitWatchMs) return createdAt + awaitWatchMs;
    const since = eligibleSince.get(key);
    if (since === undefined) {
      eligibleSince.set(key, now);
      sayInspecting(standIn, target, answer, now);
    }
    standIn.told.delete(key);
    const due = (since ?? now) + options.delayMs;
    if (due > now) return due;
    eligibleSince.delete(key);
    if (yield* createRuntimeDetails(standIn, target, answer, now)) return undefined;
    eligibleSince.set(key, now);
    return now + options.delayMs;
  });

/**
 * One pass over the namespace's Deployments and CronJobs; the answer is when the next one is due,
 * if any is.
 */
const standInPass = (
  standIn: StandIn,
  view: AgentView,
  now: number,
): Effect.Effect<number | undefined> =>
  Effect.gen(function* () {
    let next: number | undefined;
    const workloads = [
      ...view.deployments.map((object) => ({ kind: "Deployment" as const, object })),
      ...view.cronJobs.map((object) => ({ kind: "CronJob" as const, object })),
    ];
    for (const { kind, object } of workloads) {
      const due = yield* considerWorkload(standIn, view, kind, object, now);
      if (due !== undefined) next = next === undefined ? due : Math.min(next, due);
    }
    const keys = new Set(workloads.map(({ kind, object }) => `${kind}/${object.metadata.name}`));
    for (const key of standIn.eligibleSince.keys())
      if (!keys.has(key)) standIn.eligibleSince.delete(key);
    return next;
  });

/**
 * Runs the stand-in until interrupted: watches the namespace's Deployments, CronJobs, pods and
 * runtime details, the namespace itself and `odigos-config`, and creates runtime details as
 * described above, a pass after every change and whenever a workload falls due. Needs its own
 * `KubeClient` (the demo gives it a User-Agent of its own).
 */
export const runNodeAgentStandIn = (
  options: StandInOptions,
): Effect.Effect<never, never, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* KubeClient;
    const { log, namespace, delayMs } = options;
    const wake = yield* Queue.sliding<void>(1);
    const cluster = watchCluster(client, options, () => {
      Queue.unsafeOffer(wake, undefined);
    });
    yield* Effect.forEach(cluster.informers, (informer) => informer.start, { discard: true });
    yield* Effect.forEach(cluster.informers, (informer) => informer.synced, { discard: true });
    log.info(
      { namespace, delayMs },
      `stand-in node agent: creating runtime details for opted-in Deployments of namespace ${namespace} with a Running pod, and CronJobs with a pod of their Jobs that runs or ran, ${delayMs} ms after they qualify (in a real cluster the Odigos node agent does this)`,
    );
    const standIn: StandIn = {
      client,
      options,
      eligibleSince: new Map(),
      created: new Map(),
      told: new Map(),
    };
    return yield* Effect.forever(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        const next = yield* standInPass(standIn, cluster.view(), now);
        const waitFor = Queue.take(wake);
        yield* next === undefined
          ? waitFor
          : Effect.timeoutOption(waitFor, Duration.millis(Math.max(0, next - now)));
      }),
    );
  });
