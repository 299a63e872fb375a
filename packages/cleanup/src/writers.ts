/** The two narrow write capabilities cleanup needs; the caller provides their Layers. */
import type { WorkloadRef, WriteError } from "@odigos/crd-types";
import * as Context from "effect/Context";
import type * as Effect from "effect/Effect";

/**
 * Deletes one InstrumentedApplication with a UID precondition. A live
 * implementation maps 404 to `NotFound` and a failed precondition (409) to `Conflict`.
 */
export class RuntimeDetailsWriter extends Context.Tag("@odigos/cleanup/RuntimeDetailsWriter")<
  RuntimeDetailsWriter,
  {
    readonly deleteRuntimeDetails: (
      namespace: string,
      name: string,
      uid: string,
    ) => Effect.Effect<void, WriteError>;
  }
>() {}

/**
 * Removes one annotation from a workload, only if the workload is still at
 * `resourceVersion` (e.g. a JSON Patch whose first operation replaces
 * `/metadata/resourceVersion`): a stale copy gives `Conflict`.
 */
export class WorkloadAnnotationWriter extends Context.Tag(
  "@odigos/cleanup/WorkloadAnnotationWriter",
)<
  WorkloadAnnotationWriter,
  {
    readonly removeAnnotation: (
      ref: WorkloadRef,
      key: string,
      resourceVersion: string,
    ) => Effect.Effect<void, WriteError>;
  }
>() {}
