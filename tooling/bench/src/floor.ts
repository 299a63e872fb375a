/**
 * The floor's work: every workload patched to carry its devices (or none), from a watch's copy,
 * as a bare client would do it. Run in the benchmark's own process (the floor passes) and in a
 * fresh process of its own (`fresh-floor-main.ts`: a cold floor to judge a cold instrumentor by).
 */
import { workloadResource } from "@odigos/crd-types";
import { hasStatus } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import * as Schedule from "effect/Schedule";
import { type BenchClient, pool, send } from "./meter.js";
import { devicePatch, keyOf, type WorkloadSpec, type WorkloadState } from "./workloads.js";

/**
 * Sends the patch that gives one workload exactly `devices` (`{}`: none) from `state`, its copy
 * as the watch has it; resolves with when it was sent (`performance.now()`), or `undefined`
 * when there is nothing to change.
 */
export const sendDevicePatch = async (
  client: BenchClient,
  spec: WorkloadSpec,
  state: WorkloadState | undefined,
  devices: Readonly<Record<string, ReadonlyArray<string>>>,
): Promise<number | undefined> => {
  const operations = state === undefined ? undefined : devicePatch(state, devices);
  if (operations === undefined) return undefined;
  const started = performance.now();
  await send(
    client.patch(
      workloadResource(spec.kind),
      spec.name,
      { type: "json", operations },
      { namespace: spec.namespace },
    ),
  );
  return started;
};

export interface FloorWork {
  readonly client: BenchClient;
  /** The copy of a workload a patch is made from (a watch's, as the instrumentor's cache). */
  readonly workload: (key: string) => WorkloadState | undefined;
  /** On a 409, makes `workload` fresher before the retry (a watch does it by itself). */
  readonly refresh?: (spec: WorkloadSpec) => Effect.Effect<void>;
  readonly specs: ReadonlyArray<WorkloadSpec>;
  readonly desired: ReadonlyMap<string, Readonly<Record<string, ReadonlyArray<string>>>>;
}

/**
 * Patches every workload to `ready` (its devices) or not with `concurrency` in flight, as fast as
 * the server takes it; resolves when every patch was answered.
 */
export const patchAll = (work: FloorWork, concurrency: number, ready: boolean): Promise<void> =>
  pool(work.specs, concurrency, async (spec) => {
    const key = keyOf(spec);
    // From the watch's copy, as the instrumentor patches from its cache; a 409 (the copy is not
    // the latest version yet) is retried from a fresher copy.
    const patchFromWatch = Effect.suspend(() => {
      const state = work.workload(key);
      if (state === undefined) return Effect.dieMessage(`${key} is not in the watch cache`);
      const operations = devicePatch(state, ready ? (work.desired.get(key) ?? {}) : {});
      if (operations === undefined) return Effect.void;
      return work.client.patch(
        workloadResource(spec.kind),
        spec.name,
        { type: "json", operations },
        { namespace: spec.namespace },
      );
    });
    await send(
      patchFromWatch.pipe(
        Effect.tapError((error) =>
          hasStatus(error, 409) && work.refresh !== undefined ? work.refresh(spec) : Effect.void,
        ),
        Effect.retry({
          while: (error) => hasStatus(error, 409),
          times: 20,
          schedule: Schedule.spaced("5 millis"),
        }),
      ),
    );
  });
