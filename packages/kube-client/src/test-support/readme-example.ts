import * as Effect from "effect/Effect";
import * as Stream from "effect/Stream";
import { KubeClient, listAll, Resources, toWriteError } from "../index.js";
import { FakeApiServer } from "../testing/index.js";

// A program that needs a cluster asks for the KubeClient service…
const program = Effect.gen(function* () {
  const client = yield* KubeClient;
  yield* client.create(Resources.Deployment, {
    metadata: { name: "cart", namespace: "shop", labels: { app: "cart" } },
    spec: { template: { spec: { containers: [{ name: "app", image: "cart:1" }] } } },
  });
  const { items, resourceVersion } = yield* listAll(Resources.Deployment, { namespace: "shop" });
  const names = items.map((item) => item.metadata.name);
  console.log(names, resourceVersion); // [ 'cart' ] 1
  // A JSON patch whose first operation pins resourceVersion is refused (409) when it is stale.
  const stale = yield* client
    .patch(
      Resources.Deployment,
      "cart",
      {
        type: "json",
        operations: [
          { op: "replace", path: "/metadata/resourceVersion", value: "0" },
          { op: "add", path: "/metadata/annotations", value: { team: "shop" } },
        ],
      },
      { namespace: "shop" },
    )
    .pipe(Effect.flip);
  console.log(stale._tag, stale._tag === "KubeStatusError" && stale.code); // KubeStatusError 409
  console.log(toWriteError(stale, { kind: "Deployment", name: "cart" }, "patch")._tag); // Conflict
  // Watches are Streams: here, what happened after the list.
  const events = client.watch(Resources.Deployment, { namespace: "shop", resourceVersion });
  yield* client.delete(Resources.Deployment, "cart", { namespace: "shop" });
  const [first] = yield* Stream.runCollect(Stream.take(events, 1));
  console.log(first?.type, first?.object.metadata.name); // DELETED cart
});

// …and gets one: in tests the in-memory fake API server; in production
// `layer(credentials, { userAgent })` with credentials from `loadCredentials()`.
const cluster = new FakeApiServer();
await Effect.runPromise(Effect.provide(program, cluster.layer));
console.log(cluster.writes().map((write) => write.verb)); // [ 'create', 'delete' ]
