/**
 * What `make start` prints once the local demo is ready: numbered steps, each a sentence saying
 * what will be seen and the lines to paste. Every command is a whole shell line that works with a
 * stock kubectl (≥ 1.24, for `--subresource`), the repository's kubectl plugin (built with the
 * demo) and curl; test-e2e/src/demo runs each one exactly as printed and checks that the cluster
 * (or the plugin's output) shows what the sentence says.
 */
import { DefaultOdigosNamespace } from "@odigos/crd-types";
import {
  demoCollectorsGroup,
  demoCronJob,
  demoExtraWorkloads,
  demoNamespace,
  demoWorkload,
} from "./demo-seed.js";

export interface GuideInput {
  /** How to run kubectl: `kubectl` when one is on PATH, else the absolute path of the built one. */
  readonly kubectl: string;
  readonly kubeconfigPath: string;
  readonly odigosNamespace: string;
  /** `http://127.0.0.1:<port>/metrics`, or undefined when metrics are off. */
  readonly metricsUrl: string | undefined;
  readonly maxConcurrentRollouts: number;
  readonly collectorsUnreadyGraceMs: number;
  /** The stand-in node agent's delay. */
  readonly agentDelayMs: number;
  /** `gitVersion` of the API server's `/version`. */
  readonly serverVersion: string;
  /** The node label that says whether a node advertises the devices. */
  readonly deviceNodeLabel: string;
  readonly nodesWithDevices: number;
  readonly nodesWithoutDevices: number;
  /** The device the instrumentor added to the demo workload (`instrumentation.odigos.io/…`). */
  readonly device: string;
  /**
   * Absolute folders to put first on PATH for kubectl to find `kubectl-odigos_instrumentor` and
   * for its wrapper to run on the right Node: the plugin's `bin`, and the folder of this Node.
   */
  readonly pluginPath: ReadonlyArray<string>;
}

export interface GuideStep {
  /** What the step does and what will be seen. */
  readonly text: string;
  /** Whole shell lines. */
  readonly commands: ReadonlyArray<string>;
}

/** Single-quotes a shell word unless it is made only of characters no shell treats specially. */
export const shellWord = (word: string): string =>
  /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/** `kubectl` with the demo's kubeconfig, and the same in namespace demo. */
const kubectlOf = (input: GuideInput) => {
  const k = `${shellWord(input.kubectl)} --kubeconfig ${shellWord(input.kubeconfigPath)}`;
  return { k, inDemo: `${k} -n ${demoNamespace}` };
};

/** Steps 1-5: the cluster, the pods rolling, the device, opting out and back in. */
const workloadSteps = (input: GuideInput): ReadonlyArray<GuideStep> => {
  const { k, inDemo } = kubectlOf(input);
  return [
    {
      text:
        `The cluster: kubectl reaches it (Server Version: ${input.serverVersion}), and of its ` +
        `${input.nodesWithDevices + input.nodesWithoutDevices} nodes, ${input.nodesWithDevices} ` +
        "advertise the instrumentation devices (INSTRUMENTATION-DEVICES true) and " +
        `${input.nodesWithoutDevices} does not (false): pods that ask for a device run only on the first.`,
      commands: [`${k} version`, `${k} get nodes -L ${input.deviceNodeLabel}`],
    },
    {
      text:
        `Watch ${demoWorkload}'s pods (leave it running). Each time the device is added or removed, ` +
        "its 2 pods are replaced one at a time: a pod with a new name appears (Pending, then " +
        "Running 0/1, then 1/1), then an old one is Terminating.",
      commands: [`${inDemo} get pods -l app=${demoWorkload} -w`],
    },
    {
      text:
        `The device on ${demoWorkload}'s pod template, and the runtime details that made the ` +
        `instrumentor add it (deployment-${demoWorkload}):`,
      commands: [
        `${inDemo} get deployment ${demoWorkload} -o jsonpath='{.spec.template.spec.containers[0].resources.limits}{"\\n"}'`,
        `${inDemo} get instrumentedapplication deployment-${demoWorkload}`,
      ],
    },
    {
      text:
        `Opt ${demoWorkload} out: the device goes (the pods roll, in 2.), its runtime details are ` +
        "deleted, and the instrumentor's Events say why:",
      commands: [
        `${inDemo} annotate deployment ${demoWorkload} odigos.io/instrument=false --overwrite`,
        `${inDemo} get events --field-selector reportingComponent=odigos.io/instrumentor`,
      ],
    },
    {
      text:
        "Opt it back in. In a real cluster the Odigos node agent re-creates the runtime details " +
        "once it has inspected a pod; it does not run here, so this demo plays its part, for " +
        `namespace ${demoNamespace} only: about ${seconds(input.agentDelayMs)} later ` +
        `deployment-${demoWorkload} is back, then the device, and the pods roll again (in 2.):`,
      commands: [
        `${inDemo} annotate deployment ${demoWorkload} odigos.io/instrument=true --overwrite`,
      ],
    },
  ];
};

