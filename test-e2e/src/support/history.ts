/**
 * Raw API access through the project's one HTTP client (`@odigos/kube-client`), for what the typed
 * admin helpers cannot give: every version of an object, in the API server's order. A recorder
 * lists a resource, then watches it from the list's version, and keeps every event with its
 * resourceVersion (etcd's revision, one counter for every kind: events of different kinds sort
 * into the order they happened in).
 */
import {
  credentialsFromKubeconfig,
  hasStatus,
  KubeClient,
  type KubeClientApi,
  type KubeObject,
  listAll,
  makeKubeClient,
  type Resource,
} from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as Schedule from "effect/Schedule";
import * as Stream from "effect/Stream";
import { waitFor } from "./wait-for.js";

export type Client = KubeClientApi & { readonly close: () => void };

/** A client of the tests' own (User-Agent `odigos-e2e/…`: never counted as the instrumentor's). */
export const kubeClient = async (kubeconfigPath: string): Promise<Client> =>
  makeKubeClient(await Effect.runPromise(credentialsFromKubeconfig(kubeconfigPath)), {
    userAgent: `odigos-e2e/0.0.0 pid/${process.pid}`,
  });

/** One version of an object: as listed when recording began, or as a watch event delivered it. */
export interface Version {
  readonly type: "LISTED" | "ADDED" | "MODIFIED" | "DELETED";
  readonly resource: Resource;
  /** `<plural>/<namespace>/<name>`, or `<plural>/<name>` when cluster-scoped. */
  readonly key: string;
  /** The revision it was written at (for DELETED: the deletion's). */
  readonly revision: number;
  readonly object: KubeObject;
}

export const keyOf = (resource: Resource, object: KubeObject): string =>
  object.metadata.namespace === undefined
    ? `${resource.plural}/${object.metadata.name}`
    : `${resource.plural}/${object.metadata.namespace}/${object.metadata.name}`;

export interface Recorder {
  readonly resource: Resource;
  /** Every version so far, in revision order. */
  readonly versions: ReadonlyArray<Version>;
  /** Why the watch stopped, if it did (the recorder does not resume after a failure). */
  readonly failure: () => Error | undefined;
  /**
   * Waits until the recorded objects are exactly what a fresh list returns (same keys, same
   * versions): everything up to that list has been recorded. Fails if the watch failed.
   */
  readonly caughtUp: (timeoutMs?: number) => Promise<void>;
  readonly stop: () => void;
}

/** Records `resource` (in `namespace`, or everywhere) from now on. */
export const record = async (
  client: Client,
  resource: Resource,
  namespace?: string,
): Promise<Recorder> => {
  const versions: Version[] = [];
  const current = new Map<string, string>();
  let failure: Error | undefined;
  const add = (type: Version["type"], object: KubeObject) => {
    const key = keyOf(resource, object);
    const version = object.metadata.resourceVersion ?? "";
    versions.push({ type, resource, key, revision: Number(version), object });
    if (type === "DELETED") current.delete(key);
    else current.set(key, version);
  };
  const list = () =>
    Effect.runPromise(
      listAll(resource, { namespace }).pipe(Effect.provideService(KubeClient, client)),
    );
  const listed = await list();
  for (const object of [...listed.items].sort(
    (a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion),
  ))
    add("LISTED", object);
  let from = listed.resourceVersion;
  // A watch the server ends resumes from the last version, and so does one the server turns
  // away for now (429 "storage is (re)initializing": its watch cache of the resource is being
  // built, as just after a CRD is established; nothing is lost, the watch resumes from `from`);
  // any other failure stops the recording.
  const follow = Effect.forever(
    Effect.suspend(() =>
      Stream.runForEach(client.watch(resource, { namespace, resourceVersion: from }), (event) =>
        Effect.sync(() => {
          if (event.type !== "BOOKMARK") add(event.type, event.object);
          from = event.object.metadata.resourceVersion ?? from;
        }),
      ),
    ).pipe(
      Effect.retry({
        while: (error) => hasStatus(error, 429),
        schedule: Schedule.spaced("200 millis"),
        times: 150,
      }),
    ),
  ).pipe(
    Effect.catchAll((error) =>
      Effect.sync(() => {
        failure = new Error(`the recording of ${resource.plural} failed: ${error.message}`);
      }),
    ),
  );
  const fiber = Effect.runFork(follow);
  return {
    resource,
    versions,
    failure: () => failure,
    caughtUp: async (timeoutMs = 30_000) => {
      let differences: string[] = [];
      await waitFor(
        async () => {
          if (failure !== undefined) throw failure;
          const now = await list();
          const listedNow = new Map(
            now.items.map((item) => [keyOf(resource, item), item.metadata.resourceVersion ?? ""]),
          );
          differences = [
            ...[...listedNow].filter(([key, version]) => current.get(key) !== version),
            ...[...current].filter(([key]) => !listedNow.has(key)),
          ].map(([key, version]) => `${key}@${version}`);
          return differences.length === 0;
        },
        {
          timeoutMs,
          intervalMs: 50,
          description: `the recording of ${resource.plural} to catch up`,
        },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; behind on ${differences.slice(0, 5).join(", ")}`);
      });
    },
    stop: () => {
      Effect.runFork(Fiber.interrupt(fiber));
    },
  };
};
