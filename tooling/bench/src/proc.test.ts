import { describe, expect, it } from "vitest";
import {
  parseSmaps,
  parseStatTicks,
  parseStatus,
  parseSystemBusyTicks,
  residentParts,
} from "./proc.js";

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

  it("sums smaps' Rss by kind of mapping: the binary's code and read-only data, other files, malloc's heap, the rest", () => {
    const node = "/opt/node/bin/node";
    const smaps = [
      `00400000-00750000 r--p 00000000 fd:01 42 ${node}`,
      "Size:               3392 kB",
      "Rss:                1000 kB",
      `00750000-03200000 r-xp 00350000 fd:01 42 ${node}`,
      "Rss:               30000 kB",
      `03201000-06b80000 r--p 02e01000 fd:01 42 ${node}`,
      "Rss:               19000 kB",
      `06b83000-06bae000 rw-p 06782000 fd:01 42 ${node}`,
      "Rss:                 150 kB",
      "07000000-07a00000 rw-p 00000000 00:00 0          [heap]",
      "Rss:               11000 kB",
      "7f0000000000-7f0002000000 rw-p 00000000 00:00 0 ",
      "Rss:               30000 kB",
      "7f1000000000-7f1000200000 r-xp 00000000 fd:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6",
      "Rss:                1200 kB",
      "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]",
      "Rss:                 100 kB",
    ].join("\n");
    expect(parseSmaps(smaps, node)).toEqual({
      binaryCode: 30000 * 1024,
      binaryReadOnly: (1000 + 19000) * 1024,
      otherFiles: 1200 * 1024,
      mallocHeap: 11000 * 1024,
      anonymous: (150 + 30000 + 100) * 1024,
    });
  });

  it("reads this process's parts, which add up to about its RSS", () => {
    const parts = residentParts(process.pid);
    expect(parts).toBeDefined();
    const sum = Object.values(parts ?? {}).reduce((total, bytes) => total + bytes, 0);
    const rss = process.memoryUsage().rss;
    expect(parts?.binaryCode).toBeGreaterThan(1024 * 1024);
    expect(Math.abs(sum - rss) / rss).toBeLessThan(0.15);
  });
});
