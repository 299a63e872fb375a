/**
 * Typed failures of a write to the Kubernetes API, shared by every library that
 * declares a writing service, so callers handle one vocabulary.
 */
import * as Data from "effect/Data";

/** Which object a write was for, e.g. `Deployment shop/cart`. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
}

const describe = (object: ObjectRef): string =>
  `${object.kind} ${object.namespace === undefined ? object.name : `${object.namespace}/${object.name}`}`;

/** 404: the object is gone. */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly object: ObjectRef }> {
  override get message(): string {
    return `${describe(this.object)} not found`;
  }
}

/** 409, or a failed precondition: the object changed since it was read. Retry from a fresh read. */
export class Conflict extends Data.TaggedError("Conflict")<{
  readonly object: ObjectRef;
  readonly detail: string;
}> {
  override get message(): string {
    return `${describe(this.object)} changed concurrently: ${this.detail}`;
  }
}

/** 403: the credentials may not do this. Not retried quickly: RBAC must change. */
export class Forbidden extends Data.TaggedError("Forbidden")<{
  readonly object: ObjectRef;
  readonly verb: string;
  readonly detail: string;
}> {
  override get message(): string {
    return `forbidden to ${this.verb} ${describe(this.object)}: ${this.detail}`;
  }
}

/** 422 / 400: the server rejected the content of the write. */
export class Invalid extends Data.TaggedError("Invalid")<{
  readonly object: ObjectRef;
  readonly detail: string;
}> {
  override get message(): string {
    return `${describe(this.object)} rejected as invalid: ${this.detail}`;
  }
}

/** Anything else: network failure, 5xx, 429, timeout. Retried with backoff. */
export class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly object: ObjectRef;
  readonly detail: string;
}> {
  override get message(): string {
    return `could not write ${describe(this.object)}: ${this.detail}`;
  }
}

/** Every way a write to the API server can fail. */
export type WriteError = NotFound | Conflict | Forbidden | Invalid | Unavailable;

/** `Deployment shop/cart` */
export const describeObject = describe;
