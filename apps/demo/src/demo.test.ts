import { Writable } from "node:stream";
import { describe, expect, it } from "@effect/vitest";
import { OdigosConfigName, OdigosResources } from "@odigos/crd-types";
import { type KubeObject, Resources } from "@odigos/kube-client";
import { eventually, FakeApiServer } from "@odigos/kube-client/testing";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import * as TestClock from "effect/TestClock";
import { type GuideInput, guideSteps, renderGuide, shellWord } from "./demo-guide.js";
import { demoLogger, parseDemoSeconds } from "./demo-log.js";
import { runNodeAgentStandIn } from "./node-agent-stand-in.js";
import { type AgentView, demoLanguageAnnotation, eligibility } from "./stand-in-eligibility.js";

/** The stand-in's logger, its JSON lines parsed into `lines` as they are written. */
const capturingLogger = () => {
  const lines: Array<Record<string, unknown> & { msg?: string; level?: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line !== "") lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: demoLogger("demo-node-agent", "debug", sink), lines };
};

const deployment = (name: string, annotations: Record<string, string> = {}): KubeObject => ({
  metadata: { name, namespace: "demo", annotations, resourceVersion: "1" },
  spec: { selector: { matchLabels: { app: name } } },
});

const pod = (
  owner: string,
  name: string,
  options: { phase?: string; language?: string | null; deleting?: boolean } = {},
): KubeObject => ({
  metadata: {
    name,
    namespace: "demo",
    labels: { app: owner },
    annotations:
      options.language === null ? {} : { [demoLanguageAnnotation]: options.language ?? "go" },
    ...(options.deleting === true ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
  },
  spec: { containers: [{ name: "app" }, { name: "sidecar" }] },
  status: { phase: options.phase ?? "Running" },
});

/** A pod of the Job `<cronJob>-<minute>` the CronJob controller created. */
const jobPod = (cronJob: string, minute: number, phase: string, job = `${cronJob}-${minute}`) =>
  ({
    metadata: {
      name: `${job}-x7k2p`,
      namespace: "demo",
      labels: { app: cronJob, "job-name": job },
      annotations: { [demoLanguageAnnotation]: "go" },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: job, controller: true }],
    },
    spec: { containers: [{ name: "app" }] },
    status: { phase },
  }) satisfies KubeObject;

const cronJob = (name: string, annotations: Record<string, string> = {}): KubeObject => ({
  metadata: { name, namespace: "demo", annotations, resourceVersion: "1" },
  spec: { schedule: "* * * * *", jobTemplate: { spec: { template: {} } } },
});

const view = (overrides: Partial<AgentView> = {}): AgentView => ({
  namespace: "demo",
  odigosNamespace: "odigos-system",
  namespaceObject: { metadata: { name: "demo" } },
  config: undefined,
  deployments: [],
  cronJobs: [],
  pods: [pod("cart", "cart-1")],
  runtimeDetails: new Set(),
  ...overrides,
});

/** Runs the stand-in for namespace demo (2 s delay) on `fake` in this scope; its log lines. */
const startStandIn = (fake: FakeApiServer) =>
  Effect.gen(function* () {
    const { logger, lines } = capturingLogger();
    yield* Effect.forkScoped(
      runNodeAgentStandIn({
        namespace: "demo",
        odigosNamespace: "odigos-system",
        delayMs: 2_000,
        log: logger,
      }).pipe(Effect.provide(fake.layer)),
    );
    return lines;
  });

