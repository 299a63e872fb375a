/**
 * Reconciles one workload: reads only the caches, asks the rules, and applies
 * the device plan and the cleanup plan. Level-based and idempotent: a
 * converged workload sees no write.
 */

import {
  planDeletedWorkloadCleanup,
  planWorkloadCleanup,
  type RuntimeDetailsWriter,
  runCleanup,
  type WorkloadAnnotationWriter,
} from "@odigos/cleanup";
import {
  type InstrumentedApplication,
  type Workload,
  type WorkloadRef,
  type WriteError,
  workloadKey,
} from "@odigos/crd-types";
import { applyDevicePlan, type WorkloadPatcher } from "@odigos/device-patcher";
import {
  collectorsReady,
  describeDeviceProblem,
  deviceIntent,
  ignoredNamespaces,
  isOptedIn,
  shouldInstrument,
} from "@odigos/instrumentation-rules";
import * as Effect from "effect/Effect";
import type { Logger } from "pino";
import type { ClusterView } from "../cache/cluster-state.js";
import type { EventRecorder, EventTarget } from "../observability/events.js";

/** What a reconcile asks of the queue afterwards. */
export type ReconcileResult =
  | { readonly _tag: "Done" }
  /** Wait for the watch to deliver our own write before deciding again. */
  | { readonly _tag: "AwaitingCache" }
  /** Decide again later, e.g. to let a just-created workload reach the cache. */
  | { readonly _tag: "RequeueAfter"; readonly delayMs: number }
  | { readonly _tag: "Retry"; readonly error: WriteError | Error };

export interface ReconcilerDeps {
  readonly state: ClusterView;
  readonly log: Logger;
  readonly events: EventRecorder;
}

const workloadTarget = (ref: WorkloadRef, workload: Workload | undefined): EventTarget => ({
  apiVersion: "apps/v1",
  kind: ref.kind,
  namespace: ref.namespace,
  name: ref.name,
  uid: workload?.metadata.uid,
});

const runtimeDetailsTarget = (details: InstrumentedApplication): EventTarget => ({
  apiVersion: "odigos.io/v1alpha1",
  kind: "InstrumentedApplication",
  namespace: details.metadata.namespace ?? "",
  name: details.metadata.name,
  uid: details.metadata.uid,
});

/**
 * How long runtime details must be seen without their workload before they are
 * deleted: the watches of two kinds are not ordered, so a workload created just
 * before its runtime details may reach the cache after them.
 */
export const orphanGraceMs = 5_000;

export class Reconciler {
  /** Resource version each workload had when we last wrote it, until the cache moves past it. */
  private readonly writtenFrom = new Map<string, string>();
  /** When runtime details were first seen without their workload. */
  private readonly orphanSince = new Map<string, number>();
  /** Per workload, the UID of runtime details we deleted, until the watch takes them out of the cache. */
  private readonly deletedRuntimeDetails = new Map<string, string>();

  constructor(private readonly deps: ReconcilerDeps) {}

