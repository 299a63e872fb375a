import { describe, expect, it } from "@effect/vitest";
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import { eventually } from "./eventually.js";

describe("eventually", () => {
  it.live("succeeds with the probe's first value that is not undefined or false", () =>
    Effect.gen(function* () {
      let calls = 0;
      const value = yield* eventually(() => {
        calls += 1;
        return calls >= 3 ? `after ${calls}` : calls === 1 ? undefined : false;
      }, "the third call");
      expect(value).toBe("after 3");
    }),
  );

  it.live("dies naming what it waited for once the time is up", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(eventually(() => false, "a thing that never comes", 20));
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain(
        "timed out waiting for a thing that never comes",
      );
    }),
  );
});