describe("the stand-in node agent's decision", () => {
  const optedIn = deployment("cart", { "odigos.io/instrument": "true" });

  it("gives runtime details to an opted-in Deployment with a Running pod, for every container", () => {
    expect(eligibility(view(), optedIn)).toEqual({
      _tag: "Eligible",
      pod: "cart-1",
      language: "go",
      containers: ["app", "sidecar"],
    });
    // Opted in through its namespace.
    expect(
      eligibility(
        view({
          namespaceObject: {
            metadata: { name: "demo", annotations: { "odigos.io/instrument": "true" } },
          },
        }),
        deployment("cart"),
      )._tag,
    ).toBe("Eligible");
  });

  it("never to a workload that is not opted in, like the real agent (SPEC 5 would delete them)", () => {
    const reasons = [
      eligibility(view(), deployment("cart")),
      eligibility(view(), deployment("cart", { "odigos.io/instrument": "false" })),
      eligibility(
        view({
          namespaceObject: {
            metadata: { name: "demo", annotations: { "odigos.io/instrument": "true" } },
          },
        }),
        deployment("cart", { "odigos.io/instrument": "false" }),
      ),
      eligibility(
        view({
          config: {
            metadata: { name: OdigosConfigName },
            spec: { ignoredNamespaces: ["demo"] },
          },
        }),
        optedIn,
      ),
    ].map((answer) => (answer._tag === "NotEligible" ? answer.reason : answer._tag));
    expect(reasons).toEqual(["NotOptedIn", "NotOptedIn", "NotOptedIn", "NotOptedIn"]);
  });

  it("waits for a Running pod that is not going away, with a known language, and for no runtime details", () => {
    const reason = (overrides: Partial<AgentView>) => {
      const answer = eligibility(view(overrides), optedIn);
      return answer._tag === "NotEligible" ? answer.reason : answer._tag;
    };
    expect(reason({ runtimeDetails: new Set(["deployment-cart"]) })).toBe("HasRuntimeDetails");
    expect(reason({ pods: [pod("cart", "cart-1", { phase: "Pending" })] })).toBe("NoRunningPod");
    expect(reason({ pods: [pod("cart", "cart-1", { deleting: true })] })).toBe("NoRunningPod");
    expect(reason({ pods: [pod("other", "other-1")] })).toBe("NoRunningPod");
    expect(reason({ pods: [pod("cart", "cart-1", { language: null })] })).toBe("NoLanguage");
    expect(reason({ pods: [pod("cart", "cart-1", { language: "cobol" })] })).toBe(
      "UnknownLanguage",
    );
  });
});

describe("the stand-in node agent's decision for a CronJob", () => {
  const optedIn = cronJob("nightly-report", { "odigos.io/instrument": "true" });
  const reason = (pods: KubeObject[], overrides: Partial<AgentView> = {}, workload = optedIn) => {
    const answer = eligibility(view({ pods, ...overrides }), workload, "CronJob");
    return answer._tag === "NotEligible" ? answer.reason : answer._tag;
  };

  it("inspects a pod of one of its Jobs that runs, or ran: a Job's pod ends by itself", () => {
    expect(
      eligibility(
        view({ pods: [jobPod("nightly-report", 29380620, "Succeeded")] }),
        optedIn,
        "CronJob",
      ),
    ).toEqual({
      _tag: "Eligible",
      pod: "nightly-report-29380620-x7k2p",
      language: "go",
      containers: ["app"],
    });
    expect(reason([jobPod("nightly-report", 29380620, "Running")])).toBe("Eligible");
  });

  it("not a pending or failed one, one of another CronJob's Jobs or a Job not named for the CronJob; nor when not opted in or it has runtime details", () => {
    expect(reason([jobPod("nightly-report", 29380620, "Pending")])).toBe("NoRunningPod");
    expect(reason([jobPod("nightly-report", 29380620, "Failed")])).toBe("NoRunningPod");
    expect(reason([jobPod("weekly-report", 29380620, "Succeeded")])).toBe("NoRunningPod");
    expect(reason([jobPod("nightly-report", 1, "Running", "nightly-report")])).toBe("NoRunningPod");
    // A Deployment's pod with the same label is not the CronJob's.
    expect(reason([pod("nightly-report", "nightly-report-1")])).toBe("NoRunningPod");
    const succeeded = [jobPod("nightly-report", 29380620, "Succeeded")];
    expect(reason(succeeded, {}, cronJob("nightly-report"))).toBe("NotOptedIn");
    expect(reason(succeeded, { runtimeDetails: new Set(["cronjob-nightly-report"]) })).toBe(
      "HasRuntimeDetails",
    );
    // A Deployment's runtime details of the same name are not the CronJob's.
    expect(reason(succeeded, { runtimeDetails: new Set(["deployment-nightly-report"]) })).toBe(
      "Eligible",
    );
  });
});

