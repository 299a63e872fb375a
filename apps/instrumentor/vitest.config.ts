import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Tests wait for evidence (`eventually`), never for time; several of them wait for a few
    // reconciles in a row, which on a loaded 2-core machine (CI runs every package's tests and
    // the end-to-end suite at once) take longer than vitest's default 5 s. The bound is a safety
    // net, not a figure.
    testTimeout: 30_000,
  },
});
