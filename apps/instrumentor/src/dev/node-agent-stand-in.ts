/**
 * The demo's stand-in for the Odigos node agent (odiglet), which is not part of this project.
 *
 * In a real cluster the node agent inspects the processes of a workload's running pods and
 * creates the workload's runtime details (`InstrumentedApplication`); the instrumentor only
 * deletes them, when the workload is not opted in (SPEC 1 and 5). Without an agent, a workload
 * opted out and back in would never be instrumented again. This stand-in plays the agent's part
 * for ONE namespace (the demo's): a Deployment there that is opted in, has a Running pod and no
 * runtime details gets them `delayMs` later, as the agent would after inspecting the pod, with the
 * language the pod declares in the annotation {@link demoLanguageAnnotation} (a real agent finds
 * it in the process). Like the agent, it never creates runtime details for a workload that is not
 * opted in. Dev tooling: never part of the operator or its image.
 */
import {
  OdigosApiVersion,
  OdigosConfigName,
  OdigosResources,
  runtimeObjectName,
} from "@odigos/crd-types";
import { isOptedIn } from "@odigos/instrumentation-rules";
import {
  hasStatus,
  KubeClient,
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
import { createInformer } from "../cache/informer.js";

/** Pod (template) annotation naming the language of every container of the pod, for the stand-in. */
export const demoLanguageAnnotation = "demo.odigos.io/language";

/** How long runtime details just created are waited for on the watch before the Deployment can qualify again. */
const awaitWatchMs = 10_000;

const languages = new Set(["java", "python", "go", "dotnet", "javascript"]);

/** What the stand-in reads of the cluster (raw objects from its watches). */
export interface AgentView {
  readonly namespace: string;
  readonly odigosNamespace: string;
  /** The watched namespace's object (its opt-in marker), if it exists. */
  readonly namespaceObject: KubeObject | undefined;
  /** `odigos-config`, for its ignored namespaces. */
  readonly config: KubeObject | undefined;
  readonly deployments: ReadonlyArray<KubeObject>;
  readonly pods: ReadonlyArray<KubeObject>;
  /** Names of the runtime details that exist in the namespace. */
  readonly runtimeDetails: ReadonlySet<string>;
}

/** Why a Deployment gets runtime details from the stand-in, or why not. */
export type Eligibility =
  | {
      readonly _tag: "Eligible";
      readonly pod: string;
      readonly language: string;
      readonly containers: ReadonlyArray<string>;
    }
  | {
      readonly _tag: "NotEligible";
      readonly reason:
        | "NotOptedIn"
        | "HasRuntimeDetails"
        | "NoRunningPod"
        | "NoLanguage"
        | "UnknownLanguage";
      readonly detail: string;
    };

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};

const podMatches = (selector: Record<string, unknown>, pod: KubeObject): boolean => {
  const labels = pod.metadata.labels ?? {};
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
};

