/** Waiting for evidence in unit tests over the fake API server (whose watches deliver soon, not at once). */
import * as Effect from "effect/Effect";

/**
 * Retries `probe` (a few ms apart, real time) until it returns something other than
 * `undefined` or `false`, and succeeds with that; dies naming `what` after `timeoutMs`.
 */
export const eventually = <A>(
  probe: () => A | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Effect.Effect<A> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`);
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)));
    }
  });