describe("the stand-in node agent", () => {
  it.scoped(
    "creates runtime details a delay after a Deployment qualifies, and again after an opt-out and back in",
    () =>
      Effect.gen(function* () {
        const fake = new FakeApiServer();
        fake.put(Resources.Namespace, { metadata: { name: "demo" } });
        fake.put(Resources.Deployment, deployment("cart", { "odigos.io/instrument": "true" }));
        fake.put(Resources.Deployment, deployment("idle"));
        fake.put(Resources.Pod, pod("cart", "cart-1"));
        fake.put(Resources.Pod, pod("idle", "idle-1", { language: "java" }));
        const lines = yield* startStandIn(fake);
        const details = () =>
          fake.get(OdigosResources.InstrumentedApplication, "deployment-cart", "demo");
        yield* eventually(
          () => lines.some((line) => line.reason === "Inspecting"),
          "inspecting cart's pod",
        );
        // The delay counts from the clock reading the line names (TestClock starts at 0).
        expect(lines.find((line) => line.reason === "Inspecting")?.since).toBe(
          new Date(0).toISOString(),
        );
        yield* TestClock.adjust(1_999);
        expect(details()).toBeUndefined();
        yield* TestClock.adjust(1);
        const created = yield* eventually(details, "cart's runtime details");
        expect(created.spec).toEqual({
          languages: [
            { containerName: "app", language: "go" },
            { containerName: "sidecar", language: "go" },
          ],
        });
        expect(
          fake.get(OdigosResources.InstrumentedApplication, "deployment-idle", "demo"),
        ).toBeUndefined();

        // Opted out, the instrumentor deletes them; opted back in, the stand-in creates them again.
        fake.update(Resources.Deployment, "cart", "demo", {
          metadata: { annotations: { "odigos.io/instrument": "false" } },
        });
        fake.remove(OdigosResources.InstrumentedApplication, "deployment-cart", "demo");
        fake.update(Resources.Deployment, "cart", "demo", {
          metadata: { annotations: { "odigos.io/instrument": "true" } },
        });
        yield* eventually(
          () => lines.filter((line) => line.reason === "Inspecting").length === 2,
          "inspecting cart's pod again",
        );
        yield* TestClock.adjust(2_000);
        yield* eventually(details, "cart's runtime details again");

        // The namespace opted in: the Deployment without a marker qualifies too.
        fake.update(Resources.Namespace, "demo", undefined, {
          metadata: { annotations: { "odigos.io/instrument": "true" } },
        });
        yield* eventually(
          () => lines.some((line) => line.reason === "Inspecting" && line.workload === "idle"),
          "inspecting idle's pod",
        );
        yield* TestClock.adjust(2_000);
        const idle = yield* eventually(
          () => fake.get(OdigosResources.InstrumentedApplication, "deployment-idle", "demo"),
          "idle's runtime details",
        );
        expect(idle.spec).toEqual({
          languages: [
            { containerName: "app", language: "java" },
            { containerName: "sidecar", language: "java" },
          ],
        });
        expect(fake.writes({ verb: "create" })).toHaveLength(3);
      }),
  );

  it.scoped("creates a CronJob's runtime details a delay after a pod of one of its Jobs ran", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      fake.put(Resources.Namespace, { metadata: { name: "demo" } });
      fake.put(Resources.CronJob, cronJob("nightly-report", { "odigos.io/instrument": "true" }));
      fake.put(Resources.Pod, jobPod("nightly-report", 29380620, "Succeeded"));
      const lines = yield* startStandIn(fake);
      const details = () =>
        fake.get(OdigosResources.InstrumentedApplication, "cronjob-nightly-report", "demo");
      yield* eventually(
        () => lines.some((line) => line.reason === "Inspecting" && line.kind === "CronJob"),
        "inspecting nightly-report's Job's pod",
      );
      yield* TestClock.adjust(1_999);
      expect(details()).toBeUndefined();
      yield* TestClock.adjust(1);
      const created = yield* eventually(details, "nightly-report's runtime details");
      expect(created.spec).toEqual({ languages: [{ containerName: "app", language: "go" }] });
      expect(lines.find((line) => line.reason === "RuntimeDetailsCreated")).toMatchObject({
        kind: "CronJob",
        workload: "nightly-report",
        pod: "nightly-report-29380620-x7k2p",
      });
    }),
  );
});

describe("the stand-in node agent, when the API server refuses", () => {
  it.scoped("tries again a delay later, and says why", () =>
    Effect.gen(function* () {
      const fake = new FakeApiServer();
      fake.put(Resources.Namespace, { metadata: { name: "demo" } });
      fake.put(Resources.Deployment, deployment("cart", { "odigos.io/instrument": "true" }));
      fake.put(Resources.Pod, pod("cart", "cart-1"));
      fake.failNext({ verb: "create", resource: "instrumentedapplications" }, 500);
      const lines = yield* startStandIn(fake);
      yield* eventually(() => lines.some((line) => line.reason === "Inspecting"), "inspecting");
      yield* TestClock.adjust(2_000);
      yield* eventually(
        () => lines.some((line) => line.level === "warn" && line.workload === "cart"),
        "the refusal logged",
      );
      expect(
        fake.get(OdigosResources.InstrumentedApplication, "deployment-cart", "demo"),
      ).toBeUndefined();
      yield* TestClock.adjust(2_000);
      yield* eventually(
        () => fake.get(OdigosResources.InstrumentedApplication, "deployment-cart", "demo"),
        "cart's runtime details on the second try",
      );
    }),
  );
});

