/**
 * The ideal time of a mass rollout under the instrumentor's rollout budget (SPEC section 8):
 * if every rollout took exactly one rollout's time and the instrumentor reacted at once, `n`
 * workloads would roll in waves, and the whole change would take waves × that time.
 *
 * The waves are not re-derived here: they come from the instrumentor's own `RolloutBudget`,
 * driven with rollouts that all take the same time (a wave's rollouts complete together, and
 * the next wave is whatever the budget then grants). With a budget of 50 that is 1, 2, 4, 8, 16,
 * 32 (the slow start), then 50 at a time; unlimited is one wave of `n`.
 */

import { rollsOut, type WorkloadKind } from "@odigos/crd-types";
import { RolloutBudget } from "@odigos/instrumentor";
import type { Ideal } from "./types.js";

/** Wave sizes of `workloads` rollouts with `budget` (0 = unlimited), as the instrumentor grants them. */
export const rolloutWaves = (workloads: number, budget: number): number[] => {
  if (workloads <= 0) return [];
  const slots = new RolloutBudget(budget);
  let next = 0;
  let now = 0;
  /** Asks for slots oldest first, as the instrumentor's queue does, until one must wait. */
  const grant = (): string[] => {
    const granted: string[] = [];
    while (next < workloads) {
      const key = `w${next}`;
      if (slots.request(key, now)._tag !== "Granted") break;
      granted.push(key);
      next++;
    }
    return granted;
  };
  const waves: number[] = [];
  // Everyone needs a rollout at once (a mass change); those granted form the first wave.
  let wave = grant();
  while (wave.length > 0) {
    waves.push(wave.length);
    // The wave completes together, healthy; then whoever is next in line asks again.
    now += 1;
    for (const key of wave) slots.release(key, "completed", now);
    wave = grant();
  }
  if (next < workloads)
    throw new Error(`the budget granted no slot to ${workloads - next} waiting workloads`);
  return waves;
};

/**
 * One rollout's time for a mix of kinds: the mean of each kind's time, weighted by how many
 * there are. A kind whose change is no rollout (a CronJob: complete when written) has no
 * time, and no weight.
 */
export const mixRolloutMs = (
  perKindMs: Readonly<Partial<Record<WorkloadKind, number>>>,
  mix: Readonly<Partial<Record<WorkloadKind, number>>>,
): number | undefined => {
  let total = 0;
  let weight = 0;
  for (const [kind, count] of Object.entries(mix) as Array<[WorkloadKind, number]>) {
    const ms = perKindMs[kind];
    if (ms === undefined || count <= 0 || !rollsOut(kind)) continue;
    total += ms * count;
    weight += count;
  }
  return weight === 0 ? undefined : total / weight;
};

/** How many of a mix roll out when their template changes: every kind but CronJobs. */
export const rollingOf = (mix: Readonly<Partial<Record<WorkloadKind, number>>>): number =>
  (Object.entries(mix) as Array<[WorkloadKind, number]>)
    .filter(([kind]) => rollsOut(kind))
    .reduce((sum, [, count]) => sum + count, 0);

export const idealOf = (workloads: number, budget: number, rolloutMs: number): Ideal => {
  const waves = rolloutWaves(workloads, budget);
  return { budget, waves, rolloutMs, ms: waves.length * rolloutMs };
};

/** `1-2-4-8-16-32-50×18-37` (runs of equal waves folded). */
export const describeWaves = (waves: ReadonlyArray<number>): string => {
  const parts: string[] = [];
  let index = 0;
  while (index < waves.length) {
    const size = waves[index] ?? 0;
    let run = 1;
    while (waves[index + run] === size) run++;
    parts.push(run > 2 ? `${size}×${run}` : Array(run).fill(String(size)).join("-"));
    index += run;
  }
  return parts.join("-");
};
