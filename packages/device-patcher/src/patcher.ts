/**
 * The Effect program that plans a workload's devices and, when something must
 * change, applies the patch through the `WorkloadPatcher` service; its live layer
 * sends the patch through `KubeClient` (the real API server, or the fake one in tests).
 */
import { type WorkloadRef, workloadResource } from "@odigos/crd-types";
import { KubeClient, toWriteError, type WriteError } from "@odigos/kube-client";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type { JsonPatchOperation } from "./json-patch.js";
import {
  type AnnotationChanges,
  type DevicePatchSubject,
  type DevicePlan,
  type DevicePlanSummary,
  type DevicePlanTarget,
  planDevices,
  withAnnotations,
} from "./plan.js";

/** What a patch left behind. */
export interface PatchResult {
  /**
   * The workload's resourceVersion after the patch, as the API server answered it; `undefined`
   * when the implementation does not know it (a recorder). A watch cache that sees this version
   * is seeing this very write.
   */
  readonly resourceVersion: string | undefined;
}

/**
 * Capability to JSON-Patch one workload. The patch's first operation is a
 * resourceVersion precondition: an implementation sends it as one
 * `application/json-patch+json` request and maps a 409 to `Conflict`.
 */
export class WorkloadPatcher extends Context.Tag("@odigos/device-patcher/WorkloadPatcher")<
  WorkloadPatcher,
  {
    readonly patch: (
      ref: WorkloadRef,
      operations: ReadonlyArray<JsonPatchOperation>,
    ) => Effect.Effect<PatchResult, WriteError>;
  }
>() {}

/**
 * `WorkloadPatcher` over `KubeClient`: one `application/json-patch+json` PATCH per call, with
 * the client's field manager; 409 becomes `Conflict`, 404 `NotFound`, and so on. The API server
 * answers with the workload's metadata only: the new resourceVersion is all a patch returns.
 */
export const WorkloadPatcherLive: Layer.Layer<WorkloadPatcher, never, KubeClient> = Layer.effect(
  WorkloadPatcher,
  Effect.map(KubeClient, (client) => ({
    patch: (ref, operations) =>
      client
        .patch(
          workloadResource(ref.kind),
          ref.name,
          { type: "json", operations },
          { namespace: ref.namespace, answer: "metadata" },
        )
        .pipe(
          Effect.map(
            (written): PatchResult => ({ resourceVersion: written.metadata?.resourceVersion }),
          ),
          Effect.mapError((error) => toWriteError(error, ref, "patch")),
        ),
  })),
);

/** What `applyDevicePlan` did. */
export type DevicePlanOutcome =
  /** The workload already carried exactly the desired devices: nothing was written. */
  | { readonly _tag: "Unchanged" }
  /** One patch was written; the workload has `resourceVersion` since (when known). */
  | {
      readonly _tag: "Patched";
      readonly summary: DevicePlanSummary;
      readonly resourceVersion: string | undefined;
    };

/**
 * Writes a plan made by `planDevices` (with `withAnnotations`, when annotations ride along):
 * nothing for `NoChange`, else its one patch. For a caller that looked at the plan first; the
 * plan must be of the workload's cached copy, whose resourceVersion its first operation tests.
 */
export const writeDevicePlan = (
  ref: WorkloadRef,
  plan: DevicePlan,
): Effect.Effect<DevicePlanOutcome, WriteError, WorkloadPatcher> =>
  Effect.flatMap(WorkloadPatcher, (patcher) => writeDevicePlanWith(patcher, ref, plan));

/**
 * `writeDevicePlan` through a `WorkloadPatcher` the caller already holds: for a caller that
 * writes often (a controller's workers) and would otherwise provide the service on every call.
 */
export const writeDevicePlanWith = (
  patcher: typeof WorkloadPatcher.Service,
  ref: WorkloadRef,
  plan: DevicePlan,
): Effect.Effect<DevicePlanOutcome, WriteError> =>
  plan._tag === "NoChange"
    ? Effect.succeed(unchanged)
    : Effect.map(
        patcher.patch(ref, plan.operations),
        (written): DevicePlanOutcome => ({
          _tag: "Patched",
          summary: plan.summary,
          resourceVersion: written.resourceVersion,
        }),
      );

const unchanged: DevicePlanOutcome = { _tag: "Unchanged" };

/**
 * Plans `workload` (its cached copy) towards `target` and writes the patch, if
 * any, with `annotations` changed in the same patch (only when there is a device change). A
 * `Conflict` means the workload changed since it was read: re-read the cache and call again
 * (with backoff).
 */
export const applyDevicePlan = (
  ref: WorkloadRef,
  workload: DevicePatchSubject,
  target: DevicePlanTarget,
  annotations: AnnotationChanges = {},
): Effect.Effect<DevicePlanOutcome, WriteError, WorkloadPatcher> =>
  writeDevicePlan(ref, withAnnotations(planDevices(workload, target), workload, annotations));
