/** Ready-made decoders for every kind the instrumentor reads. */
import * as Either from "effect/Either";
import * as Schema from "effect/Schema";
import { type DecodeError, type DecodeIssue, issuesOf, makeDecoder } from "./decode.js";
import {
  CronJob,
  CustomResource,
  DaemonSet,
  Deployment,
  Namespace,
  Pod,
  Rollout,
  StatefulSet,
  type Workload,
  type WorkloadKind,
  WorkloadKinds,
  type WorkloadStatus,
  workloadStatusSchemaFor,
} from "./kubernetes.js";
import {
  CollectorsGroup,
  type InstrumentedApplication,
  InstrumentedApplicationInput,
  LanguageByContainer,
  OdigosConfiguration,
} from "./odigos.js";

export const decodeDeployment = makeDecoder("Deployment", Deployment);
export const decodeStatefulSet = makeDecoder("StatefulSet", StatefulSet);
export const decodeDaemonSet = makeDecoder("DaemonSet", DaemonSet);
export const decodeCronJob = makeDecoder("CronJob", CronJob);
export const decodeRollout = makeDecoder("Rollout", Rollout);
export const decodeNamespace = makeDecoder("Namespace", Namespace);
export const decodePod = makeDecoder("Pod", Pod);
export const decodeCustomResource = makeDecoder("CustomResourceDefinition", CustomResource);

const noStatus = Either.right(undefined);

const statusDecoders = Object.fromEntries(
  WorkloadKinds.map((kind) => {
    const schema = workloadStatusSchemaFor(kind);
    if (schema === undefined) return [kind, () => noStatus];
    const decode = makeDecoder(kind, Schema.Struct({ status: Schema.optional(schema) }));
    return [kind, (raw: unknown) => Either.map(decode(raw), ({ status }) => status)];
  }),
) as {
  readonly [K in WorkloadKind]: (
    raw: unknown,
  ) => Either.Either<WorkloadStatus | undefined, DecodeError>;
};

/**
 * Decodes only the `status` of a served workload of one kind: what its whole decoder gives as
 * `status` (`undefined` when it has none, and always for a CronJob, whose slice keeps none). For
 * a cache that already holds the rest of the object, when only its status moved.
 */
export const workloadStatusDecoder = (
  kind: WorkloadKind,
): ((raw: unknown) => Either.Either<WorkloadStatus | undefined, DecodeError>) =>
  statusDecoders[kind];

/** Runtime details as decoded: the language entries that are valid, and why the others are not. */
export type DecodedInstrumentedApplication = InstrumentedApplication & {
  /** Entries of `spec.languages` that did not decode: skipped, for the caller to report. */
  readonly skippedLanguages: ReadonlyArray<DecodeIssue>;
};

const decodeRuntimeDetailsInput = makeDecoder(
  "InstrumentedApplication",
  InstrumentedApplicationInput,
);
const decodeLanguage = Schema.decodeUnknownEither(LanguageByContainer, {
  errors: "all",
  onExcessProperty: "ignore",
});
const noIssues: ReadonlyArray<DecodeIssue> = [];

/**
 * Decodes runtime details entry by entry: a `languages` entry with an unknown language or a
 * missing field is skipped and listed in `skippedLanguages`, and the others still count; only
 * a malformed `metadata`, `spec` or a `languages` that is not a list fails the whole object.
 */
export const decodeInstrumentedApplication = (
  raw: unknown,
): Either.Either<DecodedInstrumentedApplication, DecodeError> =>
  Either.map(decodeRuntimeDetailsInput(raw), (input) => {
    const languages: Array<LanguageByContainer> = [];
    const skippedLanguages: Array<DecodeIssue> = [];
    input.spec?.languages?.forEach((entry, index) => {
      const decoded = decodeLanguage(entry);
      if (Either.isRight(decoded)) languages.push(decoded.right);
      else skippedLanguages.push(...issuesOf(decoded.left, ["spec", "languages", index]));
    });
    // Exact-size copies: an array grown by `push` keeps room for 17 entries, and a cache holds
    // one of these per workload in the cluster.
    const spec =
      input.spec === undefined
        ? {}
        : { spec: input.spec.languages === undefined ? {} : { languages: languages.slice() } };
    return {
      metadata: input.metadata,
      ...spec,
      skippedLanguages: skippedLanguages.length === 0 ? noIssues : skippedLanguages.slice(),
    };
  });
export const decodeCollectorsGroup = makeDecoder("CollectorsGroup", CollectorsGroup);
export const decodeOdigosConfiguration = makeDecoder("OdigosConfiguration", OdigosConfiguration);

const workloadDecoders: {
  readonly [K in WorkloadKind]: (raw: unknown) => Either.Either<Workload, DecodeError>;
} = {
  Deployment: decodeDeployment,
  StatefulSet: decodeStatefulSet,
  DaemonSet: decodeDaemonSet,
  CronJob: decodeCronJob,
  Rollout: decodeRollout,
};

/** The decoder for one workload kind. */
export const workloadDecoder = (
  kind: WorkloadKind,
): ((raw: unknown) => Either.Either<Workload, DecodeError>) => workloadDecoders[kind];
