/**
 * The two narrow write capabilities cleanup needs, and their live layer over `KubeClient`
 * (the real API server, or `@odigos/kube-client/testing`'s fake one).
 */
import { OdigosResources, type WorkloadRef, workloadResource } from "@odigos/crd-types";
import { KubeClient, toWriteError, type WriteError } from "@odigos/kube-client";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";

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

/** Escapes one JSON-pointer segment (RFC 6901). */
const pointer = (segment: string): string => segment.replaceAll("~", "~0").replaceAll("/", "~1");

/**
 * Both writers over `KubeClient`: a DELETE with a UID precondition, and a JSON Patch whose
 * first operation is the resourceVersion precondition (removing an absent annotation is
 * `Invalid`, as the API server answers 422).
 */
export const CleanupWritersLive: Layer.Layer<
  RuntimeDetailsWriter | WorkloadAnnotationWriter,
  never,
  KubeClient
> = Layer.effectContext(
  Effect.map(KubeClient, (client) =>
    Context.make(RuntimeDetailsWriter, {
      deleteRuntimeDetails: (namespace, name, uid) =>
        client
          .delete(OdigosResources.InstrumentedApplication, name, {
            namespace,
            preconditions: { uid },
          })
          .pipe(
            Effect.mapError((error) =>
              toWriteError(error, { kind: "InstrumentedApplication", namespace, name }, "delete"),
            ),
          ),
    }).pipe(
      Context.add(WorkloadAnnotationWriter, {
        removeAnnotation: (ref, key, resourceVersion) =>
          client
            .patch(
              workloadResource(ref.kind),
              ref.name,
              {
                type: "json",
                operations: [
                  { op: "replace", path: "/metadata/resourceVersion", value: resourceVersion },
                  { op: "remove", path: `/metadata/annotations/${pointer(key)}` },
                ],
              },
              { namespace: ref.namespace },
            )
            .pipe(
              Effect.asVoid,
              Effect.mapError((error) => toWriteError(error, ref, "patch")),
            ),
      }),
    ),
  ),
);
