/**
 * The running instrumentor's `/status` (SPEC section 9), as a schema both sides use: the
 * operator writes it, a reader (the kubectl plugin, through the API server's pods proxy)
 * decodes it and takes from it what only the process knows, to feed {@link workloadStatus}.
 */
import type { WorkloadRef } from "@odigos/crd-types";
import * as Either from "effect/Either";
import * as ParseResult from "effect/ParseResult";
import * as Schema from "effect/Schema";
import type { LiveFacts, WorkloadStatus } from "./status.js";

/** What the process knows about itself: the same for every workload. */
export const InstrumentorFacts = Schema.Struct({
  /** When the report was made (ISO 8601). */
  at: Schema.String,
  /** `--rollout-timeout`, so a reader judges "stuck" as the operator does. */
  rolloutTimeoutMs: Schema.Number,
  breakerOpen: Schema.Boolean,
  /** Collectors are not ready: devices are kept this much longer (0 when ready or past it). */
  collectorsGraceLeftMs: Schema.Number,
  dryRun: Schema.Boolean,
});
export type InstrumentorFacts = typeof InstrumentorFacts.Type;

/** What the process knows about one workload, when anything. */
export const WorkloadLiveFacts = Schema.Struct({
  waitingForSlot: Schema.optionalWith(
    Schema.Struct({ position: Schema.Number, inFlight: Schema.Number, limit: Schema.Number }),
    { exact: true },
  ),
  fight: Schema.optionalWith(
    Schema.Struct({
      writer: Schema.String,
      /** Only when `managedFields` does not record the writer: the likeliest, most recent first. */
      candidates: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
      retryAt: Schema.String,
    }),
    { exact: true },
  ),
});
export type WorkloadLiveFacts = typeof WorkloadLiveFacts.Type;

/** One workload of `/status`: its reference, its status, and its live facts when any. */
export type StatusReportEntry = WorkloadRef &
  WorkloadStatus & { readonly live?: WorkloadLiveFacts | undefined };

/** The whole `/status` body. */
export interface StatusReport {
  readonly instrumentor: InstrumentorFacts;
  readonly summary: {
    readonly byState: Readonly<Record<string, number>>;
    readonly byReason: Readonly<Record<string, number>>;
  };
  readonly workloads: ReadonlyArray<StatusReportEntry>;
}

/** The part of `/status` a reader needs; other fields are ignored, so either side can grow. */
const LiveReport = Schema.Struct({
  instrumentor: InstrumentorFacts,
  workloads: Schema.Array(
    Schema.Struct({
      kind: Schema.String,
      namespace: Schema.String,
      name: Schema.String,
      live: Schema.optionalWith(WorkloadLiveFacts, { exact: true }),
    }),
  ),
});

/** What a reader takes from `/status`: the process's facts, and each workload's by `Kind/namespace/name`. */
export interface LiveView {
  readonly instrumentor: InstrumentorFacts;
  readonly byWorkload: ReadonlyMap<string, LiveFacts>;
}

/** Decodes a `/status` body (JSON text); the error says which field is wrong. */
export const decodeLiveView = (body: string): Either.Either<LiveView, string> => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return Either.left(`not JSON: ${(error as Error).message}`);
  }
  return Schema.decodeUnknownEither(LiveReport)(json).pipe(
    Either.mapLeft((error) => ParseResult.TreeFormatter.formatErrorSync(error)),
    Either.map(({ instrumentor, workloads }) => {
      const shared = sharedLiveFacts(instrumentor);
      return {
        instrumentor,
        byWorkload: new Map(
          workloads.map((entry) => [
            [entry.kind, entry.namespace, entry.name].join("/"),
            { ...shared, ...entry.live },
          ]),
        ),
      };
    }),
  );
};

/** The facts for a workload `/status` did not list (created since): the process's own only. */
export const sharedLiveFacts = (instrumentor: InstrumentorFacts): LiveFacts => ({
  breakerOpen: instrumentor.breakerOpen,
  collectorsGraceLeftMs: instrumentor.collectorsGraceLeftMs,
  dryRun: instrumentor.dryRun,
});
