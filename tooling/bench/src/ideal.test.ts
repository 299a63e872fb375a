import { describe, expect, it } from "vitest";
import { describeWaves, idealOf, mixRolloutMs, rollingOf, rolloutWaves } from "./ideal.js";

describe("the ideal of a mass rollout", () => {
  it("follows the slow start up to the budget, then the budget at a time", () => {
    const waves = rolloutWaves(1000, 50);
    expect(waves.slice(0, 7)).toEqual([1, 2, 4, 8, 16, 32, 50]);
    expect(waves.reduce((sum, size) => sum + size, 0)).toBe(1000);
    // 63 in the slow start, 937 left: 18 waves of 50 and one of 37.
    expect(waves.length).toBe(6 + 19);
    expect(waves.at(-1)).toBe(37);
    expect(describeWaves(waves)).toBe("1-2-4-8-16-32-50×18-37");
  });

  it("budget 10: 1, 2, 4, 8, then tens", () => {
    const waves = rolloutWaves(1000, 10);
    expect(waves.slice(0, 5)).toEqual([1, 2, 4, 8, 10]);
    expect(waves.length).toBe(4 + 99);
    expect(describeWaves(waves)).toBe("1-2-4-8-10×98-5");
  });

  it("unlimited is one wave; a budget of 1 one at a time; nothing is no wave", () => {
    expect(rolloutWaves(1000, 0)).toEqual([1000]);
    expect(rolloutWaves(5, 1)).toEqual([1, 1, 1, 1, 1]);
    expect(rolloutWaves(0, 10)).toEqual([]);
    expect(rolloutWaves(3, 50)).toEqual([1, 2]);
  });

  it("is waves × one rollout's time", () => {
    const ideal = idealOf(1000, 50, 2500);
    expect(ideal.waves.length).toBe(25);
    expect(ideal.ms).toBe(25 * 2500);
    expect(idealOf(1000, 0, 2500).ms).toBe(2500);
  });

  it("weights one rollout's time by the kinds' mix", () => {
    expect(
      mixRolloutMs(
        { Deployment: 2000, StatefulSet: 3000, DaemonSet: 4000 },
        { Deployment: 850, StatefulSet: 100, DaemonSet: 50 },
      ),
    ).toBeCloseTo((850 * 2000 + 100 * 3000 + 50 * 4000) / 1000);
    // A kind not measured is left out of the mean.
    expect(mixRolloutMs({ Deployment: 2000 }, { Deployment: 9, StatefulSet: 1 })).toBe(2000);
    expect(mixRolloutMs({}, { Deployment: 1 })).toBeUndefined();
    // A CronJob's change is no rollout: no time, no weight, even if one were measured.
    expect(
      mixRolloutMs({ Deployment: 2000, CronJob: 5 }, { Deployment: 80, CronJob: 5, Rollout: 5 }),
    ).toBe(2000);
  });

  it("counts the workloads of a mix that roll out: every kind but CronJobs", () => {
    expect(
      rollingOf({ Deployment: 75, StatefulSet: 10, DaemonSet: 5, CronJob: 5, Rollout: 5 }),
    ).toBe(95);
    expect(rollingOf({ CronJob: 3 })).toBe(0);
  });
});
