import { defineConfig } from "vitest/config";
import e2e from "./vitest.config.js";

// The image test (`make image` runs it after building the image, with ODIGOS_IMAGE set): the
// same control plane and settings as the e2e suite, its own files only, never part of `pnpm test`.
export default defineConfig({
  test: { ...e2e.test, include: ["src/**/*.image-test.ts"] },
});
