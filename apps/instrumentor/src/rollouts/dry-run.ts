/**
 * `--dry-run`: every write the instrumentor would make, per workload with the reason, and the
 * totals; nothing is written. The plan is level-based like everything else: each reconcile
 * replaces what its workload would get, so the report is always "what a real run would do now".
 */
import { type WorkloadRef, workloadKey } from "@odigos/crd-types";
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { Config } from "../config.js";
import { Routes } from "../observability/health.js";
import { Log } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";

/** One write a real run would make. */
export interface PlannedWrite {
  readonly verb: "patch" | "delete";
  /** e.g. `instrument`, `uninstrument`, `rollback`, `delete runtime details`, `remove reported name`. */
  readonly action: string;
  readonly reason: string;
  readonly detail: string;
}

export interface DryRunApi {
  readonly enabled: boolean;
  /** What a real run would write for this workload now (nothing: an empty list). */
  readonly plan: (ref: WorkloadRef, writes: ReadonlyArray<PlannedWrite>) => void;
  readonly report: () => {
    readonly workloads: ReadonlyArray<
      WorkloadRef & { readonly writes: ReadonlyArray<PlannedWrite> }
    >;
    readonly totals: Readonly<Record<string, number>>;
  };
}

export class DryRun extends Context.Tag("@odigos/instrumentor/DryRun")<DryRun, DryRunApi>() {}

/** How often the totals line is logged while the plan changes. */
const totalsEveryMs = 2_000;

/** The dry run; with `--dry-run` it serves `/dry-run` (the report, as JSON) beside `/metrics`. */
export const DryRunLive: Layer.Layer<DryRun, never, Config | Log | Metrics | Routes> = Layer.scoped(
  DryRun,
  Effect.gen(function* () {
    const { dryRun } = yield* Config;
    const log = yield* Log;
    const metrics = yield* Metrics;
    const planned = new Map<
      string,
      { readonly ref: WorkloadRef; readonly writes: ReadonlyArray<PlannedWrite> }
    >();
    let changed = false;
    const report = () => {
      const workloads = [...planned.values()].map(({ ref, writes }) => ({ ...ref, writes }));
      const totals: Record<string, number> = { workloads: workloads.length };
      for (const { writes } of workloads)
        for (const write of writes) totals[write.action] = (totals[write.action] ?? 0) + 1;
      return { workloads, totals };
    };
    if (dryRun) {
      (yield* Routes).register(
        "/dry-run",
        Effect.sync(() => ({
          status: 200,
          contentType: "application/json",
          body: `${JSON.stringify(report(), null, 1)}\n`,
        })),
      );
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.gen(function* () {
            yield* Effect.sleep(totalsEveryMs);
            if (!changed) return;
            changed = false;
            const { totals } = report();
            log.info(
              { reason: "DryRun", ...totals },
              `dry run: a real run would write to ${totals.workloads} workloads now (nothing was written)`,
            );
          }),
        ),
      );
    }
    return {
      enabled: dryRun,
      plan: (ref, writes) => {
        const key = workloadKey(ref);
        const before = JSON.stringify(planned.get(key)?.writes ?? []);
        if (writes.length === 0) planned.delete(key);
        else planned.set(key, { ref, writes });
        if (before === JSON.stringify(writes)) return;
        changed = true;
        for (const write of writes)
          log.info(
            {
              workload: ref.name,
              namespace: ref.namespace,
              kind: ref.kind,
              reason: write.reason,
              action: write.action,
              detail: write.detail,
            },
            `dry run: would ${write.action} (${write.verb})`,
          );
        metrics.dryRunWrites.reset();
        for (const [verb, count] of Object.entries(countByVerb(planned)))
          metrics.dryRunWrites.set({ verb }, count);
      },
      report,
    } satisfies DryRunApi;
  }),
);

const countByVerb = (planned: Map<string, { readonly writes: ReadonlyArray<PlannedWrite> }>) => {
  const counts: Record<string, number> = {};
  for (const { writes } of planned.values())
    for (const write of writes) counts[write.verb] = (counts[write.verb] ?? 0) + 1;
  return counts;
};
