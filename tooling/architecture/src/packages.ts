/**
 * Which workspace packages a package may depend on: libraries only on lower libraries, the
 * product never on tooling, and no library on a Kubernetes client library.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./files.ts";

/** Libraries, lowest first; one rank are peers. */
export const libraryRanks: Readonly<Record<string, number>> = {
  "@odigos/kube-client": 0,
  "@odigos/crd-types": 0,
  "@odigos/instrumentation-rules": 1,
  "@odigos/device-patcher": 2,
  "@odigos/cleanup": 2,
};

interface Manifest {
  readonly name: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly scripts?: Readonly<Record<string, string>>;
}

export const manifestOf = (dir: string, root = repoRoot): Manifest =>
  JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as Manifest;

/** Every dependency of a manifest, runtime and development. */
export const dependenciesOf = (manifest: Manifest): ReadonlyArray<string> => [
  ...Object.keys(manifest.dependencies ?? {}),
  ...Object.keys(manifest.devDependencies ?? {}),
];

/** What is wrong with a library's dependencies (empty when nothing is). */
export const libraryDependencyProblems = (manifest: Manifest): ReadonlyArray<string> => {
  const rank = libraryRanks[manifest.name];
  if (rank === undefined) return [`${manifest.name} is not a known library`];
  return Object.keys(manifest.dependencies ?? {}).flatMap((dependency) => {
    if (dependency === "@kubernetes/client-node")
      return [`${manifest.name} depends on @kubernetes/client-node: libraries never do`];
    if (!dependency.startsWith("@odigos/")) return [];
    const to = libraryRanks[dependency];
    if (to === undefined) return [`${manifest.name} depends on ${dependency}, not a library`];
    return to < rank ? [] : [`${manifest.name} depends on ${dependency}, not below it`];
  });
};

/** Workspace dependencies of the product that are tooling (none may be). */
export const toolingDependencies = (
  manifest: Manifest,
  toolingNames: ReadonlyArray<string>,
): ReadonlyArray<string> =>
  dependenciesOf(manifest).filter((dependency) => toolingNames.includes(dependency));

/** The workspace's unit-test settings (tooling/vitest-config). */
export const unitTestConfigName = "@odigos/vitest-config";

/**
 * What is wrong with how a package runs its unit tests (empty when nothing is): a package whose
 * `test` script runs vitest has a `vitest.config.ts` built on the shared settings, so that no
 * test is left with vitest's default 5 s bound, which a loaded CI machine exceeds.
 */
export const unitTestConfigProblems = (dir: string, root = repoRoot): ReadonlyArray<string> => {
  const manifest = manifestOf(dir, root);
  if (!/\bvitest\b/.test(manifest.scripts?.test ?? "")) return [];
  const config = join(root, dir, "vitest.config.ts");
  if (!existsSync(config)) return [`${dir} runs vitest without a vitest.config.ts`];
  return [
    ...(readFileSync(config, "utf8").includes(`from "${unitTestConfigName}"`)
      ? []
      : [`${dir}/vitest.config.ts does not build on ${unitTestConfigName}`]),
    ...(dependenciesOf(manifest).includes(unitTestConfigName)
      ? []
      : [`${dir} does not depend on ${unitTestConfigName}`]),
  ];
};
