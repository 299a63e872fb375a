import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { type OpenApiSchema, odigosCrds } from "./crds.js";

const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const fixturesDir = join(packageRoot, "../../../shared/fixtures/odigos-crds");

interface FixtureCrd {
  readonly spec: {
    readonly group: string;
    readonly names: Record<string, string>;
    readonly scope: string;
    readonly versions: ReadonlyArray<{
      readonly name: string;
      readonly schema: { readonly openAPIV3Schema: OpenApiSchema };
    }>;
  };
}

const fixtures: ReadonlyArray<FixtureCrd> = readdirSync(fixturesDir)
  .filter((file) => file.endsWith(".yaml"))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(fixturesDir, file), "utf8")).map(
      (doc) => doc.toJS() as FixtureCrd,
    ),
  );

/** Properties the instrumentor reads, as paths through the OpenAPI schema. */
const readProperties: Record<string, ReadonlyArray<string>> = {
  InstrumentedApplication: [
    "spec",
    "spec.languages",
    "spec.languages[]",
    "spec.languages[].containerName",
    "spec.languages[].language",
    "spec.languages[].processName",
    "spec.options",
  ],
  CollectorsGroup: ["spec", "spec.role", "status", "status.ready"],
  OdigosConfiguration: [
    "spec",
    "spec.defaultSDKs",
    "spec.defaultSDKs{}",
    "spec.defaultSDKs{}.sdkType",
    "spec.defaultSDKs{}.sdkTier",
    "spec.ignoredNamespaces",
    "spec.ignoredNamespaces[]",
  ],
};

/** Where the schemas are deliberately narrower than the released CRDs. */
const narrowedEnums = new Set([
  "OdigosConfiguration spec.defaultSDKs{}.sdkType",
  "OdigosConfiguration spec.defaultSDKs{}.sdkTier",
]);

const at = (root: OpenApiSchema, path: string): OpenApiSchema => {
  let node: OpenApiSchema | undefined = root;
  for (const step of path.match(/[^.[\]{}]+|\[\]|\{\}/g) ?? []) {
    if (node === undefined) break;
    if (step === "[]") node = node.items;
    else if (step === "{}") node = node.additionalProperties;
    else node = node.properties?.[step];
  }
  if (node === undefined) throw new Error(`no property ${path}`);
  return node;
};

const sorted = (values: ReadonlyArray<string> | undefined) => [...(values ?? [])].sort();

describe("generated CRDs match the released Odigos CRDs", () => {
  const generated = odigosCrds();

  it("covers the same three kinds", () => {
    expect(generated.map((crd) => crd.spec.names.kind).sort()).toEqual(
      fixtures.map((crd) => crd.spec.names.kind).sort(),
    );
  });

  describe.each(generated.map((crd) => [crd.spec.names.kind, crd] as const))("%s", (kind, crd) => {
    const fixture = fixtures.find((candidate) => candidate.spec.names.kind === kind);
    if (fixture === undefined) throw new Error(`no fixture for ${kind}`);

    it("has the same group, names, scope and version", () => {
      expect(crd.spec.group).toBe(fixture.spec.group);
      expect(crd.spec.names).toEqual(fixture.spec.names);
      expect(crd.spec.scope).toBe(fixture.spec.scope);
      expect(crd.spec.versions.map((version) => version.name)).toEqual(
        fixture.spec.versions.map((version) => version.name),
      );
    });

    const ours = crd.spec.versions[0]?.schema.openAPIV3Schema;
    const theirs = fixture.spec.versions[0]?.schema.openAPIV3Schema;
    it.each(readProperties[kind] ?? [])("agrees on %s", (path) => {
      if (ours === undefined || theirs === undefined) throw new Error("missing schema");
      const mine = at(ours, path);
      const released = at(theirs, path);
      expect(mine.type).toBe(released.type);
      expect(sorted(mine.required)).toEqual(sorted(released.required));
      if (narrowedEnums.has(`${kind} ${path}`)) {
        expect(released.enum).toBeUndefined();
        expect(mine.enum?.length).toBeGreaterThan(0);
      } else {
        expect(sorted(mine.enum)).toEqual(sorted(released.enum));
      }
    });
  });

  it("matches the committed manifests in crds/", () => {
    for (const crd of generated) {
      const file = join(packageRoot, "crds", `${crd.spec.group}_${crd.spec.names.plural}.yaml`);
      expect(parse(readFileSync(file, "utf8"))).toEqual(crd);
    }
  });
});
