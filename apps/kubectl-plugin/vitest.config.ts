import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Tests wait for evidence (`eventually`), never for time; on a loaded 2-core machine (CI runs
    // every package's tests and the end-to-end suite at once) the stand-in's watches can take
    // longer than vitest's default 5 s to sync. The bound is a safety net, not a figure.
    testTimeout: 30_000,
  },
});
