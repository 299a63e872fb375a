/**
 * @packageDocumentation
 * effect/Schema types for the Odigos CRDs and the slices of Kubernetes workloads
 * the instrumentor reads; constants; runtime-object naming; generated CRD manifests.
 *
 * @module @odigos/crd-types
 */
export * from "./constants.js";
export * from "./crds.js";
export * from "./decode.js";
export * from "./decoders.js";
export * from "./kubernetes.js";
export * from "./naming.js";
export * from "./odigos.js";
export * from "./resources.js";
