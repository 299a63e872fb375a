import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that need what the global setup builds in the background on a first run (the Argo
 * Rollouts controller, Prometheus) run last: the others run while it builds.
 */
const lastFolders = ["/src/argo/", "/src/monitoring/"];
class BuildsLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (file: TestSpecification) =>
      lastFolders.some((folder) => file.moduleId.includes(folder));
    return [...sorted.filter((file) => !last(file)), ...sorted.filter(last)];
  }
}

// Builds or reuses the binaries and starts one control plane per run; tests share it, isolated by namespace.
export default defineConfig({
  test: {
    include: ["src/**/*.e2e.test.ts"],
    // globalSetup itself has no timeout in vitest 3 (a cold binary build takes 5-15 min); these bound the tests.
    globalSetup: ["./src/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    pool: "forks",
    // Each instrumentor scenario runs its own instrumentor, which watches workloads cluster-wide:
    // two at once would both act on every opted-in workload. Files therefore run one at a time.
    fileParallelism: false,
    sequence: { sequencer: BuildsLastSequencer },
  },
});
