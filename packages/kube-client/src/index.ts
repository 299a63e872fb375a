/**
 * @packageDocumentation
 * The Kubernetes API as an Effect service: `KubeClient` (typed requests, watches as `Stream`s,
 * tagged errors), its live layer over Node's HTTP client, credentials from the cluster or a
 * kubeconfig, REST coordinates of the built-in kinds, and the write-error vocabulary libraries
 * declare. The in-memory fake API server is at `@odigos/kube-client/testing`.
 *
 * @module @odigos/kube-client
 */
export * from "./client.js";
export * from "./credentials.js";
export * from "./errors.js";
export * from "./list-all.js";
export { type KubeClientOptions, layer, makeKubeClient } from "./live.js";
export * from "./resource.js";
