/**
 * How a request to the API server fails: no answer at all ({@link KubeTransportError}) or an
 * answer that is not 2xx ({@link KubeStatusError}, with the HTTP code and the `reason` of the
 * Kubernetes `Status`). Every method of `KubeClient` fails with exactly these two.
 */
import * as Data from "effect/Data";

/** No HTTP answer: connection refused or reset, TLS failure, a timeout, a watch idle past its deadline. */
export class KubeTransportError extends Data.TaggedError("KubeTransportError")<{
  readonly method: string;
  readonly path: string;
  readonly detail: string;
}> {
  override get message(): string {
    return `${this.method} ${this.path}: ${this.detail}`;
  }
}

/** A non-2xx answer (or a watch `ERROR` event), with the `Status` the API server sent. */
export class KubeStatusError extends Data.TaggedError("KubeStatusError")<{
  readonly method: string;
  readonly path: string;
  /** HTTP status code, e.g. 404, 409, 410, 429. */
  readonly code: number;
  /** `reason` of the `Status` body, e.g. `NotFound`, `Conflict`, `Expired`, `AlreadyExists`. */
  readonly reason: string | undefined;
  /** `message` of the `Status` body, or the raw body when it was not a `Status`. */
  readonly detail: string;
}> {
  override get message(): string {
    return `${this.method} ${this.path}: HTTP ${this.code}${this.reason === undefined ? "" : ` ${this.reason}`}: ${this.detail}`;
  }
}

/** Every way a `KubeClient` call fails. */
export type KubeError = KubeTransportError | KubeStatusError;

/** True for a {@link KubeStatusError} with this HTTP code. */
export const hasStatus = (error: KubeError, code: number): boolean =>
  error._tag === "KubeStatusError" && error.code === code;

/** Builds the error of a non-2xx answer from its (parsed or raw) body. */
export const statusError = (
  method: string,
  path: string,
  code: number,
  body: unknown,
): KubeStatusError => {
  const status = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const reason = typeof status.reason === "string" ? status.reason : undefined;
  const detail =
    typeof status.message === "string"
      ? status.message
      : typeof body === "string" && body !== ""
        ? body.slice(0, 500)
        : `HTTP ${code}`;
  return new KubeStatusError({ method, path, code, reason, detail });
};

// ---------------------------------------------------------------------------------------------
// The vocabulary libraries declare for their writes: what a caller decides on, not HTTP codes.

/** Which object a write was for, e.g. `Deployment shop/cart`. */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
}

/** `Deployment shop/cart` */
export const describeObject = (object: ObjectRef): string =>
  `${object.kind} ${object.namespace === undefined ? object.name : `${object.namespace}/${object.name}`}`;

/** 404: the object is gone. */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly object: ObjectRef }> {
  override get message(): string {
    return `${describeObject(this.object)} not found`;
  }
}

/** 409, or a failed precondition: the object changed since it was read. Retry from a fresh read. */
export class Conflict extends Data.TaggedError("Conflict")<{
  readonly object: ObjectRef;
  readonly detail: string;
}> {
  override get message(): string {
    return `${describeObject(this.object)} changed concurrently: ${this.detail}`;
  }
}

/** 403: the credentials may not do this. Not retried quickly: RBAC must change. */
export class Forbidden extends Data.TaggedError("Forbidden")<{
  readonly object: ObjectRef;
  readonly verb: string;
  readonly detail: string;
}> {
  override get message(): string {
    return `forbidden to ${this.verb} ${describeObject(this.object)}: ${this.detail}`;
  }
}

/** 422 / 400: the server rejected the content of the write. */
export class Invalid extends Data.TaggedError("Invalid")<{
  readonly object: ObjectRef;
  readonly detail: string;
}> {
  override get message(): string {
    return `${describeObject(this.object)} rejected as invalid: ${this.detail}`;
  }
}

/** Anything else: no answer, 5xx, 429, a timeout. Retried with backoff. */
export class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly object: ObjectRef;
  readonly detail: string;
}> {
  override get message(): string {
    return `could not write ${describeObject(this.object)}: ${this.detail}`;
  }
}

/** Every way a write to the API server can fail, as a caller decides on it. */
export type WriteError = NotFound | Conflict | Forbidden | Invalid | Unavailable;

/** Maps a failed `KubeClient` call to the {@link WriteError} a caller decides on. */
export const toWriteError = (error: KubeError, object: ObjectRef, verb: string): WriteError => {
  if (error._tag === "KubeTransportError") return new Unavailable({ object, detail: error.detail });
  switch (error.code) {
    case 404:
      return new NotFound({ object });
    case 409:
      return new Conflict({ object, detail: error.detail });
    case 403:
      return new Forbidden({ object, verb, detail: error.detail });
    case 400:
    case 422:
      return new Invalid({ object, detail: error.detail });
    default:
      return new Unavailable({ object, detail: error.message });
  }
};
