/**
 * @packageDocumentation
 * Pure rules of the Odigos instrumentor (SPEC sections 2 to 4): opt-in markers
 * and inheritance, the three conditions, the final decision with its reason,
 * and the desired device set. No I/O, no Kubernetes client.
 *
 * @module @odigos/instrumentation-rules
 */
export * from "./decision.js";
export * from "./devices.js";
export * from "./intent.js";
export * from "./opt-in.js";
export * from "./rollout.js";
export type * from "./types.js";
