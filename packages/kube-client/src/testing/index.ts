/**
 * @packageDocumentation
 * `@odigos/kube-client/testing`: {@link FakeApiServer}, an API server in memory behind the
 * `KubeClient` interface, for unit tests of anything that talks to a cluster, and
 * {@link eventually} to wait for what its watches deliver.
 *
 * @module @odigos/kube-client/testing
 */
export { eventually } from "./eventually.js";
export {
  FakeApiServer,
  type RecordedRequest,
  type RequestMatcher,
  type Verb,
} from "./fake-api-server.js";
