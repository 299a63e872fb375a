/** The Effect program that carries out a cleanup plan, one action at a time, never stopping early. */
import { ReportedNameAnnotation } from "@odigos/crd-types";
import type { WriteError } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import type { CleanupAction } from "./plan.js";
import { RuntimeDetailsWriter, WorkloadAnnotationWriter } from "./writers.js";

/** Why an action wrote nothing and still counts as success. */
export type SkipReason =
  /** The object was already gone (404). */
  | "AlreadyGone"
  /** The runtime details were replaced since they were read (UID precondition failed): not deleted. */
  | "ReplacedMeanwhile";

export interface SkippedAction {
  readonly action: CleanupAction;
  readonly reason: SkipReason;
  readonly note: string;
}

export interface FailedAction {
  readonly action: CleanupAction;
  readonly error: WriteError;
}

/** What `runCleanup` did with each action: every action lands in exactly one list. */
export interface CleanupReport {
  /** Written. */
  readonly done: ReadonlyArray<CleanupAction>;
  /** Nothing to write any more: success. */
  readonly skipped: ReadonlyArray<SkippedAction>;
  /** Failed; retry from a fresh read, with backoff. */
  readonly failed: ReadonlyArray<FailedAction>;
}

type ActionResult =
  | { readonly _tag: "Done" }
  | { readonly _tag: "Skipped"; readonly reason: SkipReason; readonly note: string }
  | { readonly _tag: "Failed"; readonly error: WriteError };

const write = (
  action: CleanupAction,
): Effect.Effect<void, WriteError, RuntimeDetailsWriter | WorkloadAnnotationWriter> =>
  action._tag === "DeleteRuntimeDetails"
    ? Effect.flatMap(RuntimeDetailsWriter, (writer) =>
        writer.deleteRuntimeDetails(action.namespace, action.name, action.uid),
      )
    : Effect.flatMap(WorkloadAnnotationWriter, (writer) =>
        writer.removeAnnotation(action.ref, ReportedNameAnnotation, action.resourceVersion),
      );

const classify = (action: CleanupAction, error: WriteError): ActionResult => {
  if (error._tag === "NotFound")
    return { _tag: "Skipped", reason: "AlreadyGone", note: "already gone" };
  // Only a delete's Conflict is settled: the new object is someone else's to judge. A stale
  // workload copy (RemoveReportedName) must be retried from a fresh read.
  if (error._tag === "Conflict" && action._tag === "DeleteRuntimeDetails") {
    return {
      _tag: "Skipped",
      reason: "ReplacedMeanwhile",
      note: "replaced meanwhile: not deleted",
    };
  }
  return { _tag: "Failed", error };
};

/**
 * Runs every action in order. `NotFound` counts as success ("already gone"), a
 * delete's UID-precondition `Conflict` as success with a note ("replaced
 * meanwhile: not deleted"); any other failure is reported for its action and
 * the rest still run. Never fails.
 */
export const runCleanup = Effect.fnUntraced(function* (actions: ReadonlyArray<CleanupAction>) {
  const done: Array<CleanupAction> = [];
  const skipped: Array<SkippedAction> = [];
  const failed: Array<FailedAction> = [];
  for (const action of actions) {
    const result = yield* write(action).pipe(
      Effect.match({
        onSuccess: (): ActionResult => ({ _tag: "Done" }),
        onFailure: (error) => classify(action, error),
      }),
    );
    if (result._tag === "Done") done.push(action);
    else if (result._tag === "Skipped")
      skipped.push({ action, reason: result.reason, note: result.note });
    else failed.push({ action, error: result.error });
  }
  const report: CleanupReport = { done, skipped, failed };
  return report;
});
