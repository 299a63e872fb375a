/**
 * @packageDocumentation
 * SPEC sections 4 and 6: desired instrumentation devices -> the smallest JSON
 * Patch of a workload's pod template, guarded by a resourceVersion
 * precondition; the Effect program that applies it through a `WorkloadPatcher`
 * service; an in-memory layer of that service for tests and other tools.
 *
 * @module @odigos/device-patcher
 */
export * from "./in-memory.js";
export * from "./json-patch.js";
export * from "./patcher.js";
export * from "./plan.js";
