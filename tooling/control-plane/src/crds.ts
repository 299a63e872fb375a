import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  ApiException,
  ApiextensionsV1Api,
  type KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { pollUntil } from "./wait.js";

/** Expands CRD paths: a folder stands for its *.yaml / *.yml files, in name order. */
export async function crdFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      const names = (await readdir(path)).filter((name) => /\.ya?ml$/.test(name)).sort();
      files.push(...names.map((name) => join(path, name)));
    } else {
      files.push(path);
    }
  }
  return files;
}

/** Every CustomResourceDefinition document in the given files or folders. */
export async function readCrds(paths: readonly string[]): Promise<V1CustomResourceDefinition[]> {
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of await crdFiles(paths)) {
    for (const document of parseAllDocuments(await readFile(file, "utf8"))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      const value: unknown = document.toJS();
      if (typeof value !== "object" || value === null) continue;
      if ((value as { kind?: unknown }).kind !== "CustomResourceDefinition") continue;
      // The typed API serializes model fields only: `enum` is `_enum` there, `x-kubernetes-*` are
      // camel-cased. A plain object would lose them silently, so go through the model first.
      const [typed] = loadAllYaml(document.toString()) as V1CustomResourceDefinition[];
      if (typed === undefined) continue;
      crds.push(typed);
    }
  }
  return crds;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some(
    (c) => c.type === "Established" && c.status === "True",
  );
}

export interface InstallCrdsOptions {
  /** Deadline for all CRDs to become Established. Default 30 s. */
  readonly timeoutMs?: number;
}

/**
 * Creates (or replaces) the CRDs found in `paths` and waits until each is Established,
 * i.e. its resources can be served. Returns the CRD names.
 */
export async function installCrds(
  kubeConfig: KubeConfig,
  paths: readonly string[],
  options: InstallCrdsOptions = {},
): Promise<string[]> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const crds = await readCrds(paths);
  const names: string[] = [];
  for (const crd of crds) {
    const name = crd.metadata?.name;
    if (name === undefined) throw new Error("a CustomResourceDefinition without metadata.name");
    names.push(name);
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 409) throw error;
      const current = await api.readCustomResourceDefinition({ name });
      const resourceVersion = current.metadata?.resourceVersion;
      await api.replaceCustomResourceDefinition({
        name,
        body: {
          ...crd,
          metadata: { ...crd.metadata, ...(resourceVersion ? { resourceVersion } : {}) },
        },
      });
    }
  }
  await waitForCrdsEstablished(kubeConfig, names, options);
  return names;
}

/** Waits until every named CRD has the condition Established=True. */
export async function waitForCrdsEstablished(
  kubeConfig: KubeConfig,
  names: readonly string[],
  options: InstallCrdsOptions = {},
): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  await Promise.all(
    names.map((name) =>
      pollUntil(
        async () =>
          isEstablished(await api.readCustomResourceDefinition({ name })) ? true : undefined,
        { timeoutMs: options.timeoutMs ?? 30_000, what: `CRD ${name} to be Established` },
      ),
    ),
  );
}
