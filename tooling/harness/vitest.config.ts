import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Each test spawns a Node process; a loaded machine needs more than the default 5 s.
    testTimeout: 30_000,
  },
});