/**
 * Step 6: the CronJob. Its device is written into its Job template at once, with no rollout; the
 * Jobs scheduled after that start from the template, so their pods carry it.
 */
const cronJobStep = (input: GuideInput): GuideStep => {
  const { inDemo } = kubectlOf(input);
  const name = demoCronJob.name;
  const limits = "{.spec.jobTemplate.spec.template.spec.containers[0].resources.limits}";
  return {
    text:
      `The CronJob ${name}, opted in by its own annotation, runs a Job every minute. Once the pod ` +
      "of its first Job has run, the stand-in creates its runtime details " +
      `(cronjob-${name}, app=${demoCronJob.language}) as for ${demoWorkload}, and the instrumentor ` +
      "writes the device into its Job template at once: no rollout and no rollout slot, for " +
      "changing a CronJob restarts nothing. The Jobs scheduled after that start from the " +
      "template: their pods carry the device (DEVICES), the first Job's did not. A Job's pod " +
      "completes here once Ready and the last Job is kept, so allow 2 minutes from make start:",
    commands: [
      `${inDemo} get cronjob ${name} -o jsonpath='${limits}{"\\n"}'`,
      `${inDemo} get instrumentedapplication cronjob-${name}`,
      `${inDemo} get jobs,pods -l app=${name}`,
      `${inDemo} get pods -l app=${name} -o custom-columns='NAME:.metadata.name,STATUS:.status.phase,DEVICES:.spec.containers[*].resources.limits'`,
    ],
  };
};

/**
 * Step 7: `kubectl odigos-instrumentor` on the demo. kubectl takes no flag before a plugin's
 * name, so each line names the kubeconfig in KUBECONFIG, and puts the plugin first on PATH.
 */
const pluginStep = (input: GuideInput): GuideStep => {
  const path = `PATH=${shellWord(input.pluginPath.join(":"))}:$PATH`;
  const plugin = `${path} KUBECONFIG=${shellWord(input.kubeconfigPath)} ${shellWord(input.kubectl)} odigos-instrumentor`;
  const odigos =
    input.odigosNamespace === DefaultOdigosNamespace
      ? ""
      : ` --odigos-namespace ${shellWord(input.odigosNamespace)}`;
  const device = input.device.slice(input.device.lastIndexOf("/") + 1);
  return {
    text:
      "What is instrumented, and why, with this repository's kubectl plugin (make start built it; " +
      "each line puts it and the Node it runs on first on PATH). status counts the " +
      `${2 + demoExtraWorkloads.length} workloads of ${demoNamespace} (${1 + demoExtraWorkloads.length} ` +
      "Deployments and the CronJob) by state and by reason " +
      `(Instrumented 2, NotOptedIn ${demoExtraWorkloads.length}), then gives one row each: ` +
      `${demoWorkload} and ${demoCronJob.name} Instrumented, reason Instrumented, with ` +
      `app:${device}. explain gives ${demoWorkload}'s chain: opted in by its own annotation, its ` +
      "runtime details (app=go), the collectors ready, the device wanted and present, its last " +
      `rollout; for ${demoCronJob.name}, the same chain but no rollout: its next Job picks the ` +
      "template up. The instrumentor runs here as a process, not a pod, so all three also say " +
      "that the live facts only it knows (a place in line for a rollout slot, a fight, the " +
      "breaker) are unavailable:",
    commands: [
      `${plugin} status -n ${demoNamespace}${odigos}`,
      `${plugin} explain ${demoNamespace}/deployment/${demoWorkload}${odigos}`,
      `${plugin} explain ${demoNamespace}/cronjob/${demoCronJob.name}${odigos}`,
    ],
  };
};