  reconcile(
    ref: WorkloadRef,
  ): Effect.Effect<
    ReconcileResult,
    never,
    WorkloadPatcher | RuntimeDetailsWriter | WorkloadAnnotationWriter
  > {
    const { state, log, events } = this.deps;
    const key = workloadKey(ref);
    const fields = { workload: ref.name, namespace: ref.namespace, kind: ref.kind };
    const writtenFrom = this.writtenFrom;
    const orphanSince = this.orphanSince;
    const deletedRuntimeDetails = this.deletedRuntimeDetails;
    return Effect.gen(function* () {
      const workload = state.workload(ref);
      const cachedDetails = state.runtimeDetailsOf(ref);
      // Runtime details we already deleted are gone, whatever a lagging cache says: no second delete.
      const deletedUid = deletedRuntimeDetails.get(key);
      const runtimeDetails =
        deletedUid !== undefined && cachedDetails?.metadata.uid === deletedUid
          ? undefined
          : cachedDetails;
      if (deletedUid !== undefined && cachedDetails?.metadata.uid !== deletedUid) {
        deletedRuntimeDetails.delete(key);
      }

      if (workload === undefined) {
        writtenFrom.delete(key);
        if (state.workloadInvalid(ref) !== undefined) return { _tag: "Done" } as const;
        if (runtimeDetails === undefined) {
          orphanSince.delete(key);
          return { _tag: "Done" } as const;
        }
        const since = orphanSince.get(key) ?? Date.now();
        if (!orphanSince.has(key)) {
          const note = `${ref.kind} ${ref.namespace}/${ref.name}, named by runtime details ${runtimeDetails.metadata.name}, does not exist: the runtime details are deleted in ${orphanGraceMs / 1000} s unless it appears`;
          log.warn(
            { ...fields, reason: "WorkloadNotFound", runtimeDetails: runtimeDetails.metadata.name },
            note,
          );
          events.warning(runtimeDetailsTarget(runtimeDetails), "WorkloadNotFound", "Cleanup", note);
        }
        orphanSince.set(key, since);
        const waited = Date.now() - since;
        if (waited < orphanGraceMs)
          return { _tag: "RequeueAfter", delayMs: orphanGraceMs - waited } as const;
        orphanSince.delete(key);
        // SPEC 5: a deleted workload's runtime details go too (the node agent may set no owner).
        const report = yield* runCleanup(planDeletedWorkloadCleanup(ref, runtimeDetails));
        for (const done of report.done) {
          if (done._tag === "DeleteRuntimeDetails") deletedRuntimeDetails.set(key, done.uid);
          log.info(
            { ...fields, reason: "WorkloadDeleted", action: done._tag },
            "deleted runtime details of a workload that no longer exists",
          );
        }
        return report.failed.length > 0
          ? ({ _tag: "Retry", error: report.failed[0]?.error } as ReconcileResult)
          : ({ _tag: "Done" } as const);
      }

      orphanSince.delete(key);
      const seenVersion = writtenFrom.get(key);
      if (seenVersion !== undefined) {
        if (seenVersion === workload.metadata.resourceVersion)
          return { _tag: "AwaitingCache" } as const;
        writtenFrom.delete(key);
      }

      const configuration = state.configuration();
      const config = configuration._tag === "Available" ? configuration.config : undefined;
      const optIn = isOptedIn(
        { namespace: ref.namespace, metadata: workload.metadata },
        state.namespace(ref.namespace)?.metadata,
        {
          odigosNamespace: state.odigosNamespace,
          ignoredNamespaces: ignoredNamespaces(config, state.odigosNamespace),
        },
      );
      const decision = shouldInstrument({
        optIn,
        runtimeDetails,
        collectorsReady: collectorsReady(state.allCollectorsGroups()),
      });
      const intent = deviceIntent(
        decision,
        workload.spec.template.spec.containers,
        runtimeDetails,
        config,
      );

      let wroteWorkload = false;
      if (intent._tag === "LeaveAsIs") {
        const why =
          configuration._tag === "Invalid"
            ? configuration.reason
            : `OdigosConfiguration ${state.odigosNamespace}/odigos-config does not exist`;
        log.warn(
          { ...fields, reason: "ConfigUnavailable", detail: why },
          "no usable odigos-config: devices left as they are",
        );
        events.warning(
          workloadTarget(ref, workload),
          "ConfigUnavailable",
          "Instrument",
          `no device can be chosen: ${why}`,
        );
      } else {
        if (intent._tag === "Instrument") {
          for (const problem of intent.problems) {
            const note = describeDeviceProblem(problem);
            log.warn(
              {
                ...fields,
                reason: problem._tag,
                container: problem.containerName,
                language: problem.language,
              },
              note,
            );
            events.warning(workloadTarget(ref, workload), problem._tag, "Instrument", note);
          }
        }
        const outcome = yield* Effect.either(applyDevicePlan(ref, workload, intent));
        if (outcome._tag === "Left") return { _tag: "Retry", error: outcome.left } as const;
        if (outcome.right._tag === "Patched") {
          wroteWorkload = true;
          writtenFrom.set(key, workload.metadata.resourceVersion);
          const { summary } = outcome.right;
          const instrumented =
            intent._tag === "Instrument" && Object.keys(intent.devices).length > 0;
          log.info(
            {
              ...fields,
              reason: decision.reason,
              added: summary.added.map((entry) => `${entry.container}:${entry.device}`),
              removed: summary.removed.map((entry) => `${entry.container}:${entry.device}`),
            },
            instrumented
              ? `instrumented: ${decision.message}`
              : `un-instrumented: ${decision.message}`,
          );
          events.normal(
            workloadTarget(ref, workload),
            instrumented ? "Instrumented" : "Uninstrumented",
            instrumented ? "Instrument" : "Uninstrument",
            decision.message,
          );
        }
      }

      const actions = planWorkloadCleanup({ ref, workload, optIn, runtimeDetails }).filter(
        // A second patch from the same cached copy would conflict with the first: it runs next time round.
        (action) => !(wroteWorkload && action._tag === "RemoveReportedName"),
      );
      if (actions.length === 0) return { _tag: "Done" } as const;
      const report = yield* runCleanup(actions);
      for (const done of report.done) {
        log.info(
          { ...fields, reason: decision.optIn.reason, action: done._tag },
          `cleaned up: ${decision.message}`,
        );
        if (done._tag === "RemoveReportedName")
          writtenFrom.set(key, workload.metadata.resourceVersion);
        if (done._tag === "DeleteRuntimeDetails" && runtimeDetails !== undefined) {
          deletedRuntimeDetails.set(key, done.uid);
          events.normal(
            runtimeDetailsTarget(runtimeDetails),
            "RuntimeDetailsDeleted",
            "Cleanup",
            decision.message,
          );
        }
      }
      return report.failed.length > 0
        ? ({ _tag: "Retry", error: report.failed[0]?.error } as ReconcileResult)
        : ({ _tag: "Done" } as const);
    });
  }
}
