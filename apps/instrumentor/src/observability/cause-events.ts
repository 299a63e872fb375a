/**
 * One Event per cause: when collectors readiness or `odigos-config` changes, the workloads it
 * moves are counted and reported once, on the object that changed, when the burst is over,
 * instead of one Normal Event per workload (which doubles the API server's work in a mass
 * change). A workload still gets its own Events for its own causes and problems.
 */
import type { WorkloadRef } from "@odigos/crd-types";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import type { GlobalChange } from "../cache/cluster-state.js";
import { EventRecorder } from "./events.js";
import { Log } from "./log.js";

export type CauseAction = "Instrumented" | "Uninstrumented";

export interface CauseEventsApi {
  /** Counts a workload that `change` moved; reported with the others once the burst is over. */
  readonly record: (change: GlobalChange, ref: WorkloadRef, action: CauseAction) => void;
}

export class CauseEvents extends Context.Tag("@odigos/instrumentor/CauseEvents")<
  CauseEvents,
  CauseEventsApi
>() {}

/** A burst is over when no workload was added to it for this long. */
export const quietMs = 3_000;
const sampleSize = 5;

interface Tally {
  readonly change: GlobalChange;
  readonly counts: Record<CauseAction, number>;
  readonly sample: Array<string>;
  last: number;
}

/** The note of the Event: what changed, how many workloads it moved, a few of their names. */
export const describeTally = (tally: Omit<Tally, "last">): string => {
  const parts = (["Instrumented", "Uninstrumented"] as const)
    .filter((action) => tally.counts[action] > 0)
    .map(
      (action) =>
        `${action === "Instrumented" ? "instrumented" : "un-instrumented"} ${tally.counts[action]} workload${tally.counts[action] === 1 ? "" : "s"}`,
    );
  const total = tally.counts.Instrumented + tally.counts.Uninstrumented;
  const more = total > tally.sample.length ? ", …" : "";
  const sample = [...tally.sample].sort().join(", ");
  return `${tally.change.description}: ${parts.join(", ")} (${sample}${more})`;
};

export const CauseEventsLive: Layer.Layer<CauseEvents, never, EventRecorder | Log> = Layer.scoped(
  CauseEvents,
  Effect.gen(function* () {
    const events = yield* EventRecorder;
    const log = yield* Log;
    const tallies = new Map<GlobalChange, Tally>();

    const report = (tally: Tally) => {
      tallies.delete(tally.change);
      const note = describeTally(tally);
      const { cause } = tally.change;
      const reason =
        tally.counts.Instrumented >= tally.counts.Uninstrumented
          ? "WorkloadsInstrumented"
          : "WorkloadsUninstrumented";
      log.info(
        { kind: cause.kind, namespace: cause.namespace, name: cause.name, reason, ...tally.counts },
        note,
      );
      events.normal(cause, reason, "Instrument", note);
    };
    const flush = (olderThan: number) => {
      for (const tally of [...tallies.values()]) if (tally.last <= olderThan) report(tally);
    };
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Effect.sleep(quietMs / 3);
          flush((yield* Clock.currentTimeMillis) - quietMs);
        }),
      ),
    );
    yield* Effect.addFinalizer(() => Effect.sync(() => flush(Number.POSITIVE_INFINITY)));
    const clock = yield* Effect.clock;

    return {
      record: (change, ref, action) => {
        let tally = tallies.get(change);
        if (tally === undefined) {
          tally = { change, counts: { Instrumented: 0, Uninstrumented: 0 }, sample: [], last: 0 };
          tallies.set(change, tally);
        }
        tally.counts[action] += 1;
        if (tally.sample.length < sampleSize) tally.sample.push(`${ref.namespace}/${ref.name}`);
        tally.last = clock.unsafeCurrentTimeMillis();
      },
    };
  }),
);
