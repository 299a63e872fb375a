/**
 * effect/Schema types for the Odigos custom resources, as the CRDs in
 * `shared/fixtures/odigos-crds/` describe them.
 */
import * as Schema from "effect/Schema";
import { ObjectMeta } from "./kubernetes.js";

/** Programming languages the node agent reports. */
export const ProgrammingLanguage = Schema.Literal("java", "python", "go", "dotnet", "javascript");
export type ProgrammingLanguage = typeof ProgrammingLanguage.Type;
export const ProgrammingLanguages: ReadonlyArray<ProgrammingLanguage> =
  ProgrammingLanguage.literals;

/** One detected language in one container of a workload. */
export const LanguageByContainer = Schema.Struct({
  containerName: Schema.String,
  language: ProgrammingLanguage,
  processName: Schema.optional(Schema.String),
});
export type LanguageByContainer = typeof LanguageByContainer.Type;

/** Per-library instrumentation options: carried through untouched, never interpreted. */
export const InstrumentationOption = Schema.Struct({
  optionKey: Schema.String,
  spanKind: Schema.Literal("client", "server", "producer", "consumer", "internal"),
});
export const InstrumentationLibrary = Schema.Struct({
  libraryName: Schema.String,
  options: Schema.Array(InstrumentationOption),
});
export const OptionByContainer = Schema.Struct({
  containerName: Schema.String,
  instrumentationsLibraries: Schema.Array(InstrumentationLibrary),
});
export type OptionByContainer = typeof OptionByContainer.Type;

export const InstrumentedApplicationSpec = Schema.Struct({
  languages: Schema.optional(Schema.Array(LanguageByContainer)),
  options: Schema.optional(Schema.Array(OptionByContainer)),
});
export type InstrumentedApplicationSpec = typeof InstrumentedApplicationSpec.Type;

/**
 * Runtime details of one workload, named `<kind>-<workload name>` in the
 * workload's namespace. Created by the node agent.
 */
export const InstrumentedApplication = Schema.Struct({
  metadata: ObjectMeta,
  spec: Schema.optional(InstrumentedApplicationSpec),
  status: Schema.optional(Schema.Struct({})),
});
export type InstrumentedApplication = typeof InstrumentedApplication.Type;

/**
 * What decoding reads of runtime details: every `languages` entry is decoded on its own
 * (a bad entry is skipped and reported, the others still count), and `spec.options` and
 * `status` are never read, so nothing in them can fail decoding.
 */
export const InstrumentedApplicationInput = Schema.Struct({
  metadata: ObjectMeta,
  spec: Schema.optional(
    Schema.Struct({ languages: Schema.optional(Schema.Array(Schema.Unknown)) }),
  ),
});

export const InstrumentedApplicationList = Schema.Struct({
  items: Schema.Array(InstrumentedApplication),
});
export type InstrumentedApplicationList = typeof InstrumentedApplicationList.Type;

/** What a collectors group does: receive from nodes, or export from the cluster. */
export const CollectorsGroupRole = Schema.Literal("GATEWAY", "DATA_COLLECTION");
export type CollectorsGroupRole = typeof CollectorsGroupRole.Type;

export const CollectorsGroupSpec = Schema.Struct({
  role: CollectorsGroupRole,
  inputSvc: Schema.optional(Schema.String),
});
export type CollectorsGroupSpec = typeof CollectorsGroupSpec.Type;

export const CollectorsGroupStatus = Schema.Struct({
  ready: Schema.optional(Schema.Boolean),
});
export type CollectorsGroupStatus = typeof CollectorsGroupStatus.Type;

/** A group of OpenTelemetry collectors in the Odigos namespace. */
export const CollectorsGroup = Schema.Struct({
  metadata: ObjectMeta,
  spec: CollectorsGroupSpec,
  status: Schema.optional(CollectorsGroupStatus),
});
export type CollectorsGroup = typeof CollectorsGroup.Type;

export const CollectorsGroupList = Schema.Struct({
  items: Schema.Array(CollectorsGroup),
});
export type CollectorsGroupList = typeof CollectorsGroupList.Type;

/** How an SDK attaches: in-process (`native`) or from the node (`ebpf`). */
export const SdkType = Schema.Literal("native", "ebpf");
export type SdkType = typeof SdkType.Type;
/** Who ships the SDK. */
export const SdkTier = Schema.Literal("community", "enterprise");
export type SdkTier = typeof SdkTier.Type;

/** One OpenTelemetry SDK choice for a language. */
export const OtelSdk = Schema.Struct({
  sdkType: SdkType,
  sdkTier: SdkTier,
});
export type OtelSdk = typeof OtelSdk.Type;

export const OdigosConfigurationSpec = Schema.Struct({
  configVersion: Schema.Int,
  odigosVersion: Schema.String,
  defaultSDKs: Schema.optional(Schema.Record({ key: Schema.String, value: OtelSdk })),
  supportedSDKs: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Array(OtelSdk) }),
  ),
  ignoredNamespaces: Schema.optional(Schema.Array(Schema.String)),
  telemetryEnabled: Schema.optional(Schema.Boolean),
  psp: Schema.optional(Schema.Boolean),
  imagePrefix: Schema.optional(Schema.String),
  odigletImage: Schema.optional(Schema.String),
  instrumentorImage: Schema.optional(Schema.String),
  autoscalerImage: Schema.optional(Schema.String),
});
export type OdigosConfigurationSpec = typeof OdigosConfigurationSpec.Type;

/** The cluster-wide Odigos configuration, named `odigos-config` in the Odigos namespace. */
export const OdigosConfiguration = Schema.Struct({
  metadata: ObjectMeta,
  spec: OdigosConfigurationSpec,
});
export type OdigosConfiguration = typeof OdigosConfiguration.Type;

export const OdigosConfigurationList = Schema.Struct({
  items: Schema.Array(OdigosConfiguration),
});
export type OdigosConfigurationList = typeof OdigosConfigurationList.Type;