/** The stand-in's decision for one Deployment: a pure function of what it sees. */
export const eligibility = (view: AgentView, deployment: KubeObject): Eligibility => {
  const name = deployment.metadata.name;
  const ignored: unknown = record(view.config?.spec).ignoredNamespaces;
  const optIn = isOptedIn(
    { namespace: view.namespace, metadata: deployment.metadata },
    view.namespaceObject?.metadata,
    {
      odigosNamespace: view.odigosNamespace,
      ignoredNamespaces: new Set([
        view.odigosNamespace,
        ...(Array.isArray(ignored) ? ignored.filter((n) => typeof n === "string") : []),
      ]),
    },
  );
  if (!optIn.optedIn) return { _tag: "NotEligible", reason: "NotOptedIn", detail: optIn.reason };
  const runtimeName = runtimeObjectName("Deployment", name);
  if (view.runtimeDetails.has(runtimeName))
    return { _tag: "NotEligible", reason: "HasRuntimeDetails", detail: runtimeName };
  const selector = record(record(record(deployment.spec).selector).matchLabels);
  const running = view.pods.find(
    (pod) =>
      podMatches(selector, pod) &&
      pod.metadata.deletionTimestamp === undefined &&
      record(pod.status).phase === "Running",
  );
  if (running === undefined)
    return { _tag: "NotEligible", reason: "NoRunningPod", detail: "no Running pod to inspect" };
  const language = running.metadata.annotations?.[demoLanguageAnnotation];
  if (language === undefined)
    return {
      _tag: "NotEligible",
      reason: "NoLanguage",
      detail: `pod ${running.metadata.name} has no ${demoLanguageAnnotation} annotation`,
    };
  if (!languages.has(language))
    return {
      _tag: "NotEligible",
      reason: "UnknownLanguage",
      detail: `pod ${running.metadata.name}: ${demoLanguageAnnotation}=${language} is none of ${[...languages].join(", ")}`,
    };
  const containers = (record(running.spec).containers as ReadonlyArray<unknown> | undefined) ?? [];
  return {
    _tag: "Eligible",
    pod: running.metadata.name,
    language,
    containers: containers.map((container) => String(record(container).name)),
  };
};

export interface StandInOptions {
  /** The one namespace it acts in. */
  readonly namespace: string;
  readonly odigosNamespace: string;
  /** From the moment a Deployment is eligible to the creation of its runtime details. */
  readonly delayMs: number;
  readonly log: Logger;
}

/**
 * Runs the stand-in until interrupted: watches the namespace's Deployments, pods and runtime
 * details, the namespace itself and `odigos-config`, and creates runtime details as described
 * above. Needs its own `KubeClient` (the demo gives it a User-Agent of its own).
 */
