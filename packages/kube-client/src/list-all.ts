/** Every page of a list, as one array with the version to watch from. */
import * as Effect from "effect/Effect";
import { KubeClient, type KubeObject, type ListOptions } from "./client.js";
import type { KubeError } from "./errors.js";
import type { Resource } from "./resource.js";

/** Lists every page (500 items each unless `limit` says otherwise). */
export const listAll = (
  resource: Resource,
  options: Omit<ListOptions, "continue"> = {},
): Effect.Effect<
  { readonly items: ReadonlyArray<KubeObject>; readonly resourceVersion: string },
  KubeError,
  KubeClient
> =>
  Effect.flatMap(KubeClient, (client) =>
    Effect.gen(function* () {
      const items: Array<KubeObject> = [];
      let next: string | undefined;
      let resourceVersion = "";
      do {
        const page = yield* client.list(resource, { limit: 500, ...options, continue: next });
        items.push(...page.items);
        resourceVersion = page.resourceVersion;
        next = page.continue;
      } while (next !== undefined);
      return { items, resourceVersion };
    }),
  );
