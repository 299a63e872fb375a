/**
 * The live Layer behind the services device-patcher and cleanup declare: each
 * write is one request to the API server, its failures mapped to the shared
 * typed errors, counted by kind, verb and result.
 */
import { RuntimeDetailsWriter, WorkloadAnnotationWriter } from "@odigos/cleanup";
import type { ObjectRef, WorkloadRef } from "@odigos/crd-types";
import { WorkloadPatcher } from "@odigos/device-patcher";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { toWriteError } from "./errors.js";
import type { KubeHttp } from "./http.js";
import { runtimeDetailsPath, workloadPath } from "./resources.js";

export type CountWrite = (kind: string, verb: string, result: "ok" | "error") => void;

const jsonPatch = "application/json-patch+json";

/** Escapes one JSON-pointer segment (RFC 6901). */
const pointer = (segment: string): string => segment.replaceAll("~", "~0").replaceAll("/", "~1");

export const liveWriters = (kube: KubeHttp, count: CountWrite) => {
  const send = (object: ObjectRef, verb: string, run: () => Promise<unknown>) =>
    Effect.tryPromise({
      try: run,
      catch: (error) => toWriteError(error, object, verb),
    }).pipe(
      Effect.tapBoth({
        onSuccess: () => Effect.sync(() => count(object.kind, verb, "ok")),
        onFailure: () => Effect.sync(() => count(object.kind, verb, "error")),
      }),
      Effect.asVoid,
    );

  const patchWorkload = (ref: WorkloadRef, operations: ReadonlyArray<unknown>) =>
    send(ref, "patch", () =>
      kube.request("PATCH", workloadPath(ref.kind, ref.namespace, ref.name), {
        body: operations,
        contentType: jsonPatch,
      }),
    );

  return Layer.mergeAll(
    Layer.succeed(WorkloadPatcher, { patch: patchWorkload }),
    Layer.succeed(WorkloadAnnotationWriter, {
      removeAnnotation: (ref: WorkloadRef, key: string, resourceVersion: string) =>
        patchWorkload(ref, [
          { op: "replace", path: "/metadata/resourceVersion", value: resourceVersion },
          { op: "remove", path: `/metadata/annotations/${pointer(key)}` },
        ]),
    }),
    Layer.succeed(RuntimeDetailsWriter, {
      deleteRuntimeDetails: (namespace: string, name: string, uid: string) =>
        send({ kind: "InstrumentedApplication", namespace, name }, "delete", () =>
          kube.request("DELETE", runtimeDetailsPath(namespace, name), {
            body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid } },
          }),
        ),
    }),
  );
};
