import { defineConfig, mergeConfig } from "vitest/config";

/**
 * Tests wait for evidence (`eventually`), never for time. CI runs every package's tests, the
 * end-to-end suite and, on a first run, Go builds at once on 2 cores: a test that takes 0.5 s on a
 * quiet machine took over 10 s there, past vitest's default 5 s. The bound is a safety net, not a
 * figure: a test that hangs still fails.
 */
export const unitTestTimeoutMs = 30_000;

/** The unit-test configuration of a workspace package, with `overrides` merged over it. */
export const unitTestConfig = (overrides = {}) =>
  mergeConfig(
    defineConfig({
      test: {
        include: ["src/**/*.test.ts"],
        testTimeout: unitTestTimeoutMs,
        hookTimeout: unitTestTimeoutMs,
      },
    }),
    overrides,
  );
