import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  harnessArgs,
  type InstrumentorProcess,
  instrumentorMain,
  pinnedNodeVersion,
  productionEnv,
  productionNodeFlags,
  type StartOptions,
  startInstrumentor,
} from "./index.js";

const fake = fileURLToPath(new URL("../fixtures/fake-instrumentor.mjs", import.meta.url));
const started: InstrumentorProcess[] = [];
const start = async (options: Partial<StartOptions> = {}) => {
  const process = await startInstrumentor({
    kubeconfigPath: "/tmp/kubeconfig-for-test",
    odigosNamespace: "odigos-test",
    main: fake,
    ...options,
  });
  started.push(process);
  return process;
};

afterEach(async () => {
  for (const process of started.splice(0)) await process.stop("SIGKILL");
});

describe("the instrumentor as a process", () => {
  it("starts with loopback ports from its started line, its flags and environment, and waits for /readyz", async () => {
    const instrumentor = await start({ args: ["--leader-elect"], env: { NOT_READY_ANSWERS: "3" } });
    const line = await instrumentor.waitForLog((l) => l.msg === "instrumentor started");
    expect(instrumentor.metricsPort).toBe(line.metricsPort);
    expect(instrumentor.healthPort).toBe(line.healthPort);
    expect(line.args).toEqual([...harnessArgs, "--leader-elect"]);
    expect(line).toMatchObject({
      kubeconfig: "/tmp/kubeconfig-for-test",
      namespace: "odigos-test",
    });
    // The fake answers its first three /readyz with 500: start() asked until it got a 200.
    const readyz = await fetch(`http://127.0.0.1:${instrumentor.healthPort}/readyz`);
    expect(readyz.status).toBe(200);
  });

  it("without retained lines, still waits for lines to come and times the first of each", async () => {
    const instrumentor = await start({ retainLogs: false });
    await instrumentor.waitForLog((l) => l.msg === "tick");
    expect(instrumentor.logs).toEqual([]);
    expect(await instrumentor.logged("tick")).toBe(instrumentor.firstLogged("tick"));
    expect(instrumentor.logStats.lines).toBeGreaterThanOrEqual(3);
  });

  it("waits for a line still to come, counts lines by level and keeps the problems", async () => {
    const instrumentor = await start();
    const ticks = () => instrumentor.logs.filter((l) => l.msg === "tick").length;
    const before = ticks();
    await instrumentor.waitForLog(() => ticks() > before + 2);
    expect(instrumentor.logStats.byLevel.warn).toBe(1);
    expect(instrumentor.logStats.problems).toEqual([expect.stringContaining('"a warning"')]);
    const startedAt = instrumentor.firstLogged("instrumentor started");
    expect(startedAt).toBeGreaterThan(instrumentor.spawnedAt);
    expect(await instrumentor.logged("instrumentor started")).toBe(startedAt);
    expect(instrumentor.unstructured).toEqual([]);
  });

  it("tells non-JSON lines apart, but not Node's inspector banner", async () => {
    const instrumentor = await start({
      env: { UNSTRUCTURED: "plain text" },
      nodeArgs: ["--inspect=127.0.0.1:0"],
    });
    await instrumentor.waitForLog((l) => l.msg === "tick");
    expect(instrumentor.unstructured).toEqual(["plain text"]);
    expect(instrumentor.inspectorUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
  });

  it("stops with a signal and resolves with the exit code, or the signal's name", async () => {
    const graceful = await start();
    expect(await graceful.stop("SIGTERM")).toBe(0);
    expect(graceful.logs.at(-1)?.msg).toBe("stopped");
    const failing = await start({ env: { EXIT_CODE: "3" } });
    expect(await failing.stop("SIGTERM")).toBe(3);
    const killed = await start();
    expect(await killed.stop("SIGKILL")).toBe("SIGKILL");
    expect(killed.alive).toBe(false);
  });

  it("fails a wait at once when the process exits, with its last problems", async () => {
    const instrumentor = await start();
    const waiting = instrumentor.waitForLog((l) => l.msg === "never logged", 60_000);
    instrumentor.signal("SIGKILL");
    await expect(waiting).rejects.toThrow(/exited with SIGKILL; its last problems:\n.*a warning/);
  });

  it("runs a command of the caller's instead (a bundle, a sandbox), with the same flags", async () => {
    const instrumentor = await start({
      main: undefined,
      command: [process.execPath, "--no-warnings", fake],
      kubeconfigPath: undefined,
    });
    const line = await instrumentor.waitForLog((l) => l.msg === "instrumentor started");
    expect(line.args).toEqual(harnessArgs);
    expect(line.kubeconfig).toBeUndefined();
    await expect(start({ command: [process.execPath, fake] })).rejects.toThrow(
      /either a command, or nodeArgs and main/,
    );
  });

  it("says why when the process exits before starting", async () => {
    await expect(start({ env: { FAIL_AT_START: "1" } })).rejects.toThrow(
      /did not start: instrumentor pid \d+ exited with 1; its last problems:\n.*no usable Kubernetes credentials/,
    );
  });

  it("waits for an idle work queue through /metrics", async () => {
    const instrumentor = await start({ env: { WORKQUEUE_DEPTH: "3" } });
    await instrumentor.idle(10_000);
    const text = await instrumentor.metrics();
    expect(text).toContain('workqueue_depth{name="workload"} 0');
  });

  it("recognises its own requests by the User-Agent's pid", async () => {
    const instrumentor = await start();
    expect(instrumentor.sent(`odigos-instrumentor/0.1.0 (linux/x64) pid/${instrumentor.pid}`)).toBe(
      true,
    );
    expect(
      instrumentor.sent(`odigos-instrumentor/0.1.0 (linux/x64) pid/${instrumentor.pid}0`),
    ).toBe(false);
    expect(instrumentor.sent(`kubectl/v1.36 pid/${instrumentor.pid}`)).toBe(false);
    expect(instrumentor.sent(undefined)).toBe(false);
  });
});

describe("the instrumentor's entry point", () => {
  it("is the workspace's production bundle of the app (what the image ships)", () => {
    expect(existsSync(instrumentorMain())).toBe(true);
    expect(instrumentorMain()).toMatch(/apps\/instrumentor\/dist\/bundle\/instrumentor\.mjs$/);
  });

  it("runs with the Node flags of the image's ENTRYPOINT", () => {
    const dockerfile = readFileSync(new URL("../../../Dockerfile", import.meta.url), "utf8");
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(entrypoint, "the Dockerfile's ENTRYPOINT in exec form").toBeDefined();
    expect(JSON.parse(entrypoint ?? "[]")).toEqual([
      "/usr/local/bin/node",
      ...productionNodeFlags,
      "instrumentor.mjs",
    ]);
  });

  it("runs with the environment the image's runtime stage sets", () => {
    const dockerfile = readFileSync(new URL("../../../Dockerfile", import.meta.url), "utf8");
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    const env = Object.fromEntries(
      [...runtimeStage.matchAll(/^ENV ([A-Z_]+)=(\S+)$/gm)].map((match) => [match[1], match[2]]),
    );
    expect(env).toEqual(productionEnv);
  });
});

describe("the pinned Node (.node-version)", () => {
  const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");

  it("is the Node these tests run on (make puts it first on PATH: tooling/node/ensure-node.sh)", () => {
    expect(pinnedNodeVersion()).toMatch(/^24\.\d+\.\d+$/);
    expect(
      process.versions.node,
      `run the tests with \`make test\`, or with Node ${pinnedNodeVersion()} first on PATH (\`make node\` prints its directory)`,
    ).toBe(pinnedNodeVersion());
  });

  it("is the Node the image is built on (the Dockerfile's NODE_VERSION)", () => {
    const arg = /^ARG NODE_VERSION=(\S+)$/m.exec(read("../../../Dockerfile"))?.[1];
    expect(arg).toBe(pinnedNodeVersion());
  });

  it("has a pinned integrity for each platform ensure-node.sh fetches it for", () => {
    const lines = read("../../node/integrity.txt")
      .split("\n")
      .filter((line) => line.startsWith(`${pinnedNodeVersion()} `));
    expect(lines.map((line) => line.split(" ")[1]).sort()).toEqual(["linux-arm64", "linux-x64"]);
    for (const line of lines) expect(line.split(" ")[2]).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  });
});
