/** Command-line flags of `pnpm bench`. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export interface BenchOptions {
  readonly workloads: number;
  readonly namespaces: number;
  readonly cycles: number;
  /**
   * Fresh instrumentor processes timed through one cycle each (cold), every one between two
   * floor runs at the reference concurrency: cycle 1's ratio without the drift and run-to-run
   * noise of a single floor measured minutes apart.
   */
  readonly coldStarts: number;
  readonly flips: number;
  readonly steadySeconds: number;
  readonly seedConcurrency: number;
  /** The floor's concurrencies; the first is the one ratios are taken against (the instrumentor's 8). */
  readonly floorConcurrencies: ReadonlyArray<number>;
  readonly instrumentorNodeArgs: ReadonlyArray<string>;
  readonly instrumentorArgs: ReadonlyArray<string>;
  /** More environment for the instrumentor (`KEY=VALUE` words), e.g. `MALLOC_ARENA_MAX=2`. */
  readonly instrumentorEnv: Readonly<Record<string, string>>;
  /**
   * Another entry of the instrumentor (A/B experiments, e.g. tsc's `apps/instrumentor/dist/main.js`);
   * default the workspace's production bundle, `apps/instrumentor/dist/bundle/instrumentor.mjs`.
   */
  readonly instrumentorMain: string | undefined;
  readonly phaseTimeoutSeconds: number;
  /** Before each timed phase, wait up to this long for other processes to leave the CPUs (0: never wait). */
  readonly quietWaitSeconds: number;
  /** After each cycle, force a full GC in the instrumentor (inspector protocol) and record the live heap. */
  readonly gcProbe: boolean;
  /** Write a CPU profile of the instrumentor per phase here (through the inspector); needs the GC probe's inspector. */
  readonly cpuProfileDir: string | undefined;
  /**
   * Runs of `kubectl odigos-instrumentor status -A -o json` (the built plugin, a new process
   * each) timed once every workload is instrumented; 0 with `--no-plugin`.
   */
  readonly pluginRuns: number;
  /**
   * Install the minimal Argo Rollouts CRD and seed a share of Rollouts (no Argo controller: each
   * with 0 replicas and a fake Healthy status). Off with `--no-rollouts`, and with `--pods`.
   */
  readonly rollouts: boolean;
  /** JSON output path; default `bench-results/bench-<N>-<timestamp>.json` at the repo root. */
  readonly out: string | undefined;
  /**
   * `--pods`: the cluster with pods (kube-controller-manager, kube-scheduler, KWOK nodes), where
   * every device change rolls the workload's pods; phases are mass rollouts under each budget.
   */
  readonly pods: boolean;
  /**
   * With `--pods`: the instrument phase runs once per budget (`--max-concurrent-rollouts`, 0 =
   * unlimited). Default 50 (the target's) and unlimited: with 10 as well, N=1000 takes over 20
   * minutes on a 2-core machine (budget 10 alone is over 5).
   */
  readonly budgets: ReadonlyArray<number>;
  /** With `--pods`: the budget of the un-instrument phase that resets the cluster between budgets. */
  readonly uninstrumentBudget: number;
  /** With `--pods`: KWOK nodes advertising the devices. */
  readonly nodes: number;
  /** With `--pods`: pods per workload (a DaemonSet is limited to that many nodes). */
  readonly replicas: number;
  /** With `--pods`: single rollouts per kind timed on a quiet cluster for one rollout's time. */
  readonly calibrationRollouts: number;
  /** With `--pods`: pods of Deployments in a namespace that is not opted in (issue 35). */
  readonly otherPods: number;
  /** With `--pods`: the Deployments those pods belong to. */
  readonly otherWorkloads: number;
  /** Runs nothing: prints the report of this JSON results file again (this version's tables and targets). */
  readonly report: string | undefined;
  readonly help: boolean;
}

