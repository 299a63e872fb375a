import {
  decodeCollectorsGroup,
  decodeDeployment,
  decodeInstrumentedApplication,
  decodeNamespace,
  decodeOdigosConfiguration,
  odigosNamespaceFrom,
} from "@odigos/crd-types";
import * as Either from "effect/Either";
import {
  collectorsReady,
  deviceIntent,
  ignoredNamespaces,
  isOptedIn,
  shouldInstrument,
} from "../index.js";

// Raw JSON, as any Kubernetes client returns it, decoded at the edge.
const meta = (name: string, namespace: string) => ({
  name,
  namespace,
  uid: name,
  resourceVersion: "1",
});
const namespace = Either.getOrThrow(
  decodeNamespace({
    metadata: {
      name: "shop",
      uid: "ns",
      resourceVersion: "1",
      labels: { "odigos-instrumentation": "enabled" },
    },
  }),
);
const cart = Either.getOrThrow(
  decodeDeployment({
    metadata: meta("cart", "shop"),
    spec: { template: { spec: { containers: [{ name: "app" }, { name: "istio-proxy" }] } } },
  }),
);
const runtimeDetails = Either.getOrThrow(
  decodeInstrumentedApplication({
    metadata: meta("deployment-cart", "shop"),
    spec: {
      languages: [
        { containerName: "app", language: "go" },
        { containerName: "worker", language: "python" }, // no such container
      ],
    },
  }),
);
const dataCollection = Either.getOrThrow(
  decodeCollectorsGroup({
    metadata: meta("odigos-data-collection", "odigos-system"),
    spec: { role: "DATA_COLLECTION" },
    status: { ready: true },
  }),
);
const config = Either.getOrThrow(
  decodeOdigosConfiguration({
    metadata: meta("odigos-config", "odigos-system"),
    spec: {
      configVersion: 1,
      odigosVersion: "v1.0.0",
      defaultSDKs: { go: { sdkType: "ebpf", sdkTier: "community" } },
      ignoredNamespaces: ["kube-system"],
    },
  }),
);

// Section 2: opt-in, inherited from the namespace's legacy label.
const odigosNamespace = odigosNamespaceFrom(process.env);
const scope = { odigosNamespace, ignoredNamespaces: ignoredNamespaces(config, odigosNamespace) };
const optIn = isOptedIn({ namespace: "shop", metadata: cart.metadata }, namespace.metadata, scope);
console.log(optIn); // { optedIn: true, reason: 'NamespaceEnabled' }

// Section 3: the three conditions.
const decision = shouldInstrument({
  optIn,
  runtimeDetails,
  collectorsReady: collectorsReady([dataCollection]),
});
console.log(decision.instrument, decision.reason); // true Instrument

// Section 4: the devices each container should carry.
const containers = cart.spec.template.spec.containers;
const intent = deviceIntent(decision, containers, runtimeDetails, config);
if (intent._tag === "Instrument") {
  console.log(intent.devices); // { app: [ 'instrumentation.odigos.io/go-ebpf-community' ] }
  console.log(intent.problems.map((problem) => problem._tag)); // [ 'ContainerNotFound' ]
}

// Without a usable odigos-config nothing is added and nothing is removed.
const noConfig = deviceIntent(decision, containers, runtimeDetails, undefined);
console.log(noConfig); // { _tag: 'LeaveAsIs', reason: 'ConfigUnavailable' }

// The workload's own disabling annotation beats the namespace's opt-in.
const optedOut = isOptedIn(
  { namespace: "shop", metadata: { annotations: { "odigos.io/instrument": "false" } } },
  namespace.metadata,
  scope,
);
const removal = shouldInstrument({ optIn: optedOut, runtimeDetails, collectorsReady: true });
console.log(removal.reason, "-", removal.message); // NotOptedIn - the workload opts out
console.log(deviceIntent(removal, containers, runtimeDetails, config)); // { _tag: 'Uninstrument' }