describe("the printed guide", () => {
  const input: GuideInput = {
    kubectl: "kubectl",
    kubeconfigPath: "/tmp/odigos-control-plane-x/kubeconfig",
    odigosNamespace: "odigos-system",
    metricsUrl: "http://127.0.0.1:41234/metrics",
    maxConcurrentRollouts: 2,
    collectorsUnreadyGraceMs: 30_000,
    agentDelayMs: 2_000,
    serverVersion: "v1.36.3",
    deviceNodeLabel: "kwok.odigos.io/instrumentation-devices",
    nodesWithDevices: 3,
    nodesWithoutDevices: 1,
    device: "instrumentation.odigos.io/go-ebpf-community",
    pluginPath: ["/repo/apps/kubectl-plugin/bin", "/cache/node/v24/bin"],
  };

  it("quotes only words a shell would change", () => {
    expect(shellWord("/tmp/a-b_c.1/kubeconfig")).toBe("/tmp/a-b_c.1/kubeconfig");
    expect(shellWord("/tmp/my dir/kubeconfig")).toBe("'/tmp/my dir/kubeconfig'");
    expect(shellWord("it's")).toBe(`'it'"'"'s'`);
  });

  it("numbers the steps, wraps their text at 100 columns and puts each command on a line of its own", () => {
    const steps = guideSteps(input);
    const lines = renderGuide(steps).split("\n");
    const commands = lines.filter((line) => line.startsWith("       "));
    expect(commands.map((line) => line.trim())).toEqual(steps.flatMap((step) => step.commands));
    for (const command of commands)
      expect(command.trim()).toMatch(
        /^(kubectl --kubeconfig \/tmp\/odigos-control-plane-x\/kubeconfig |curl |PATH=\S+ KUBECONFIG=\/tmp\/odigos-control-plane-x\/kubeconfig kubectl odigos-instrumentor )/,
      );
    for (const line of lines.filter((one) => !one.startsWith("       ")))
      expect(line.length).toBeLessThanOrEqual(100);
    expect(lines.flatMap((line) => /^ {2}(\d+)\. /.exec(line)?.[1] ?? []).map(Number)).toEqual(
      steps.map((_, index) => index + 1),
    );
  });

  it("says the figures the demo runs with, and uses the built kubectl by its path when none is on PATH", () => {
    const text = guideSteps({
      ...input,
      kubectl: "/cache/k8s binaries/kubectl",
      maxConcurrentRollouts: 3,
      collectorsUnreadyGraceMs: 45_000,
    });
    const all = text.map((step) => step.text).join(" ");
    expect(all).toContain(
      "never more than 3 rolling at once (this demo runs with --max-concurrent-rollouts=3",
    );
    expect(all).toContain(
      "Nothing changes for 45 s (this demo runs with --collectors-unready-grace=45s",
    );
    expect(text[0]?.commands[0]).toBe(
      "'/cache/k8s binaries/kubectl' --kubeconfig /tmp/odigos-control-plane-x/kubeconfig version",
    );
  });
});

