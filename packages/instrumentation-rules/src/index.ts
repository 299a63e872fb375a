/**
 * @packageDocumentation
 * Pure rules of the Odigos instrumentor (SPEC sections 2 to 4, and the pure part of
 * section 8): opt-in markers and inheritance, the three conditions, the final decision
 * with its reason, the desired device set and what to do with a workload's devices; and
 * for rollouts, when a workload's rollout is complete, the rollout and rollback records
 * kept in its annotations, the fingerprint of an instrumentation's inputs, what a pod
 * says about its revision's health, and who removed a workload's devices in a fight. No
 * I/O, no Kubernetes client, no clock.
 *
 * @module @odigos/instrumentation-rules
 */
export * from "./decision.js";
export * from "./devices.js";
export * from "./fight.js";
export * from "./intent.js";
export * from "./judge.js";
export * from "./opt-in.js";
export * from "./rollout.js";
export * from "./status.js";
export * from "./status-report.js";
export type * from "./types.js";