export const usage = `pnpm bench [flags]   (from the repo root; builds first)

  --workloads N               workloads to seed (default 1000)
  --namespaces N              namespaces they are spread over (default 20)
  --cycles N                  ready/unready cycles, the first is the headline (default 10)
  --cold-starts N             after the main run, N fresh instrumentor processes, each timed through
                              one cycle between two floor runs (default 3; 0: none)
  --flips N                   single opt-out/opt-in flips (default 200)
  --steady-seconds N          quiet period measured at the end (default 30)
  --seed-concurrency N        requests in flight while seeding (default 32)
  --floor-concurrency LIST    floor client concurrencies, first = reference (default 8,16,32,64)
  --instrumentor-node-args S  node flags for the instrumentor, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  --instrumentor-args S       extra instrumentor flags, e.g. "--max-concurrent-reconciles=16"
  --instrumentor-env S       more environment for the instrumentor, e.g. "MALLOC_ARENA_MAX=2"
  --instrumentor-main PATH    run this entry instead of the bundle, apps/instrumentor/dist/bundle/instrumentor.mjs
                              (experiments; apps/instrumentor/dist/main.js is tsc's output, unbundled)
  --phase-timeout-seconds N   give up on a phase that does not converge (default 600)
  --quiet-wait-seconds N      before each timed phase, wait up to N s for other processes'
                              CPU use to drop below 0.3 cores (default 15; 0: never wait)
  --no-gc-probe               do not start the instrumentor with --inspect=127.0.0.1:0 to force a full
                              GC after the first and the last cycle (outside the timings) and record
                              its live heap, which tells a leak from garbage V8 has not collected yet
  --cpu-profile-dir DIR       profile the instrumentor during each measured phase (inspector
                              protocol, 100 µs sampling) into DIR/<phase>.cpuprofile, and report
                              the top self-time functions (profiling slows it somewhat)
  --plugin-runs N             once every workload is instrumented, time N runs of
                              kubectl odigos-instrumentor status -A -o json, the built plugin
                              (its bundle, dist/bundle/) a new process each (default 5)
  --no-plugin                 do not time the plugin
  --no-rollouts               do not install the minimal Argo Rollouts CRD nor seed Rollouts
                              (5 % of the workloads otherwise; never with --pods)
  --out PATH                  JSON results file

  --pods                      a cluster with pods (controller manager, scheduler, KWOK nodes):
                              every device change rolls pods; phases are mass rollouts
                              (ignores --cycles, --flips, --floor-concurrency, --plugin-runs)
  --budgets LIST              with --pods: instrument once per --max-concurrent-rollouts
                              (0 = unlimited; default 50,0; issue 13's full run: 10,50,0)
  --uninstrument-budget N     with --pods: the budget of the un-instrument phase between
                              budgets (default 0, unlimited)
  --nodes N                   with --pods: KWOK nodes with the devices (default 20, plus one without)
  --replicas N                with --pods: pods per workload (default 2)
  --calibration-rollouts N    with --pods: single rollouts per kind timed alone for one
                              rollout's time, the unit of the ideal (default 4)
  --other-pods P              with --pods: P more pods, of Deployments in a namespace that is not
                              opted in, seeded first and rolled while the instrumentor idles
                              (default 0; issue 35: 10000)
  --other-workloads W         with --pods: the Deployments of --other-pods (default 0: P / 20;
                              issue 35: 500)

  --report PATH               run nothing: print the report of a JSON results file again
`;

const words = (value: string | undefined): string[] =>
  value === undefined ? [] : value.split(/\s+/).filter((word) => word !== "");

/** A flag's integer value of at least `min`, or `fallback` when it is not given. */
export const positive = (
  name: string,
  value: string | undefined,
  fallback: number,
  min = 1,
): number => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min)
    throw new Error(`--${name} must be an integer >= ${min}, got "${value}"`);
  return parsed;
};

/** `KEY=VALUE` words as an environment. */
const environment = (value: string | undefined): Record<string, string> =>
  Object.fromEntries(
    words(value).map((word) => {
      const at = word.indexOf("=");
      if (at <= 0) throw new Error(`--instrumentor-env takes KEY=VALUE words, got "${word}"`);
      return [word.slice(0, at), word.slice(at + 1)];
    }),
  );