describe("the printed guide's plugin step", () => {
  const input: GuideInput = {
    kubectl: "kubectl",
    kubeconfigPath: "/tmp/odigos-control-plane-x/kubeconfig",
    odigosNamespace: "odigos-system",
    metricsUrl: undefined,
    maxConcurrentRollouts: 2,
    collectorsUnreadyGraceMs: 30_000,
    agentDelayMs: 2_000,
    serverVersion: "v1.36.3",
    deviceNodeLabel: "kwok.odigos.io/instrumentation-devices",
    nodesWithDevices: 3,
    nodesWithoutDevices: 1,
    device: "instrumentation.odigos.io/go-ebpf-community",
    pluginPath: ["/repo/apps/kubectl-plugin/bin", "/cache/node/v24/bin"],
  };
  const pluginStep = (overrides: Partial<GuideInput> = {}) =>
    guideSteps({ ...input, ...overrides }).find((step) =>
      step.commands.some((command) => command.includes("odigos-instrumentor")),
    );

  it("comes right after the CronJob's step, and runs status -n demo and two explains", () => {
    const steps = guideSteps(input);
    const index = steps.findIndex((step) => step.text.startsWith("What is instrumented, and why"));
    expect(steps[index - 1]?.text).toMatch(/^The CronJob nightly-report/);
    expect(steps[index]?.commands).toEqual([
      "PATH=/repo/apps/kubectl-plugin/bin:/cache/node/v24/bin:$PATH KUBECONFIG=/tmp/odigos-control-plane-x/kubeconfig kubectl odigos-instrumentor status -n demo",
      "PATH=/repo/apps/kubectl-plugin/bin:/cache/node/v24/bin:$PATH KUBECONFIG=/tmp/odigos-control-plane-x/kubeconfig kubectl odigos-instrumentor explain demo/deployment/checkout",
      "PATH=/repo/apps/kubectl-plugin/bin:/cache/node/v24/bin:$PATH KUBECONFIG=/tmp/odigos-control-plane-x/kubeconfig kubectl odigos-instrumentor explain demo/cronjob/nightly-report",
    ]);
    expect(steps[index]?.text).toContain(
      "status counts the 6 workloads of demo (5 Deployments and the CronJob) by state and by reason (Instrumented 2, NotOptedIn 4)",
    );
    expect(steps[index]?.text).toContain(
      "checkout and nightly-report Instrumented, reason Instrumented, with app:go-ebpf-community",
    );
  });

  it("quotes the paths, uses the built kubectl by its path, and names an Odigos namespace other than the default", () => {
    const step = pluginStep({
      kubectl: "/cache/k8s binaries/kubectl",
      kubeconfigPath: "/tmp/my dir/kubeconfig",
      pluginPath: ["/home/me/odigos ts/apps/kubectl-plugin/bin", "/cache/node/v24/bin"],
      odigosNamespace: "odigos",
    });
    expect(step?.commands[0]).toBe(
      "PATH='/home/me/odigos ts/apps/kubectl-plugin/bin:/cache/node/v24/bin':$PATH KUBECONFIG='/tmp/my dir/kubeconfig' '/cache/k8s binaries/kubectl' odigos-instrumentor status -n demo --odigos-namespace odigos",
    );
    expect(step?.commands[1]).toMatch(
      / odigos-instrumentor explain demo\/deployment\/checkout --odigos-namespace odigos$/,
    );
  });
});

describe("the printed guide's CronJob step", () => {
  const steps = guideSteps({
    kubectl: "kubectl",
    kubeconfigPath: "/tmp/k",
    odigosNamespace: "odigos-system",
    metricsUrl: undefined,
    maxConcurrentRollouts: 2,
    collectorsUnreadyGraceMs: 30_000,
    agentDelayMs: 2_000,
    serverVersion: "v1.36.3",
    deviceNodeLabel: "kwok.odigos.io/instrumentation-devices",
    nodesWithDevices: 3,
    nodesWithoutDevices: 1,
    device: "instrumentation.odigos.io/go-ebpf-community",
    pluginPath: ["/p"],
  });
  const index = steps.findIndex((step) => step.text.startsWith("The CronJob nightly-report"));

  it("comes right after opting checkout back in, and says there is no rollout", () => {
    expect(steps[index - 1]?.text).toMatch(/^Opt it back in/);
    expect(steps[index]?.text).toContain("writes the device into its Job template at once");
    expect(steps[index]?.text).toContain("no rollout and no rollout slot");
    expect(steps[index]?.text).toContain("(cronjob-nightly-report, app=go)");
  });

  it("reads the Job template's limits, the runtime details, the Jobs and their pods' devices", () => {
    expect(steps[index]?.commands).toEqual([
      `kubectl --kubeconfig /tmp/k -n demo get cronjob nightly-report -o jsonpath='{.spec.jobTemplate.spec.template.spec.containers[0].resources.limits}{"\\n"}'`,
      "kubectl --kubeconfig /tmp/k -n demo get instrumentedapplication cronjob-nightly-report",
      "kubectl --kubeconfig /tmp/k -n demo get jobs,pods -l app=nightly-report",
      "kubectl --kubeconfig /tmp/k -n demo get pods -l app=nightly-report -o custom-columns='NAME:.metadata.name,STATUS:.status.phase,DEVICES:.spec.containers[*].resources.limits'",
    ]);
  });

  it("keeps the rollout budget's promise: the CronJob takes no slot", () => {
    const budget = steps.find((step) => step.text.startsWith("The rollout budget"));
    expect(budget?.text).toContain("; nightly-report takes no slot: a CronJob has no rollout.");
  });
});

describe("ODIGOS_DEMO_SECONDS", () => {
  it("is unset, or a whole number of seconds above 0", () => {
    expect(parseDemoSeconds(undefined)).toEqual(Either.right(undefined));
    expect(parseDemoSeconds("")).toEqual(Either.right(undefined));
    expect(parseDemoSeconds("90")).toEqual(Either.right(90));
    for (const bad of ["0", "1.5", "-3", "10s", "soon"])
      expect(Either.isLeft(parseDemoSeconds(bad)), bad).toBe(true);
  });
});
