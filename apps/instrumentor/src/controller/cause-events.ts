/**
 * One Event per cause: when collectors readiness or `odigos-config` changes, the workloads it
 * moves are counted and reported once, on the object that changed, when the burst is over,
 * instead of one Normal Event per workload (which doubles the API server's work in a mass
 * change). A workload still gets its own Events for its own causes and problems.
 *
 * Under a rollout budget a change moves its workloads in waves, as slots free: a workload the
 * change moves that waits for a slot keeps the burst open, so the change is still one Event,
 * sent once the last of them is written (or after `maxBurstMs`, with what was written so far,
 * when a rollout never frees its slot).
 */
import { type WorkloadRef, workloadKey } from "@odigos/crd-types";
import * as Clock from "effect/Clock";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { EventRecorder } from "../observability/events.js";
import { Log } from "../observability/log.js";
import type { GlobalChange } from "./event-handlers.js";

export type CauseAction = "Instrumented" | "Uninstrumented";

export interface CauseEventsApi {
  /** Counts a workload that `change` moved; reported with the others once the burst is over. */
  readonly record: (change: GlobalChange, ref: WorkloadRef, action: CauseAction) => void;
  /** A workload that `change` moves waits for a rollout slot: the burst is not over before it is written. */
  readonly waiting: (change: GlobalChange, ref: WorkloadRef) => void;
}

export class CauseEvents extends Context.Tag("@odigos/instrumentor/CauseEvents")<
  CauseEvents,
  CauseEventsApi
>() {}

/** A burst is over when no workload was added to it for this long. */
export const quietMs = 3_000;
/** A burst that workloads waiting for a slot keep open is reported after this long anyway. */
export const maxBurstMs = 5 * 60_000;
const sampleSize = 5;

interface Tally {
  readonly change: GlobalChange;
  readonly counts: Record<CauseAction, number>;
  readonly sample: Array<string>;
  /** Workloads the change moves that wait for a rollout slot. */
  readonly waiting: Set<string>;
  readonly first: number;
  last: number;
}

/** The note of the Event: what changed, how many workloads it moved, a few of their names. */
export const describeTally = (tally: Pick<Tally, "change" | "counts" | "sample">): string => {
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
      if (tally.counts.Instrumented + tally.counts.Uninstrumented === 0) return;
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
    const over = (tally: Tally, now: number) =>
      (tally.waiting.size === 0 && tally.last <= now - quietMs) || tally.first <= now - maxBurstMs;
    const flush = (now: number) => {
      for (const tally of [...tallies.values()]) if (over(tally, now)) report(tally);
    };
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Effect.sleep(quietMs / 3);
          flush(yield* Clock.currentTimeMillis);
        }),
      ),
    );
    yield* Effect.addFinalizer(() => Effect.sync(() => flush(Number.POSITIVE_INFINITY)));
    const clock = yield* Effect.clock;
    const tallyOf = (change: GlobalChange): Tally => {
      let tally = tallies.get(change);
      if (tally === undefined) {
        const now = clock.unsafeCurrentTimeMillis();
        tally = {
          change,
          counts: { Instrumented: 0, Uninstrumented: 0 },
          sample: [],
          waiting: new Set(),
          first: now,
          last: now,
        };
        tallies.set(change, tally);
      }
      return tally;
    };

    return {
      record: (change, ref, action) => {
        const tally = tallyOf(change);
        tally.waiting.delete(workloadKey(ref));
        tally.counts[action] += 1;
        if (tally.sample.length < sampleSize) tally.sample.push(`${ref.namespace}/${ref.name}`);
        tally.last = clock.unsafeCurrentTimeMillis();
      },
      waiting: (change, ref) => {
        tallyOf(change).waiting.add(workloadKey(ref));
      },
    };
  }),
);
