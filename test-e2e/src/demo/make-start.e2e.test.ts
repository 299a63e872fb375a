/**
 * `make start` as a newcomer meets it (issue 16): its entry point with no cluster configured and
 * fresh folders, every printed line run exactly as printed through a shell with a real kubectl
 * (the machine's when one is on PATH, else the one built with the other Kubernetes binaries, as
 * the demo itself chooses), the cluster checked after each against what the text beside the line
 * promised, then Ctrl-C (SIGINT) and nothing left: no process, no port, no data folder.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BatchV1Api, KubeConfig } from "@kubernetes/client-node";
import {
  binaryCacheDir,
  ensureBinaries,
  findOnPath,
  goBuildModuleDir,
  readPinnedVersions,
} from "@odigos/control-plane";
import { metricSum } from "@odigos/harness";
import { readRolloutRecord } from "@odigos/instrumentation-rules";
import { afterAll, describe, expect, it } from "vitest";
import { cronJobDevices } from "../support/cluster.js";
import {
  type DemoProcess,
  type PrintedStep,
  parseAlignedTable,
  parseGuide,
  parseTable,
  runLine,
  startDemo,
  startLine,
  type WatchedLine,
} from "../support/demo-process.js";
import { Cluster, device, type Language } from "../support/odigos.js";
import { waitForRollout, waitForTemplateDevices, workloadPods } from "../support/pods-cluster.js";
import {
  descendants,
  listeningPorts,
  listeningSockets,
  processesMentioning,
} from "../support/proc.js";
import { isRunning } from "../support/processes.js";
import {
  type TemplateRolloutSampler as RolloutSampler,
  sampleRolloutsByTemplate,
} from "../support/rollout-template-sampler.js";
import { waitFor } from "../support/wait-for.js";

const namespace = "demo";
const workload = "checkout";
/** The demo's Deployments and the language each one's pods declare. */
const extras: ReadonlyArray<readonly [string, Language]> = [
  ["cart", "java"],
  ["catalog", "python"],
  ["payments", "javascript"],
  ["frontend", "dotnet"],
];
const everyWorkload = [workload, ...extras.map(([name]) => name)];
/** The demo's CronJob (language go), opted in by its own annotation: a Job every minute. */
const cronJob = "nightly-report";
/** From a start with cached binaries to the printed steps: cluster, seed, first rollout. */
const guideTimeoutMs = 180_000;
const endLine = "Ctrl-C stops the instrumentor";

/** Each printed step, in order, by a phrase of its text, and how many lines it prints. */
const expectedSteps = [
  { phrase: "The cluster: kubectl reaches it", commands: 2 },
  { phrase: `Watch ${workload}'s pods`, commands: 1 },
  { phrase: `The device on ${workload}'s pod template`, commands: 2 },
  { phrase: `Opt ${workload} out`, commands: 2 },
  { phrase: "Opt it back in", commands: 1 },
  { phrase: `The CronJob ${cronJob}`, commands: 4 },
  { phrase: "What is instrumented, and why", commands: 3 },
  { phrase: "The rollout budget", commands: 3 },
  { phrase: "The collectors grace period", commands: 1 },
  { phrase: "Collectors ready again", commands: 1 },
];

/** Fresh folders, in one folder of the file's, removed after it (a killed run leaves that one). */
let root: string | undefined;
const freshFolder = (label: string) => {
  root ??= mkdtempSync(join(tmpdir(), "odigos-demo-test-"));
  return mkdtempSync(join(root, `${label}-`));
};

