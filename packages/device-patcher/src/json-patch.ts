/**
 * RFC 6902 JSON Patch: the operations the planner emits, JSON-pointer escaping,
 * and a pure `applyJsonPatch` (backed by `fast-json-patch`) for tests.
 */
import * as Data from "effect/Data";
import * as Either from "effect/Either";
import jsonPatch from "fast-json-patch";

/** The RFC 6902 operations this library emits (no move/copy). */
export type JsonPatchOperation =
  | { readonly op: "add"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string }
  | { readonly op: "replace"; readonly path: string; readonly value: unknown }
  | { readonly op: "test"; readonly path: string; readonly value: unknown };

/** JSON pointer of a workload's resource version. */
export const ResourceVersionPath = "/metadata/resourceVersion";

/**
 * The first operation of every patch: the API server answers 409 Conflict when
 * the object's resourceVersion is no longer the one the plan was computed from.
 */
export const resourceVersionPrecondition = (resourceVersion: string): JsonPatchOperation => ({
  op: "replace",
  path: ResourceVersionPath,
  value: resourceVersion,
});

/** Escapes one JSON-pointer segment (RFC 6901): `~` -> `~0`, `/` -> `~1`. */
export const escapePointerSegment = (segment: string): string =>
  segment.replaceAll("~", "~0").replaceAll("/", "~1");

/** Inverse of {@link escapePointerSegment}. */
export const unescapePointerSegment = (segment: string): string =>
  segment.replaceAll("~1", "/").replaceAll("~0", "~");

/** `["metadata", "annotations", "a/b"]` -> `/metadata/annotations/a~1b`. */
export const jsonPointer = (segments: ReadonlyArray<string | number>): string =>
  segments.map((segment) => `/${escapePointerSegment(String(segment))}`).join("");

/** A patch that cannot be applied to a document (a missing path, a failed `test`). */
export class JsonPatchFailed extends Data.TaggedError("JsonPatchFailed")<{
  /** Index of the offending operation in the patch. */
  readonly index: number | undefined;
  /** `fast-json-patch`'s error name, e.g. `OPERATION_PATH_UNRESOLVABLE`, `TEST_OPERATION_FAILED`. */
  readonly reason: string;
  readonly detail: string;
}> {
  override get message(): string {
    return `JSON patch operation ${this.index ?? "?"} failed (${this.reason}): ${this.detail}`;
  }
}

/**
 * Applies a patch to a copy of `document` (the input is never mutated), as the
 * API server would: all operations or none.
 */
export const applyJsonPatch = <A>(
  document: A,
  operations: ReadonlyArray<JsonPatchOperation>,
): Either.Either<A, JsonPatchFailed> =>
  Either.try({
    try: () =>
      jsonPatch.applyPatch(
        document,
        jsonPatch.deepClone(operations) as Array<jsonPatch.Operation>,
        true,
        false,
      ).newDocument,
    catch: (error) =>
      error instanceof jsonPatch.JsonPatchError
        ? new JsonPatchFailed({ index: error.index, reason: error.name, detail: error.message })
        : new JsonPatchFailed({ index: undefined, reason: "Unknown", detail: String(error) }),
  });
