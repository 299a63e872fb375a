/**
 * What the demo's stand-in node agent decides for one Deployment, from what it sees of the
 * cluster: whether the Deployment gets runtime details now, with which language for which
 * containers, or why not. A pure function; `node-agent-stand-in.ts` watches and writes.
 */
import { runtimeObjectName } from "@odigos/crd-types";
import { isOptedIn } from "@odigos/instrumentation-rules";
import type { KubeObject } from "@odigos/kube-client";

/** Pod (template) annotation naming the language of every container of the pod, for the stand-in. */
export const demoLanguageAnnotation = "demo.odigos.io/language";

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
