/**
 * What the demo's stand-in node agent decides for one Deployment or CronJob, from what it sees of
 * the cluster: whether the workload gets runtime details now, with which language for which
 * containers, or why not. A pure function; `node-agent-stand-in.ts` watches and writes.
 */
import { type PodOwnership, runtimeObjectName, workloadOfPod } from "@odigos/crd-types";
import { isOptedIn } from "@odigos/instrumentation-rules";
import type { KubeObject } from "@odigos/kube-client";

/** Pod (template) annotation naming the language of every container of the pod, for the stand-in. */
export const demoLanguageAnnotation = "demo.odigos.io/language";

/** The kinds the stand-in plays the agent for. */
export type StandInKind = "Deployment" | "CronJob";

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
  readonly cronJobs: ReadonlyArray<KubeObject>;
  readonly pods: ReadonlyArray<KubeObject>;
  /** Names of the runtime details that exist in the namespace. */
  readonly runtimeDetails: ReadonlySet<string>;
}

/** Why a workload gets runtime details from the stand-in, or why not. */
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

/**
 * The pod of a workload to inspect: a Deployment's Running pod (by its selector), or a CronJob's
 * Job's pod that runs or ran (a Job's pod ends by itself, often before the delay is over: the
 * agent inspected it while it ran). Never one going away.
 */
const podToInspect = (
  view: AgentView,
  kind: StandInKind,
  workload: KubeObject,
): KubeObject | undefined => {
  const name = workload.metadata.name;
  const selector = record(record(record(workload.spec).selector).matchLabels);
  return view.pods.find((pod) => {
    if (pod.metadata.deletionTimestamp !== undefined) return false;
    const phase = record(pod.status).phase;
    if (kind === "Deployment") return podMatches(selector, pod) && phase === "Running";
    const owner = workloadOfPod(pod as unknown as PodOwnership);
    return (
      owner?.kind === "CronJob" &&
      owner.name === name &&
      (phase === "Running" || phase === "Succeeded")
    );
  });
};

/** The stand-in's decision for one Deployment or CronJob: a pure function of what it sees. */
export const eligibility = (
  view: AgentView,
  workload: KubeObject,
  kind: StandInKind = "Deployment",
): Eligibility => {
  const name = workload.metadata.name;
  const ignored: unknown = record(view.config?.spec).ignoredNamespaces;
  const optIn = isOptedIn(
    { namespace: view.namespace, metadata: workload.metadata },
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
  const runtimeName = runtimeObjectName(kind, name);
  if (view.runtimeDetails.has(runtimeName))
    return { _tag: "NotEligible", reason: "HasRuntimeDetails", detail: runtimeName };
  const running = podToInspect(view, kind, workload);
  if (running === undefined)
    return {
      _tag: "NotEligible",
      reason: "NoRunningPod",
      detail:
        kind === "CronJob"
          ? "no pod of its Jobs that runs or ran to inspect"
          : "no Running pod to inspect",
    };
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
