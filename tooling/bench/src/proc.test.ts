import { describe, expect, it } from "vitest";
import { parseStatTicks, parseStatus, parseSystemBusyTicks } from "./proc.js";

describe("/proc parsing", () => {
  it("reads VmRSS, VmHWM, RssAnon and RssFile in bytes", () => {
    const status =
      "Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n" +
      "RssAnon:\t   61440 kB\nRssFile:\t   40960 kB\nRssShmem:\t       0 kB\n";
    expect(parseStatus(status)).toEqual({
      rss: 100 * 1024 * 1024,
      hwm: 200 * 1024 * 1024,
      anon: 60 * 1024 * 1024,
      file: 40 * 1024 * 1024,
    });
  });

  it("reads no memory from the status of an exited, unreaped process", () => {
    const zombie = "Name:\tnode\nState:\tZ (zombie)\nTgid:\t4242\nThreads:\t1\n";
    expect(parseStatus(zombie)).toBeUndefined();
  });

  it("adds utime and stime, even when the command name holds spaces and parentheses", () => {
    const stat =
      "4242 (node (my) app) S 1 4242 4242 0 -1 4194560 1 0 0 0 150 50 0 0 20 0 11 0 100 1000 100";
    expect(parseStatTicks(stat)).toBe(200);
  });

  it("counts the machine's busy ticks without idle and iowait", () => {
    const stat = "cpu  100 5 50 1000 20 3 2 10 0 0\ncpu0 50 2 25 500 10 1 1 5 0 0\n";
    expect(parseSystemBusyTicks(stat)).toBe(100 + 5 + 50 + 3 + 2 + 10);
  });
});