export const runNodeAgentStandIn = (
  options: StandInOptions,
): Effect.Effect<never, never, KubeClient | Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* KubeClient;
    const { log, namespace } = options;
    const wake = yield* Queue.sliding<void>(1);
    const poke = () => {
      Queue.unsafeOffer(wake, undefined);
    };
    const watch = (name: string, resource: Resource, inNamespace?: string, only?: string) =>
      createInformer<KubeObject>(client, log, {
        name,
        resource,
        namespace: inNamespace,
        decode: (raw) => Either.right(raw as KubeObject),
        resourceVersionOf: (object) => object.metadata.resourceVersion ?? "",
        keep: only === undefined ? undefined : (object) => object.metadata.name === only,
        onEvent: poke,
      });
    const deployments = watch("Deployment", Resources.Deployment, namespace);
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
      options.odigosNamespace,
      OdigosConfigName,
    );
    const informers = [deployments, pods, runtime, namespaces, configs];
    yield* Effect.forEach(informers, (informer) => informer.start, { discard: true });
    yield* Effect.forEach(informers, (informer) => informer.synced, { discard: true });
    log.info(
      { namespace, delayMs: options.delayMs },
      `stand-in node agent: creating runtime details for opted-in Deployments of namespace ${namespace} with a Running pod, ${options.delayMs} ms after they qualify (in a real cluster the Odigos node agent does this)`,
    );

    /** Deployment name -> when it became eligible. */
    const eligibleSince = new Map<string, number>();
    /** Deployment name -> when its runtime details were created, until the watch brings them. */
    const created = new Map<string, number>();
    const create = (
      name: string,
      eligible: Extract<Eligibility, { _tag: "Eligible" }>,
      now: number,
    ) =>
      client
        .create(OdigosResources.InstrumentedApplication, {
          apiVersion: OdigosApiVersion,
          kind: "InstrumentedApplication",
          metadata: { name: runtimeObjectName("Deployment", name), namespace },
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
              created.set(name, now);
              log.info(
                {
                  workload: name,
                  namespace,
                  kind: "Deployment",
                  reason: "RuntimeDetailsCreated",
                  pod: eligible.pod,
                  language: eligible.language,
                },
                `stand-in node agent: inspected pod ${eligible.pod}, created runtime details ${runtimeObjectName("Deployment", name)} (${eligible.language})`,
              );
            }),
          ),
          Effect.as(true),
          Effect.catchAll((error) =>
            Effect.sync(() => {
              // Already there: the watch brings it. Anything else: try again after the delay.
              if (hasStatus(error, 409)) return true;
              log.warn(
                { workload: name, namespace, kind: "Deployment", error: error.message },
                `stand-in node agent: could not create runtime details; trying again in ${options.delayMs} ms`,
              );
              return false;
            }),
          ),
        );
    /** Deployment name -> why it was last said not to qualify for lack of a language. */
    const told = new Map<string, string>();
    /** Says once why a Deployment stopped qualifying, or why its language cannot be told. */
    const sayNotEligible = (
      name: string,
      answer: Extract<Eligibility, { _tag: "NotEligible" }>,
    ) => {
      const fields = { workload: name, namespace, kind: "Deployment", reason: answer.reason };
      if (eligibleSince.delete(name) && answer.reason !== "HasRuntimeDetails")
        log.info(fields, `stand-in node agent: ${name} no longer qualifies (${answer.detail})`);
      else if (
        (answer.reason === "NoLanguage" || answer.reason === "UnknownLanguage") &&
        told.get(name) !== answer.detail
      ) {
        told.set(name, answer.detail);
        log.info(fields, `stand-in node agent: cannot tell ${name}'s language: ${answer.detail}`);
      }
    };

    return yield* Effect.forever(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        const view: AgentView = {
          namespace,
          odigosNamespace: options.odigosNamespace,
          namespaceObject: namespaces.get(namespace),
          config: configs.get(`${options.odigosNamespace}/${OdigosConfigName}`),
          deployments: [...deployments.values()],
          pods: [...pods.values()],
          runtimeDetails: new Set([...runtime.values()].map((object) => object.metadata.name)),
        };
        let next: number | undefined;
        for (const deployment of view.deployments) {
          const name = deployment.metadata.name;
          const answer = eligibility(view, deployment);
          if (answer._tag === "NotEligible") created.delete(name);
          // Just created, not yet seen by the watch: not eligible again (bounded, in case the
          // watch shows them only after they were deleted again).
          const createdAt = created.get(name);
          if (
            answer._tag === "Eligible" &&
            createdAt !== undefined &&
            now - createdAt < awaitWatchMs
          ) {
            next = Math.min(next ?? Number.POSITIVE_INFINITY, createdAt + awaitWatchMs);
            continue;
          }
          if (answer._tag === "NotEligible") {
            sayNotEligible(name, answer);
            continue;
          }
          const since = eligibleSince.get(name);
          if (since === undefined) {
            eligibleSince.set(name, now);
            log.info(
              {
                workload: name,
                namespace,
                kind: "Deployment",
                reason: "Inspecting",
                pod: answer.pod,
                delayMs: options.delayMs,
                // What the delay counts from: this pass's clock, a little before the line's own time.
                since: new Date(now).toISOString(),
              },
              `stand-in node agent: ${name} is opted in and has no runtime details; inspecting pod ${answer.pod}`,
            );
          }
          told.delete(name);
          let due = (since ?? now) + options.delayMs;
          if (due <= now) {
            eligibleSince.delete(name);
            if (yield* create(name, answer, now)) continue;
            eligibleSince.set(name, now);
            due = now + options.delayMs;
          }
          next = next === undefined ? due : Math.min(next, due);
        }
        for (const name of eligibleSince.keys())
          if (!view.deployments.some((deployment) => deployment.metadata.name === name))
            eligibleSince.delete(name);
        const waitFor = Queue.take(wake);
        yield* next === undefined
          ? waitFor
          : Effect.timeoutOption(waitFor, Duration.millis(Math.max(0, next - now)));
      }),
    );
  });