/** What a person's shell has: PATH and a HOME with no kubeconfig; the binaries already built. */
const demoEnv = (home: string, tmp: string, extra: Record<string, string> = {}) => {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: home,
    TMPDIR: tmp,
    // Where this machine keeps the built binaries (a fresh HOME would look in its own cache).
    ODIGOS_K8S_CACHE_DIR: binaryCacheDir(process.env),
  };
  for (const name of ["KUBEBUILDER_ASSETS", "ODIGOS_KWOK"]) {
    const value = process.env[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  return { ...env, ...extra };
};

const match = (text: string, pattern: RegExp, what: string): string => {
  const found = pattern.exec(text)?.[1];
  if (found === undefined) throw new Error(`the printed text does not say ${what}: "${text}"`);
  return found;
};

/** The folder of the Node running this test (and the demo): the pinned one under make. */
const nodeDir = dirname(process.execPath);

/**
 * The PATH of another terminal of the person, one that did not run make: without the folder
 * make puts first, one that holds Node and nothing else a printed line runs. The plugin's lines
 * must then bring their Node themselves (the machine's may be older than the plugin needs).
 */
const otherTerminalPath = (): string => {
  const nodeOnly = !["sh", "kubectl", "curl", "grep"].some((name) =>
    existsSync(join(nodeDir, name)),
  );
  return (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => !(nodeOnly && dir === nodeDir))
    .join(":");
};

/** `A 1, B 4` (the plugin's counts, and the guide's) as a record. */
const counts = (text: string): Record<string, number> =>
  Object.fromEntries(
    [...text.matchAll(/(\w+) (\d+)/g)].map((found) => [found[1], Number(found[2])]),
  );

/** The rows a `-w` table printed after `offset` characters of its output. */
const rowsSince = (watch: WatchedLine, offset: number, header: string) =>
  parseTable(`${header}\n${watch.output().slice(offset)}`);

/** The tables kubectl prints for `get a,b`, one after the other, each its own rows. */
const parseTables = (text: string) =>
  text
    .split(/\n\s*\n/)
    .filter((block) => block.trim() !== "")
    .map(parseTable);

/** The minute a Job of the demo's CronJob was scheduled for (its name's suffix). */
const minuteOf = (job: string): number => Number(job.slice(cronJob.length + 1));

interface CronJobStepContext {
  readonly run: (line: string) => Promise<string>;
  readonly running: DemoProcess;
  readonly cluster: Cluster;
  readonly batch: BatchV1Api;
  readonly deviceName: string;
}

/**
 * Step 6: the device in the CronJob's Job template (the jsonpath line), its runtime details from
 * the stand-in after it inspected a pod of one of its Jobs, and a Job scheduled after that whose
 * pod carries the device (the jobs,pods line lists both; the custom-columns line shows the device).
 */
const checkCronJobStep = async (printed: PrintedStep, context: CronJobStepContext) => {
  const { run, running, cluster, batch, deviceName } = context;
  const { text, commands } = printed;
  expect(text).toContain(`(cronjob-${cronJob}, app=go)`);
  expect(text).toContain("no rollout and no rollout slot");
  const since = Date.now();
  let limits = "";
  await waitFor(
    async () => {
      limits = (await run(commands[0] as string)).trim();
      return limits !== "";
    },
    { timeoutMs: 150_000, intervalMs: 1000, description: `${cronJob}'s Job template's limits` },
  );
  console.log(`[e2e] ${cronJob}'s device in its Job template after ${Date.now() - since} ms`);
  expect(JSON.parse(limits)).toEqual({ [deviceName]: "1" });
  expect(parseTable(await run(commands[1] as string)).map((row) => row.NAME)).toEqual([
    `cronjob-${cronJob}`,
  ]);
  const details = (await cluster.custom.getNamespacedCustomObject({
    group: "odigos.io",
    version: "v1alpha1",
    namespace,
    plural: "instrumentedapplications",
    name: `cronjob-${cronJob}`,
  })) as { spec: unknown };
  expect(details.spec).toEqual({ languages: [{ containerName: "app", language: "go" }] });
  const created = running.logs.find(
    (line) =>
      line.component === "demo-node-agent" &&
      line.reason === "RuntimeDetailsCreated" &&
      line.kind === "CronJob" &&
      line.workload === cronJob,
  );
  const inspected = String(created?.pod);
  const firstJob = match(inspected, new RegExp(`^(${cronJob}-\\d+)-\\w+$`), "the inspected Job");
  // A Job scheduled after the one whose pod was inspected: listed with its pod, which has the device.
  let tables: Array<Array<Record<string, string>>> = [];
  let columns: Array<Record<string, string>> = [];
  const later = await waitFor(
    async () => {
      tables = parseTables(await run(commands[2] as string));
      columns = parseTable(await run(commands[3] as string));
      const jobs = (tables[0] ?? []).map((row) => (row.NAME ?? "").replace(/^job\.batch\//, ""));
      const pods = (tables[1] ?? []).map((row) => (row.NAME ?? "").replace(/^pod\//, ""));
      return columns.find(
        (row) =>
          row.DEVICES === `map[${deviceName}:1]` &&
          jobs.some(
            (job) =>
              minuteOf(job) > minuteOf(firstJob) &&
              (row.NAME ?? "").startsWith(`${job}-`) &&
              pods.includes(row.NAME ?? ""),
          ),
      );
    },
    {
      timeoutMs: 150_000,
      intervalMs: 2000,
      description: `a Job of ${cronJob} after ${firstJob} whose pod carries the device`,
    },
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify({ tables, columns })}`);
  });
  console.log(`[e2e] ${commands[2]}\n${await run(commands[2] as string)}`);
  expect(["Running", "Succeeded"]).toContain(later.STATUS);
  // Its Job is the CronJob's, and a pod of the first Job, if still kept, has no device.
  const job = (later.NAME ?? "").replace(/-\w+$/, "");
  const read = await batch.readNamespacedJob({ name: job, namespace });
  expect(read.metadata?.ownerReferences?.map((owner) => [owner.kind, owner.name])).toEqual([
    ["CronJob", cronJob],
  ]);
  const first = columns.find((row) => row.NAME === inspected);
  if (first !== undefined) expect(first.DEVICES).toBe("<none>");
};

let demo: DemoProcess | undefined;
const watches: WatchedLine[] = [];
const samplers: RolloutSampler[] = [];

afterAll(async () => {
  await Promise.all(samplers.map((sampler) => sampler.stop()));
  await Promise.all(watches.map((watch) => watch.stop()));
  if (demo !== undefined) {
    demo.signal("SIGINT");
    await Promise.race([demo.exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    demo.signal("SIGKILL");
  }
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
}, 60_000);

describe("make start, as a newcomer meets it", () => {
  it("prints lines that each do what their text says with a real kubectl, and Ctrl-C leaves nothing", async () => {
    const home = freshFolder("home");
    const tmp = freshFolder("tmp");
    // Another terminal of the same person: kubectl keeps its discovery cache in its HOME.
    const kubectlEnv = { PATH: otherTerminalPath(), HOME: freshFolder("kubectl-home") };
    const started = Date.now();
    const running = startDemo(demoEnv(home, tmp));
    demo = running;
    await running.waitForScreen(endLine, guideTimeoutMs);
    console.log(`[e2e] make start printed its steps after ${Date.now() - started} ms`);
    const screen = running.screen();
    expect(screen).toContain("no cluster configured");

    // The steps, as printed.
    const steps = parseGuide(screen);
    expect(steps.map((step) => ({ number: step.number, commands: step.commands.length }))).toEqual(
      expectedSteps.map((expected, index) => ({ number: index + 1, commands: expected.commands })),
    );
    const step = (index: number): PrintedStep => {
      const found = steps[index] as PrintedStep;
      expect(found.text).toContain((expectedSteps[index] as { phrase: string }).phrase);
      return found;
    };
    const run = async (line: string) => {
      const result = await runLine(line, kubectlEnv);
      if (result.code !== 0)
        throw new Error(
          `"${line}" exited with ${result.code}:\n${result.stdout}\n${result.stderr}`,
        );
      return result.stdout;
    };
    const watch = (line: string) => {
      const started = startLine(line, kubectlEnv);
      watches.push(started);
      return started;
    };

    // The kubectl the lines use: the machine's, else the one built with the cluster.
    const first = steps[0]?.commands[0] ?? "";
    const program = first.split(" ")[0] ?? "";
    const kubectl =
      program === "kubectl"
        ? findOnPath("kubectl", process.env)
        : (await ensureBinaries({ pods: true })).kubectl;
    expect(kubectl, `the lines run ${program}`).toBeDefined();
    if (program !== "kubectl") expect(program).toBe(kubectl);
    console.log(
      `[e2e] the printed lines run ${kubectl}: ${(await runLine(`${program} version --client`, kubectlEnv)).stdout.split("\n")[0]}`,
    );
    const kubeconfigPath = match(first, /--kubeconfig (\S+)/, "the kubeconfig");
    expect(kubeconfigPath.startsWith(tmp)).toBe(true);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    const cluster = new Cluster(kubeConfig);

    // What the demo said before the steps: the device it saw added and the pods that carry it.
    const deviceName = match(
      screen,
      /added (instrumentation\.odigos\.io\/\S+): its pods rolled/,
      "the device",
    );
    expect(deviceName).toBe(device("go"));
    const podsSaid = match(screen, /carry the device \(([^)]+)\)/, "the pods").split(", ");
    expect(podsSaid).toHaveLength(2);

    // 1. The cluster.
    {
      const { text, commands } = step(0);
      const said = match(text, /Server Version: (v[^)\s]+)\)/, "the server version");
      const pinned = readPinnedVersions(readFileSync(join(goBuildModuleDir, "go.mod"), "utf8"));
      expect(said).toBe(pinned.kubernetes);
      expect(await run(commands[0] as string)).toContain(`Server Version: ${said}`);
      const nodes = parseTable(await run(commands[1] as string));
      const withDevices = Number(
        match(text, /(\d+) advertise the instrumentation devices/, "how many nodes advertise"),
      );
      const without = Number(match(text, /and (\d+) does not/, "how many nodes do not"));
      expect(nodes.map((node) => node.STATUS)).toEqual(nodes.map(() => "Ready"));
      expect(nodes.filter((node) => node["INSTRUMENTATION-DEVICES"] === "true")).toHaveLength(
        withDevices,
      );
      expect(nodes.filter((node) => node["INSTRUMENTATION-DEVICES"] === "false")).toHaveLength(
        without,
      );
      for (const node of nodes) {
        const allocatable =
          (await cluster.core.readNode({ name: node.NAME as string })).status?.allocatable ?? {};
        expect(allocatable[deviceName] !== undefined, node.NAME).toBe(
          node["INSTRUMENTATION-DEVICES"] === "true",
        );
      }
    }

    // 2. The pods watch, left running: it first lists the 2 pods the demo named, Running and ready.
    const podsHeader = "NAME   READY   STATUS   RESTARTS   AGE";
    const podsWatch = watch(step(1).commands[0] as string);
    await waitFor(
      () => {
        const rows = rowsSince(podsWatch, 0, "").filter(
          (row) => row.READY === "1/1" && row.STATUS === "Running",
        );
        return podsSaid.every((pod) => rows.some((row) => row.NAME === pod));
      },
      {
        timeoutMs: 30_000,
        description: `the pods watch listing ${podsSaid.join(", ")} 1/1 Running`,
      },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${podsWatch.output()}${podsWatch.stderr()}`);
    });
    const podNames = async () =>
      (await workloadPods(cluster, namespace, workload))
        .filter((pod) => !pod.terminating)
        .map((pod) => pod.name);
    expect((await podNames()).sort()).toEqual([...podsSaid].sort());
    /** The watch shows a roll after `offset`: the pods before it Terminating, 2 new ones 1/1 Running. */
    const expectRolled = async (offset: number, before: readonly string[]) => {
      let rows: Array<Record<string, string>> = [];
      await waitFor(
        () => {
          rows = rowsSince(podsWatch, offset, podsHeader);
          const fresh = new Set(
            rows
              .filter(
                (row) =>
                  !before.includes(row.NAME ?? "") &&
                  row.READY === "1/1" &&
                  row.STATUS === "Running",
              )
              .map((row) => row.NAME),
          );
          const gone = before.every((pod) =>
            rows.some((row) => row.NAME === pod && row.STATUS === "Terminating"),
          );
          return fresh.size >= 2 && gone;
        },
        { timeoutMs: 30_000, description: `the pods watch showing ${before.join(", ")} replaced` },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; rows: ${JSON.stringify(rows)}`);
      });
    };

    // 3. The device and the runtime details.
    {
      const { commands } = step(2);
      expect(JSON.parse(await run(commands[0] as string))).toEqual({ [deviceName]: "1" });
      expect(await cluster.devices("Deployment", namespace, workload)).toEqual({
        app: [deviceName],
      });
      expect(parseTable(await run(commands[1] as string)).map((row) => row.NAME)).toEqual([
        `deployment-${workload}`,
      ]);
    }

    // 4. Opt out: the device goes, the pods roll, the runtime details go, Events say why.
    {
      const { commands } = step(3);
      const before = await podNames();
      const offset = podsWatch.output().length;
      expect(await run(commands[0] as string)).toContain(`deployment.apps/${workload} annotated`);
      await waitForTemplateDevices(cluster, "Deployment", namespace, workload, {});
      const pods = await waitForRollout(cluster, "Deployment", namespace, workload);
      expect(pods.map((pod) => pod.devices)).toEqual([{ app: [] }, { app: [] }]);
      await waitFor(
        async () => !(await cluster.runtimeDetailsExists("Deployment", namespace, workload)),
        {
          timeoutMs: 30_000,
          description: "the runtime details deleted",
        },
      );
      await expectRolled(offset, before);
      let events: Array<Record<string, string>> = [];
      await waitFor(
        async () => {
          events = parseTable(await run(commands[1] as string)).filter((row) =>
            row.MESSAGE?.includes("opts out"),
          );
          return (
            events.some(
              (row) => row.REASON === "Uninstrumented" && row.OBJECT === `deployment/${workload}`,
            ) &&
            events.some(
              (row) =>
                row.REASON === "RuntimeDetailsDeleted" &&
                row.OBJECT === `instrumentedapplication/deployment-${workload}`,
            )
          );
        },
        { timeoutMs: 30_000, intervalMs: 500, description: "the Events of the opt-out" },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; rows: ${JSON.stringify(events)}`);
      });
    }

    // 5. Opt back in: the stand-in re-creates the runtime details after its delay, the device comes back.
    {
      const { text, commands } = step(4);
      const delayMs = Number(match(text, /about ([\d.]+) s later/, "the stand-in's delay")) * 1000;
      const before = await podNames();
      const offset = podsWatch.output().length;
      const since = Date.now();
      expect(await run(commands[0] as string)).toContain(`deployment.apps/${workload} annotated`);
      const created = await running.waitForLog(
        (line) =>
          line.component === "demo-node-agent" &&
          line.reason === "RuntimeDetailsCreated" &&
          line.workload === workload &&
          Date.parse(String(line.time)) >= since,
        30_000,
      );
      const inspecting = running.logs.findLast(
        (line) =>
          line.component === "demo-node-agent" &&
          line.reason === "Inspecting" &&
          line.workload === workload &&
          Date.parse(String(line.time)) >= since,
      );
      expect(inspecting, "the stand-in's log of inspecting a pod").toBeDefined();
      // From the clock reading the delay counts from (`since`), not the line's own later `time`:
      // on a loaded machine the two are milliseconds apart.
      expect(
        Date.parse(String(created.time)) - Date.parse(String(inspecting?.since)),
      ).toBeGreaterThanOrEqual(delayMs);
      const details = (await cluster.custom.getNamespacedCustomObject({
        group: "odigos.io",
        version: "v1alpha1",
        namespace,
        plural: "instrumentedapplications",
        name: `deployment-${workload}`,
      })) as { spec: unknown };
      expect(details.spec).toEqual({ languages: [{ containerName: "app", language: "go" }] });
      await waitForTemplateDevices(cluster, "Deployment", namespace, workload, {
        app: [deviceName],
      });
      const pods = await waitForRollout(cluster, "Deployment", namespace, workload);
      expect(pods.map((pod) => pod.devices)).toEqual([
        { app: [deviceName] },
        { app: [deviceName] },
      ]);
      await expectRolled(offset, before);
    }

    // 6. The CronJob: its device in its Job template, written at once with no rollout; the pods
    // of the Jobs scheduled after that carry it.
    const batch = kubeConfig.makeApiClient(BatchV1Api);
    const templateDevices = async () =>
      Object.values(await cronJobDevices(kubeConfig, namespace, cronJob)).flat();
    const expectNoRolloutRecord = async () => {
      const read = await batch.readNamespacedCronJob({ name: cronJob, namespace });
      expect(readRolloutRecord(read.metadata?.annotations), "the CronJob's rollout record").toBe(
        undefined,
      );
    };
    await checkCronJobStep(step(5), { run, running, cluster, batch, deviceName });
    await expectNoRolloutRecord();

    // 7. kubectl odigos-instrumentor: status and two explains, as printed, say what the text says.
    {
      const { text, commands } = step(6);
      const short = deviceName.slice(deviceName.lastIndexOf("/") + 1);
      for (const command of commands)
        expect(match(command, /^PATH=(\S+):\$PATH /, "the plugin's PATH").split(":")).toContain(
          nodeDir,
        );
      expect(text).toContain(
        `${workload} and ${cronJob} Instrumented, reason Instrumented, with app:${short}`,
      );
      const total = Number(match(text, /status counts the (\d+) workloads/, "how many"));
      const byReason = counts(match(text, /by state and by reason \(([^)]+)\)/, "the counts"));
      let said = "";
      let rows: Array<Record<string, string>> = [];
      await waitFor(
        async () => {
          said = await run(commands[0] as string);
          rows = parseAlignedTable(said, ["NAME", "STATE", "REASON"]);
          return [workload, cronJob].every((name) =>
            rows.some((row) => row.NAME === name && row.STATE === "Instrumented"),
          );
        },
        {
          timeoutMs: 30_000,
          intervalMs: 500,
          description: `status showing ${workload} and ${cronJob}`,
        },
      ).catch((error: Error) => {
        throw new Error(`${error.message}:\n${said}`);
      });
      console.log(`[e2e] ${commands[0]}\n${said}`);
      expect(Number(match(said, /^(\d+) workloads\b/m, "the total"))).toBe(total);
      const reasons = counts(match(said, /^by reason: (.*)$/m, "the counts by reason"));
      expect(reasons).toEqual(byReason);
      expect(rows.map((row) => row.NAME).sort()).toEqual([...everyWorkload, cronJob].sort());
      for (const [name, kind] of [
        [workload, "Deployment"],
        [cronJob, "CronJob"],
      ]) {
        const row = rows.find((one) => one.NAME === name) as Record<string, string>;
        expect([row.NAMESPACE, row.KIND, row.STATE, row.REASON]).toEqual([
          namespace,
          kind,
          "Instrumented",
          "Instrumented",
        ]);
        expect(Object.values(row).some((cell) => cell.includes(`app:${short}`))).toBe(true);
      }
      expect(rows.find((one) => one.NAME === cronJob)?.PODS).toMatch(/^\d+\/-$/);
      for (const other of rows.filter((one) => one.NAME !== workload && one.NAME !== cronJob))
        expect([other.NAME, other.STATE, other.REASON]).toEqual([
          other.NAME,
          "NotInstrumented",
          "NotOptedIn",
        ]);

      const explained = await run(commands[1] as string);
      console.log(`[e2e] ${commands[1]}\n${explained}`);
      const line = (label: string) =>
        explained.split("\n").find((one) => new RegExp(`^\\s*${label}\\b`).test(one)) ?? "";
      expect(explained.split("\n")[0]).toMatch(new RegExp(`\\b${namespace}/${workload}\\b`));
      expect(line("state")).toMatch(/\bInstrumented\b/);
      expect(line("opt-in")).toMatch(/\byes\b/);
      expect(line("workload")).toMatch(/\benabled\b.*\bannotation\b/);
      expect(line("runtime details")).toMatch(
        new RegExp(`\\bdeployment-${workload}\\b.*\\bapp=go\\b`),
      );
      expect(line("collectors")).toMatch(/ready=true/);
      expect(line("devices").match(new RegExp(`app:${short}`, "g"))).toHaveLength(2);
      expect(line("rollout")).toMatch(/\binstrument\b/);

      const explainedCronJob = await run(commands[2] as string);
      console.log(`[e2e] ${commands[2]}\n${explainedCronJob}`);
      const cronLine = (label: string) =>
        explainedCronJob.split("\n").find((one) => new RegExp(`^\\s*${label}\\b`).test(one)) ?? "";
      expect(explainedCronJob.split("\n")[0]).toMatch(new RegExp(`\\b${namespace}/${cronJob}\\b`));
      expect(cronLine("state")).toMatch(/\bInstrumented\b/);
      expect(cronLine("workload")).toMatch(/\benabled\b.*\bannotation\b/);
      expect(cronLine("runtime details")).toMatch(
        new RegExp(`\\bcronjob-${cronJob}\\b.*\\bapp=go\\b`),
      );
      expect(cronLine("rollout")).toContain(
        "none for a CronJob: its next Job picks the template up",
      );
    }

    // 8. The rollout budget: the namespace opted in, never more than the budget rolling at once.
    const started7 = running.logs.find((line) => line.msg === "instrumentor started");
    const deploymentsHeader = "NAME   READY   UP-TO-DATE   AVAILABLE   AGE";
    const { text: budgetText, commands: budgetCommands } = step(7);
    expect(budgetText).toContain(`${cronJob} takes no slot`);
    const budget = Number(match(budgetText, /never more than (\d+) rolling at once/, "the budget"));
    expect(started7?.maxConcurrentRollouts).toBe(budget);
    const deploymentsWatch = watch(budgetCommands[0] as string);
    await waitFor(() => rowsSince(deploymentsWatch, 0, "").length >= everyWorkload.length, {
      timeoutMs: 30_000,
      description: "the Deployments watch listing them",
    });
    /** Each of these Deployments shows UP-TO-DATE below 2 in the watch after `offset`. */
    const expectWatchedRolling = async (offset: number, names: readonly string[]) => {
      await waitFor(
        () => {
          const rows = rowsSince(deploymentsWatch, offset, deploymentsHeader);
          return names.every((name) =>
            rows.some((row) => row.NAME === name && Number(row["UP-TO-DATE"]) < 2),
          );
        },
        {
          timeoutMs: 30_000,
          description: `the Deployments watch showing ${names.join(", ")} rolling`,
        },
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${deploymentsWatch.output().slice(offset)}`);
      });
    };
    const waitForAll = async (withDevices: boolean, timeoutMs: number) => {
      for (const [name, language] of [[workload, "go"] as const, ...extras]) {
        await waitForTemplateDevices(
          cluster,
          "Deployment",
          namespace,
          name,
          withDevices ? { app: [device(language)] } : {},
          timeoutMs,
        );
      }
      for (const name of everyWorkload)
        await waitForRollout(cluster, "Deployment", namespace, name, 120_000);
    };
    /** Each Deployment's `odigos.io/rollout` record: what the instrumentor last wrote, and when. */
    const records = async () =>
      Promise.all(
        everyWorkload.map(async (name) => {
          const read = await cluster.readWorkload("Deployment", namespace, name);
          const record = readRolloutRecord(read.metadata?.annotations);
          return { name, action: record?.action, at: Date.parse(record?.at ?? "") };
        }),
      );
    const mostRolling = (sampler: RolloutSampler) =>
      Math.max(0, ...sampler.samples.map((sample) => sample.rolling.length));
    {
      const sampler = await sampleRolloutsByTemplate(cluster, namespace);
      samplers.push(sampler);
      const offset = deploymentsWatch.output().length;
      expect(await run(budgetCommands[1] as string)).toContain(`namespace/${namespace} annotated`);
      const metrics: string[] = [];
      await waitFor(
        async () => {
          const scraped = await run(budgetCommands[2] as string);
          metrics.push(scraped);
          return metricSum(scraped, "odigos_instrumentor_rollouts_waiting") >= 1;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 100,
          description: "the metrics line showing rollouts waiting for a slot",
        },
      );
      for (const scraped of metrics) {
        for (const family of ["rollouts_in_flight", "rollouts_waiting", "rollout_window"])
          expect(scraped).toMatch(new RegExp(`^odigos_instrumentor_${family} \\d+$`, "m"));
        expect(metricSum(scraped, "odigos_instrumentor_rollouts_in_flight")).toBeLessThanOrEqual(
          budget,
        );
        expect(metricSum(scraped, "odigos_instrumentor_rollout_window")).toBeLessThanOrEqual(
          budget,
        );
      }
      await waitForAll(true, 120_000);
      await sampler.stop();
      expect(mostRolling(sampler)).toBe(budget);
      await expectWatchedRolling(
        offset,
        extras.map(([name]) => name),
      );
      await expectNoRolloutRecord();
    }

    // 9. Collectors not ready: nothing for the grace period, then every device goes, under the budget.
    const graceMs =
      Number(match(step(8).text, /Nothing changes for (\d+) s/, "the grace period")) * 1000;
    {
      const since = Date.now();
      const sampler = await sampleRolloutsByTemplate(cluster, namespace);
      samplers.push(sampler);
      const offset = deploymentsWatch.output().length;
      expect(await run(step(8).commands[0] as string)).toContain("patched");
      await waitForAll(false, graceMs + 120_000);
      // The CronJob's device goes too, at once (it was not waiting for a slot), with no rollout.
      await waitFor(async () => (await templateDevices()).length === 0, {
        timeoutMs: 30_000,
        description: `${cronJob}'s device removed`,
      });
      await expectNoRolloutRecord();
      await sampler.stop();
      for (const record of await records()) {
        expect(record.action, record.name).toBe("uninstrument");
        expect(
          record.at - since,
          `${record.name}: devices removed ${record.at - since} ms after the collectors went not ready, within the ${graceMs} ms grace`,
        ).toBeGreaterThanOrEqual(graceMs);
      }
      expect(mostRolling(sampler)).toBeLessThanOrEqual(budget);
      await expectWatchedRolling(offset, everyWorkload);
    }

    // 10. Collectors ready again: the devices come back at once (no grace), under the budget.
    {
      const since = Date.now();
      const sampler = await sampleRolloutsByTemplate(cluster, namespace);
      samplers.push(sampler);
      expect(await run(step(9).commands[0] as string)).toContain("patched");
      await waitForAll(true, 120_000);
      await waitFor(async () => (await templateDevices()).includes(deviceName), {
        timeoutMs: 30_000,
        description: `${cronJob}'s device back`,
      });
      await expectNoRolloutRecord();
      await sampler.stop();
      const written = await records();
      expect(written.map((record) => record.action)).toEqual(everyWorkload.map(() => "instrument"));
      const first = Math.min(...written.map((record) => record.at)) - since;
      expect(
        first,
        `the first device came back ${first} ms after the collectors were ready again`,
      ).toBeLessThan(graceMs);
      expect(mostRolling(sampler)).toBeLessThanOrEqual(budget);
    }

    // Ctrl-C: nothing left.
    const cluster0 = running.logs.find((line) => line.msg === "local cluster started");
    const dataDir = String(cluster0?.dataDir);
    expect(dataDir.startsWith(tmp)).toBe(true);
    const tree = [running.pid, ...descendants(running.pid)];
    const componentPids = Object.values(cluster0?.pids as Record<string, number>);
    expect(componentPids).toHaveLength(5);
    for (const pid of componentPids) expect(tree).toContain(pid);
    const ports = listeningPorts(tree);
    expect(ports).toContain(Number(new URL(kubeConfig.getCurrentCluster()?.server ?? "").port));
    expect(ports).toContain(
      Number(match(budgetCommands[2] as string, /127\.0\.0\.1:(\d+)\//, "the metrics port")),
    );
    const stopping = Date.now();
    running.signal("SIGINT");
    const code = await Promise.race([
      running.exited,
      new Promise((resolve) =>
        setTimeout(() => resolve("still running 60 s after SIGINT"), 60_000),
      ),
    ]);
    expect(code).toBe(0);
    console.log(`[e2e] the demo stopped ${Date.now() - stopping} ms after SIGINT`);
    expect(running.screen()).toContain(`stopped; removed ${dataDir}`);
    expect(tree.filter(isRunning)).toEqual([]);
    expect(processesMentioning(tmp)).toEqual([]);
    expect(listeningSockets().filter((socket) => ports.includes(socket.port))).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
    expect(running.unstructured).toEqual([]);
    demo = undefined;
  }, 900_000);

  it("ODIGOS_DEMO_SECONDS runs it unattended for that long, then it stops by itself leaving nothing", async () => {
    const home = freshFolder("home");
    const tmp = freshFolder("tmp");
    const bad = startDemo(demoEnv(home, tmp, { ODIGOS_DEMO_SECONDS: "soon" }));
    expect(await bad.exited).toBe(2);
    expect(bad.screen()).toContain(
      "ODIGOS_DEMO_SECONDS=soon: expected a whole number of seconds > 0",
    );

    const running = startDemo(demoEnv(home, tmp, { ODIGOS_DEMO_SECONDS: "1" }));
    demo = running;
    const clusterLine = await running.waitForLog(
      (line) => line.msg === "local cluster started",
      guideTimeoutMs,
    );
    const tree = [running.pid, ...descendants(running.pid)];
    expect(tree.length).toBeGreaterThan(5);
    const code = await Promise.race([
      running.exited,
      new Promise((resolve) => setTimeout(() => resolve("still running"), guideTimeoutMs)),
    ]);
    expect(code).toBe(0);
    const screen = running.screen();
    expect(parseGuide(screen)).toHaveLength(expectedSteps.length);
    expect(screen).toContain("ODIGOS_DEMO_SECONDS=1: stopping in 1 s");
    expect(screen).toContain(`stopped; removed ${String(clusterLine.dataDir)}`);
    expect(tree.filter(isRunning)).toEqual([]);
    expect(processesMentioning(tmp)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
    expect(running.unstructured).toEqual([]);
    demo = undefined;
  }, 300_000);
});
