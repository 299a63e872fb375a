import * as Either from "effect/Either";
import {
  decodeInstrumentedApplication,
  parseRuntimeObjectName,
  runtimeObjectName,
} from "../index.js";

// Raw JSON, as any Kubernetes client returns it.
const raw = {
  apiVersion: "odigos.io/v1alpha1",
  kind: "InstrumentedApplication",
  metadata: { name: "deployment-cart", namespace: "shop", uid: "u1", resourceVersion: "9" },
  spec: {
    languages: [
      { containerName: "app", language: "rust" },
      { containerName: "side", language: "go" },
    ],
  },
};

// A bad language entry is skipped and named; the others still count.
const decoded = Either.getOrThrow(decodeInstrumentedApplication(raw));
console.log(decoded.spec?.languages); // [ { containerName: 'side', language: 'go' } ]
const [skipped] = decoded.skippedLanguages;
console.log(skipped?.path); // spec.languages[0].language
console.log(skipped?.message); // Expected "java" | "python" | "go" | "dotnet" | "javascript", actual "rust"

// An object of the wrong shape fails as a whole, naming the object and every failing path.
const broken = decodeInstrumentedApplication({ ...raw, spec: { languages: "go" } });
if (Either.isLeft(broken)) {
  console.log(broken.left.objectName); // InstrumentedApplication shop/deployment-cart
  console.log(broken.left.issues.map((issue) => issue.path)); // [ 'spec.languages' ]
}

console.log(runtimeObjectName("StatefulSet", "db-0")); // statefulset-db-0
console.log(runtimeObjectName("CronJob", "nightly")); // cronjob-nightly
const parsed = parseRuntimeObjectName("statefulset-db-0");
console.log(Either.getOrThrow(parsed)); // { kind: 'StatefulSet', name: 'db-0' }
const invalid = parseRuntimeObjectName("job-x");
console.log(Either.isLeft(invalid) && invalid.left.message); // runtime details name "job-x" has kind prefix "job", expected one of deployment, statefulset, daemonset, cronjob, rollout
