/**
 * CustomResourceDefinition manifests generated from the schemas, so that a
 * cluster without Odigos installed can be given CRDs that match this code.
 */
import * as JSONSchema from "effect/JSONSchema";
import type * as Schema from "effect/Schema";
import { OdigosGroup, OdigosPlurals, OdigosVersion } from "./constants.js";
import {
  CollectorsGroupSpec,
  CollectorsGroupStatus,
  InstrumentedApplicationSpec,
  OdigosConfigurationSpec,
} from "./odigos.js";

/** An OpenAPI v3 schema as a CRD carries it (structural subset). */
export interface OpenApiSchema {
  readonly type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  readonly description?: string;
  readonly enum?: ReadonlyArray<string>;
  readonly required?: ReadonlyArray<string>;
  readonly properties?: Readonly<Record<string, OpenApiSchema>>;
  readonly additionalProperties?: OpenApiSchema;
  readonly items?: OpenApiSchema;
  readonly "x-kubernetes-preserve-unknown-fields"?: true;
  readonly "x-kubernetes-int-or-string"?: true;
}

/** The fields of a CRD manifest this package generates. */
export interface CustomResourceDefinition {
  readonly apiVersion: "apiextensions.k8s.io/v1";
  readonly kind: "CustomResourceDefinition";
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
    };
    readonly scope: "Namespaced";
    readonly versions: ReadonlyArray<{
      readonly name: string;
      readonly served: true;
      readonly storage: true;
      readonly schema: { readonly openAPIV3Schema: OpenApiSchema };
      readonly subresources?: { readonly status: Record<string, never> };
    }>;
  };
}

type JsonSchemaNode = Record<string, unknown>;

/** JSON Schema (draft-07, as effect emits it) -> Kubernetes structural OpenAPI v3. */
const toOpenApi = (node: JsonSchemaNode, defs: Record<string, JsonSchemaNode>): OpenApiSchema => {
  const ref = node.$ref;
  if (typeof ref === "string") {
    const target = defs[ref.replace("#/$defs/", "")];
    if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
    return toOpenApi(target, defs);
  }
  const anyOf = node.anyOf as ReadonlyArray<JsonSchemaNode> | undefined;
  if (anyOf !== undefined) {
    const types = new Set(anyOf.map((branch) => branch.type));
    if (types.size === 2 && types.has("string") && (types.has("number") || types.has("integer"))) {
      return { "x-kubernetes-int-or-string": true };
    }
    throw new Error(`unsupported union ${JSON.stringify(node)}`);
  }
  switch (node.type) {
    case "object": {
      const properties = node.properties as Record<string, JsonSchemaNode> | undefined;
      const required = (node.required as ReadonlyArray<string> | undefined) ?? [];
      const additional = node.additionalProperties;
      const hasProperties = properties !== undefined && Object.keys(properties).length > 0;
      if (!hasProperties && typeof additional === "object" && additional !== null) {
        return {
          type: "object",
          additionalProperties: toOpenApi(additional as JsonSchemaNode, defs),
        };
      }
      if (!hasProperties) return { type: "object" };
      return {
        type: "object",
        properties: Object.fromEntries(
          Object.entries(properties).map(([key, value]) => [key, toOpenApi(value, defs)]),
        ),
        ...(required.length > 0 ? { required: [...required].sort() } : {}),
      };
    }
    case "array":
      return { type: "array", items: toOpenApi(node.items as JsonSchemaNode, defs) };
    case "string":
      return Array.isArray(node.enum)
        ? { type: "string", enum: node.enum as ReadonlyArray<string> }
        : { type: "string" };
    case "integer":
    case "number":
    case "boolean":
      return { type: node.type };
    default:
      // An unknown value (effect emits no type): keep whatever the server is given.
      return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  }
};

/** The OpenAPI v3 schema of an effect Schema, as a CRD property. */
export const openApiSchemaOf = <A, I>(schema: Schema.Schema<A, I, never>): OpenApiSchema => {
  const json = JSONSchema.make(schema) as unknown as JsonSchemaNode;
  return toOpenApi(json, (json.$defs as Record<string, JsonSchemaNode> | undefined) ?? {});
};

const crd = (
  kind: keyof typeof OdigosPlurals,
  properties: Record<string, OpenApiSchema>,
  withStatusSubresource: boolean,
): CustomResourceDefinition => {
  const plural = OdigosPlurals[kind];
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${OdigosGroup}` },
    spec: {
      group: OdigosGroup,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope: "Namespaced",
      versions: [
        {
          name: OdigosVersion,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                ...properties,
              },
            },
          },
          ...(withStatusSubresource ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  };
};

/** CRD manifests for InstrumentedApplication, CollectorsGroup and OdigosConfiguration. */
export const odigosCrds = (): ReadonlyArray<CustomResourceDefinition> => [
  crd(
    "InstrumentedApplication",
    { spec: openApiSchemaOf(InstrumentedApplicationSpec), status: { type: "object" } },
    true,
  ),
  crd(
    "CollectorsGroup",
    { spec: openApiSchemaOf(CollectorsGroupSpec), status: openApiSchemaOf(CollectorsGroupStatus) },
    true,
  ),
  crd("OdigosConfiguration", { spec: openApiSchemaOf(OdigosConfigurationSpec) }, false),
];
