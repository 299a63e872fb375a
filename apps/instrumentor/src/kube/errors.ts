/** HTTP failures of writes, mapped to the typed errors the libraries declare. */
import {
  Conflict,
  Forbidden,
  Invalid,
  NotFound,
  type ObjectRef,
  Unavailable,
  type WriteError,
} from "@odigos/crd-types";
import { KubeRequestError } from "./http.js";

export const toWriteError = (error: unknown, object: ObjectRef, verb: string): WriteError => {
  if (!(error instanceof KubeRequestError)) {
    return new Unavailable({ object, detail: String(error) });
  }
  const detail = error.message;
  switch (error.status) {
    case 404:
      return new NotFound({ object });
    case 409:
      return new Conflict({ object, detail });
    case 403:
      return new Forbidden({ object, verb, detail });
    case 400:
    case 422:
      return new Invalid({ object, detail });
    default:
      return new Unavailable({ object, detail });
  }
};
