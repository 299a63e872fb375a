import type { ViteUserConfig } from "vitest/config";

/** The bound on one unit test or hook, in milliseconds: a safety net, not a figure. */
export declare const unitTestTimeoutMs: number;

/** The unit-test configuration of a workspace package, with `overrides` merged over it. */
export declare const unitTestConfig: (overrides?: ViteUserConfig) => ViteUserConfig;