/** Steps 8-10: the rollout budget and the collectors grace period. */
const rolloutSteps = (input: GuideInput): ReadonlyArray<GuideStep> => {
  const { k, inDemo } = kubectlOf(input);
  const budget =
    input.maxConcurrentRollouts === 0
      ? "with no limit on rollouts at once (--max-concurrent-rollouts=0)"
      : `never more than ${input.maxConcurrentRollouts} rolling at once (this demo runs with --max-concurrent-rollouts=${input.maxConcurrentRollouts}; the default is 20)`;
  const patchCollectors = (ready: boolean) =>
    `${k} -n ${input.odigosNamespace} patch collectorsgroup ${demoCollectorsGroup} --subresource=status --type=merge -p '{"status":{"ready":${ready}}}'`;
  const others = demoExtraWorkloads.map((workload) => workload.name);
  const all = [demoWorkload, ...others].length;
  return [
    {
      text:
        `The rollout budget: watch the ${all} Deployments (UP-TO-DATE below 2 while one rolls) ` +
        `and opt the whole namespace in. ${others.join(", ")} get runtime details, then devices, ` +
        `${budget}; ${demoCronJob.name} takes no slot: a CronJob has no rollout.` +
        (input.metricsUrl === undefined
          ? ""
          : " The instrumentor's metrics show the rollouts in flight, those waiting for a slot, " +
            "and the current wave (1, 2, 4, … up to the budget):"),
      commands: [
        `${inDemo} get deployments -w`,
        `${k} annotate namespace ${demoNamespace} odigos.io/instrument=true`,
        ...(input.metricsUrl === undefined
          ? []
          : [`curl -s ${input.metricsUrl} | grep '^odigos_instrumentor_rollout'`]),
      ],
    },
    {
      text:
        "The collectors grace period: make the collectors not ready. Nothing changes for " +
        `${seconds(input.collectorsUnreadyGraceMs)} (this demo runs with ` +
        `--collectors-unready-grace=${seconds(input.collectorsUnreadyGraceMs).replace(" ", "")}; ` +
        `the default is 2m), then every device goes, under the same budget (in the watch of 8.; ` +
        `${demoCronJob.name}'s at once, outside it):`,
      commands: [patchCollectors(false)],
    },
    {
      text: "Collectors ready again: the devices come back at once, under the same budget:",
      commands: [patchCollectors(true)],
    },
  ];
};

/** The numbered steps make start prints once the demo workload is instrumented. */
export const guideSteps = (input: GuideInput): ReadonlyArray<GuideStep> => [
  ...workloadSteps(input),
  cronJobStep(input),
  pluginStep(input),
  ...rolloutSteps(input),
];

const wrap = (text: string, width: number, indent: string): string[] => {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = "";
    }
    line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines.map((one, index) => (index === 0 ? one : `${indent}${one}`));
};

/** The steps as printed: `  N. text…` wrapped at 100 columns, each command on its own line below. */
export const renderGuide = (steps: ReadonlyArray<GuideStep>): string =>
  steps
    .map((step, index) => {
      const head = `  ${index + 1}. `;
      const text = wrap(step.text, 100 - head.length, " ".repeat(head.length)).join("\n");
      return [`${head}${text}`, ...step.commands.map((command) => `       ${command}`)].join("\n");
    })
    .join("\n\n");
