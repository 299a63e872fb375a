/**
 * In-memory `RuntimeDetailsWriter` and `WorkloadAnnotationWriter` that behave
 * like the API server for cleanup's writes: unknown objects are `NotFound`, a
 * UID or resourceVersion mismatch is `Conflict`, removing an absent annotation
 * is `Invalid` (as a JSON Patch `remove` would be). For tests, here and in other tools.
 */
import {
  Conflict,
  Invalid,
  NotFound,
  type WorkloadKind,
  type WorkloadRef,
  type WriteError,
  workloadKey,
} from "@odigos/crd-types";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { RuntimeDetailsWriter, WorkloadAnnotationWriter } from "./writers.js";

/** A stored InstrumentedApplication: identity is all the writer needs (any decoded one fits). */
export interface InMemoryRuntimeDetails {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string | undefined;
    readonly uid: string;
  };
}

/** A stored workload: kind, identity, resourceVersion and annotations (any decoded `Workload` fits). */
export interface InMemoryAnnotatedWorkload {
  readonly kind: WorkloadKind;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string | undefined;
    readonly resourceVersion: string;
    readonly annotations?: Readonly<Record<string, string>> | undefined;
  };
}

export interface InMemoryCleanupWriters<
  R extends InMemoryRuntimeDetails,
  W extends InMemoryAnnotatedWorkload,
> {
  /** Provides both `RuntimeDetailsWriter` and `WorkloadAnnotationWriter`. */
  readonly layer: Layer.Layer<RuntimeDetailsWriter | WorkloadAnnotationWriter>;
  /** Runtime details still stored, by `namespace/name`. */
  readonly runtimeDetails: () => ReadonlyMap<string, R>;
  /** A stored workload (with its annotations and bumped resourceVersion). */
  readonly workload: (ref: WorkloadRef) => W | undefined;
  /** How many writes succeeded (deletes plus annotation removals). */
  readonly writeCount: () => number;
}

const namespaceOf = (metadata: { readonly namespace?: string | undefined }) =>
  metadata.namespace ?? "default";

/** Stores seeded with these objects, and the layer writing to them. */
export const makeInMemoryCleanupWriters = <
  R extends InMemoryRuntimeDetails = InMemoryRuntimeDetails,
  W extends InMemoryAnnotatedWorkload = InMemoryAnnotatedWorkload,
>(initial: {
  readonly runtimeDetails?: Iterable<R>;
  readonly workloads?: Iterable<W>;
}): InMemoryCleanupWriters<R, W> => {
  const details = new Map<string, R>();
  for (const object of initial.runtimeDetails ?? []) {
    details.set(`${namespaceOf(object.metadata)}/${object.metadata.name}`, object);
  }
  const workloads = new Map<string, W>();
  let lastVersion = 0;
  for (const object of initial.workloads ?? []) {
    const ref = {
      kind: object.kind,
      namespace: namespaceOf(object.metadata),
      name: object.metadata.name,
    };
    workloads.set(workloadKey(ref), object);
    const version = Number(object.metadata.resourceVersion);
    if (Number.isInteger(version)) lastVersion = Math.max(lastVersion, version);
  }
  let writes = 0;

  const deleteRuntimeDetails = (namespace: string, name: string, uid: string) =>
    Effect.suspend((): Effect.Effect<void, WriteError> => {
      const object = { kind: "InstrumentedApplication", namespace, name };
      const key = `${namespace}/${name}`;
      const stored = details.get(key);
      if (stored === undefined) return Effect.fail(new NotFound({ object }));
      if (stored.metadata.uid !== uid) {
        const detail = `precondition failed: UID ${uid} is now ${stored.metadata.uid}`;
        return Effect.fail(new Conflict({ object, detail }));
      }
      details.delete(key);
      writes += 1;
      return Effect.void;
    });

  const removeAnnotation = (ref: WorkloadRef, key: string, resourceVersion: string) =>
    Effect.suspend((): Effect.Effect<void, WriteError> => {
      const stored = workloads.get(workloadKey(ref));
      if (stored === undefined) return Effect.fail(new NotFound({ object: ref }));
      if (stored.metadata.resourceVersion !== resourceVersion) {
        const detail = `resourceVersion ${resourceVersion} is stale, the object is at ${stored.metadata.resourceVersion}`;
        return Effect.fail(new Conflict({ object: ref, detail }));
      }
      const annotations = { ...stored.metadata.annotations };
      if (!(key in annotations)) {
        return Effect.fail(new Invalid({ object: ref, detail: `no annotation ${key} to remove` }));
      }
      delete annotations[key];
      lastVersion += 1;
      writes += 1;
      workloads.set(workloadKey(ref), {
        ...stored,
        metadata: { ...stored.metadata, annotations, resourceVersion: String(lastVersion) },
      });
      return Effect.void;
    });

  return {
    layer: Layer.mergeAll(
      Layer.succeed(RuntimeDetailsWriter, { deleteRuntimeDetails }),
      Layer.succeed(WorkloadAnnotationWriter, { removeAnnotation }),
    ),
    runtimeDetails: () => new Map(details),
    workload: (ref) => workloads.get(workloadKey(ref)),
    writeCount: () => writes,
  };
};
