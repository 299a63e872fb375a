/**
 * An in-memory `WorkloadPatcher` that behaves like the API server for the
 * patches this library sends: unknown objects are `NotFound`, a stale
 * resourceVersion is `Conflict`, an unappliable patch is `Invalid`, and every
 * write bumps the resourceVersion. For tests, here and in other tools.
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
import * as Either from "effect/Either";
import * as Layer from "effect/Layer";
import { applyJsonPatch, type JsonPatchOperation } from "./json-patch.js";
import { WorkloadPatcher } from "./patcher.js";

/** A stored workload: its kind, identity and resource version, plus any other fields. */
export interface InMemoryWorkload {
  readonly kind: WorkloadKind;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string | undefined;
    readonly resourceVersion: string;
  };
}

/** The store behind the layer, and the layer. */
export interface InMemoryWorkloadPatcher<W extends InMemoryWorkload> {
  /** Provides `WorkloadPatcher` backed by this store. */
  readonly layer: Layer.Layer<WorkloadPatcher>;
  /** The stored copy of a workload (patches change only devices and annotations, so still a `W`). */
  readonly get: (ref: WorkloadRef) => W | undefined;
  /** Every stored workload, by `workloadKey`. */
  readonly objects: () => ReadonlyMap<string, W>;
  /** How many patches were written (rejected ones do not count). */
  readonly patchCount: () => number;
  /** Another client's write: stores `workload` and bumps its resourceVersion; returns the stored copy. */
  readonly put: (workload: W) => W;
}

const refOf = (workload: InMemoryWorkload): WorkloadRef => ({
  kind: workload.kind,
  namespace: workload.metadata.namespace ?? "default",
  name: workload.metadata.name,
});

const withResourceVersion = <W extends InMemoryWorkload>(workload: W, version: number): W => ({
  ...workload,
  metadata: { ...workload.metadata, resourceVersion: String(version) },
});

/** A store seeded with `initialObjects` (kept with their own resourceVersions) and its layer. */
export const makeInMemoryWorkloadPatcher = <W extends InMemoryWorkload>(
  initialObjects: Iterable<W>,
): InMemoryWorkloadPatcher<W> => {
  const store = new Map<string, W>();
  let lastVersion = 0;
  let patches = 0;
  for (const workload of initialObjects) {
    store.set(workloadKey(refOf(workload)), workload);
    const version = Number(workload.metadata.resourceVersion);
    if (Number.isInteger(version)) lastVersion = Math.max(lastVersion, version);
  }

  const patch = (
    ref: WorkloadRef,
    operations: ReadonlyArray<JsonPatchOperation>,
  ): Effect.Effect<void, WriteError> =>
    Effect.suspend((): Effect.Effect<void, WriteError> => {
      const key = workloadKey(ref);
      const current = store.get(key);
      if (current === undefined) return Effect.fail(new NotFound({ object: ref }));
      const patched = applyJsonPatch(current, operations);
      if (Either.isLeft(patched)) {
        return Effect.fail(new Invalid({ object: ref, detail: patched.left.message }));
      }
      // The server's optimistic concurrency: the resourceVersion the patch leaves must be the current one.
      const claimed = patched.right.metadata.resourceVersion;
      if (claimed !== current.metadata.resourceVersion) {
        return Effect.fail(
          new Conflict({
            object: ref,
            detail: `resourceVersion ${claimed} is stale, the object is at ${current.metadata.resourceVersion}`,
          }),
        );
      }
      lastVersion += 1;
      patches += 1;
      store.set(key, withResourceVersion(patched.right, lastVersion));
      return Effect.void;
    });

  return {
    layer: Layer.succeed(WorkloadPatcher, { patch }),
    get: (ref) => store.get(workloadKey(ref)),
    objects: () => new Map(store),
    patchCount: () => patches,
    put: (workload) => {
      lastVersion += 1;
      const stored = withResourceVersion(workload, lastVersion);
      store.set(workloadKey(refOf(stored)), stored);
      return stored;
    },
  };
};
