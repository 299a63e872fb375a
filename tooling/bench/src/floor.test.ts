import { workloadResource } from "@odigos/crd-types";
import { FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import { describe, expect, it } from "vitest";
import { patchAll } from "./floor.js";
import {
  carries,
  expectedDevices,
  hasAnyDevice,
  keyOf,
  planWorkloads,
  stateOf,
  type WorkloadSpec,
  type WorkloadState,
  workloadManifest,
} from "./workloads.js";

describe("patchAll, the floor's pass", () => {
  // Every kind: a Rollout (3), StatefulSets (4, 14), a CronJob (11), a DaemonSet (19).
  const specs = planWorkloads(20, 2, true);
  const desired = new Map(specs.map((spec) => [keyOf(spec), expectedDevices(spec)]));
  const seeded = () => {
    const cluster = new FakeApiServer();
    for (const spec of specs) cluster.put(workloadResource(spec.kind), workloadManifest(spec));
    const read = (spec: WorkloadSpec): WorkloadState => {
      const state = stateOf(
        spec.kind,
        cluster.get(workloadResource(spec.kind), spec.name, spec.namespace),
      );
      if (state === undefined) throw new Error(`${keyOf(spec)} is not a workload`);
      return state;
    };
    return { cluster, read, client: { ...cluster.client, close: () => {} } };
  };

  it("patches every workload to carry its devices, then none, one patch each", async () => {
    const { cluster, read, client } = seeded();
    const copies = () => new Map(specs.map((spec) => [keyOf(spec), read(spec)]));
    let current = copies();
    const work = { client, workload: (key: string) => current.get(key), specs, desired };
    await patchAll(work, 3, true);
    for (const spec of specs)
      expect(carries(read(spec), desired.get(keyOf(spec)) ?? {})).toBe(true);
    expect(cluster.writes({ verb: "patch" })).toHaveLength(specs.length);
    current = copies();
    await patchAll(work, 3, false);
    for (const spec of specs) expect(hasAnyDevice(read(spec))).toBe(false);
    expect(cluster.writes({ verb: "patch" })).toHaveLength(2 * specs.length);
  });

  it("retries a stale copy (409) after refresh, and the object gets the patch", async () => {
    const { cluster, read, client } = seeded();
    const current = new Map(specs.map((spec) => [keyOf(spec), read(spec)]));
    const [stale] = specs;
    if (stale === undefined) throw new Error("no workloads planned");
    // Someone else writes it after the copy was taken: the copy's resourceVersion is stale.
    cluster.update(workloadResource(stale.kind), stale.name, stale.namespace, {
      metadata: { labels: { touched: "yes" } },
    });
    const refreshed: string[] = [];
    await patchAll(
      {
        client,
        workload: (key) => current.get(key),
        refresh: (spec) =>
          Effect.sync(() => {
            refreshed.push(keyOf(spec));
            current.set(keyOf(spec), read(spec));
          }),
        specs,
        desired,
      },
      2,
      true,
    );
    expect(refreshed).toEqual([keyOf(stale)]);
    for (const spec of specs)
      expect(carries(read(spec), desired.get(keyOf(spec)) ?? {})).toBe(true);
  });
});
