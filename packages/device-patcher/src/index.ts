/**
 * @packageDocumentation
 * SPEC sections 4 and 6: desired instrumentation devices -> the smallest JSON
 * Patch of a workload's pod template, guarded by a resourceVersion
 * precondition; the Effect program that applies it through a `WorkloadPatcher`
 * service, and its live layer over `@odigos/kube-client`'s `KubeClient`.
 *
 * @module @odigos/device-patcher
 */
export * from "./json-patch.js";
export * from "./patcher.js";
export * from "./plan.js";