/** Parses argv (`--` separators that pnpm passes along are ignored). */
export const parseBenchArgs = (argv: ReadonlyArray<string>): BenchOptions => {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== "--"),
    strict: true,
    allowPositionals: false,
    options: {
      workloads: { type: "string" },
      namespaces: { type: "string" },
      cycles: { type: "string" },
      "cold-starts": { type: "string" },
      flips: { type: "string" },
      "steady-seconds": { type: "string" },
      "seed-concurrency": { type: "string" },
      "floor-concurrency": { type: "string" },
      "instrumentor-node-args": { type: "string" },
      "instrumentor-args": { type: "string" },
      "instrumentor-env": { type: "string" },
      "instrumentor-main": { type: "string" },
      "phase-timeout-seconds": { type: "string" },
      "quiet-wait-seconds": { type: "string" },
      out: { type: "string" },
      "plugin-runs": { type: "string" },
      "no-plugin": { type: "boolean" },
      "no-rollouts": { type: "boolean" },
      "no-gc-probe": { type: "boolean" },
      "cpu-profile-dir": { type: "string" },
      pods: { type: "boolean" },
      budgets: { type: "string" },
      "uninstrument-budget": { type: "string" },
      nodes: { type: "string" },
      replicas: { type: "string" },
      "calibration-rollouts": { type: "string" },
      "other-pods": { type: "string" },
      "other-workloads": { type: "string" },
      report: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const floorConcurrencies = (values["floor-concurrency"] ?? "8,16,32,64")
    .split(",")
    .filter((part) => part.trim() !== "")
    .map((part) => positive("floor-concurrency", part.trim(), 8));
  if (floorConcurrencies.length === 0) throw new Error("--floor-concurrency needs a value");
  const budgets = (values.budgets ?? "50,0")
    .split(",")
    .filter((part) => part.trim() !== "")
    .map((part) => positive("budgets", part.trim(), 0, 0));
  if (budgets.length === 0) throw new Error("--budgets needs a value");
  const otherPods = positive("other-pods", values["other-pods"], 0, 0);
  const otherWorkloads = positive("other-workloads", values["other-workloads"], 0, 0);
  if (otherWorkloads > 0 && otherPods < otherWorkloads)
    throw new Error("--other-workloads needs at least as many --other-pods");
  return {
    workloads: positive("workloads", values.workloads, 1000),
    namespaces: positive("namespaces", values.namespaces, 20),
    cycles: positive("cycles", values.cycles, 10),
    coldStarts: positive("cold-starts", values["cold-starts"], 3, 0),
    flips: positive("flips", values.flips, 200, 0),
    steadySeconds: positive("steady-seconds", values["steady-seconds"], 30, 0),
    seedConcurrency: positive("seed-concurrency", values["seed-concurrency"], 32),
    floorConcurrencies,
    instrumentorNodeArgs: words(values["instrumentor-node-args"]),
    instrumentorArgs: words(values["instrumentor-args"]),
    instrumentorEnv: environment(values["instrumentor-env"]),
    // Relative to where `pnpm bench` was typed (pnpm runs the script in tooling/bench).
    instrumentorMain:
      values["instrumentor-main"] === undefined
        ? undefined
        : resolve(process.env.INIT_CWD ?? ".", values["instrumentor-main"]),
    phaseTimeoutSeconds: positive("phase-timeout-seconds", values["phase-timeout-seconds"], 600),
    quietWaitSeconds: positive("quiet-wait-seconds", values["quiet-wait-seconds"], 15, 0),
    gcProbe: !(values["no-gc-probe"] ?? false) || values["cpu-profile-dir"] !== undefined,
    cpuProfileDir: values["cpu-profile-dir"],
    pluginRuns:
      values["no-plugin"] === true ? 0 : positive("plugin-runs", values["plugin-runs"], 5),
    out: values.out,
    rollouts: values["no-rollouts"] !== true && values.pods !== true,
    pods: values.pods ?? false,
    budgets,
    uninstrumentBudget: positive("uninstrument-budget", values["uninstrument-budget"], 0, 0),
    nodes: positive("nodes", values.nodes, 20),
    replicas: positive("replicas", values.replicas, 2),
    calibrationRollouts: positive("calibration-rollouts", values["calibration-rollouts"], 4),
    otherPods,
    otherWorkloads:
      otherPods === 0 ? 0 : otherWorkloads > 0 ? otherWorkloads : Math.ceil(otherPods / 20),
    report: values.report,
    help: values.help ?? false,
  };
};
