/**
 * Issue 35's section and targets: what pods the instrumentor has no business with cost it. Its
 * pod cache lists and watches only labelled pods, so it must receive none of theirs, and their
 * churn must not change its CPU rate beyond the noise of an idle stretch.
 */
import { breakdown, fixed, megabytes, renderTable, seconds } from "./report.js";
import type { IdleStretch, OtherPodsRun, PodsResult, Target } from "./types.js";

/** The instrumentor's CPU per second of a stretch (cores). */
const coresOf = (stretch: IdleStretch): number =>
  (stretch.phase.instrumentor?.cpuSeconds ?? 0) / Math.max(0.001, stretch.phase.wallMs / 1000);

/** How far two idle stretches' CPU rates differ without cause: 25 %, at least 0.01 core. */
const cpuNoiseCores = (idle: IdleStretch): number => Math.max(0.01, 0.25 * coresOf(idle));

const cores = (stretch: IdleStretch): string => fixed(coresOf(stretch), 3);

const othersReceived = (received: Readonly<Record<string, number>>): string =>
  breakdown(
    Object.fromEntries(
      Object.entries(received).filter(([informer, count]) => informer !== "Pod" && count > 0),
    ),
  );

/** The figures of issue 35, or nothing in a run before it. */
export const otherPodsSection = (pods: PodsResult): string[] => {
  const others = pods.otherPods;
  if (others === undefined) return [];
  const stretches: Array<[string, IdleStretch]> = [
    ...(others.churn === undefined
      ? []
      : [["other pods roll", others.churn] as [string, IdleStretch]]),
    ["idle", others.idle],
  ];
  return [
    "### Other pods (issue 35): the instrumentor idle on its converged workloads",
    "",
    others.pods === 0
      ? "No other pods in this run: the figures to compare a run with `--other-pods` with."
      : `${others.pods} other pods in ${others.workloads} Deployments of a namespace that is not opted in, running ${seconds(others.seedMs)} after their creation, before any instrumentor started.`,
    `The instrumentor at budget ${others.budget === 0 ? "unlimited" : others.budget}: RSS after sync ${megabytes(others.rssAfterSyncBytes)}; received by then: ${breakdown(others.receivedAtSync)}.`,
    "",
    renderTable(
      [
        "stretch",
        "wall",
        "workloads rolled",
        "pods created / deleted",
        "pod events received",
        "other events received",
        "instrumentor CPU s",
        "cores",
        "RSS after",
        "API server CPU s",
        "other load (cores)",
      ],
      stretches.map(([name, stretch]) => [
        name,
        seconds(stretch.phase.wallMs),
        String(stretch.rolled),
        `${stretch.podsCreated} / ${stretch.podsDeleted}`,
        String(stretch.received.Pod ?? 0),
        othersReceived(stretch.received),
        fixed(stretch.phase.instrumentor?.cpuSeconds),
        cores(stretch),
        megabytes(stretch.phase.instrumentor?.rssAfterBytes),
        fixed(stretch.phase.apiServer.cpuSeconds),
        fixed(stretch.phase.machine.otherCores),
      ]),
      ["l", "r", "r", "r", "r", "l", "r", "r", "r", "r", "r"],
    ),
    "",
  ];
};

const notRun = (name: string, target: string): Target => ({
  name,
  target,
  measured: "no other pods in this run",
  met: undefined,
});

/** Issue 35's targets; not judged in a run without other pods. */
export const otherPodsTargets = (others: OtherPodsRun | undefined): Target[] => {
  const eventsName = "pod events the instrumentor received of other pods (issue 35)";
  const cpuName = "instrumentor CPU while other pods roll, vs idle (issue 35)";
  const churn = others?.churn;
  if (others === undefined || churn === undefined)
    return [notRun(eventsName, "0"), notRun(cpuName, "≤ idle + noise")];
  const atSync = others.receivedAtSync.Pod ?? 0;
  const rolling = churn.received.Pod ?? 0;
  const churnCores = coresOf(churn);
  const idleCores = coresOf(others.idle);
  const noise = cpuNoiseCores(others.idle);
  return [
    {
      name: eventsName,
      target: "0",
      measured: `${atSync} listed at start-up (${others.pods} other pods), ${rolling} while ${churn.podsCreated} were created and ${churn.podsDeleted} deleted`,
      met: atSync === 0 && rolling === 0,
    },
    {
      name: cpuName,
      target: `≤ idle + ${fixed(noise, 3)} cores (25 %, at least 0.01)`,
      measured: `${fixed(churnCores, 3)} vs ${fixed(idleCores, 3)} cores (${fixed(churn.phase.instrumentor?.cpuSeconds)} s over ${seconds(churn.phase.wallMs)}, ${fixed(others.idle.phase.instrumentor?.cpuSeconds)} s over ${seconds(others.idle.phase.wallMs)}); the rolled Deployments' own events: ${othersReceived(churn.received)}`,
      met: churnCores <= idleCores + noise,
    },
  ];
};

const idleCores = (others: OtherPodsRun): number => coresOf(others.idle);

/**
 * A run with other pods against one without, the same N and budget (`other-pods` tool): RSS
 * after sync within 5 % (at least 4 MB), idle CPU within 25 % (at least 0.01 core), the same
 * pod events at sync.
 */
export const otherPodsComparison = (
  withOthers: { readonly workloads: number | undefined; readonly others: OtherPodsRun },
  without: { readonly workloads: number | undefined; readonly others: OtherPodsRun },
): Target[] => {
  const a = withOthers.others;
  const b = without.others;
  const comparable = withOthers.workloads === without.workloads && a.budget === b.budget;
  const label = `${a.pods} other pods vs none, N=${withOthers.workloads ?? "?"}, budget ${a.budget}`;
  const rssNoise = Math.max(4 * 1048576, 0.05 * b.rssAfterSyncBytes);
  const cpuNoise = Math.max(0.01, 0.25 * idleCores(b));
  const judged = (met: boolean): boolean | undefined => (comparable ? met : undefined);
  const caveat = comparable ? "" : ` (not comparable: N ${without.workloads}, budget ${b.budget})`;
  return [
    {
      name: `RSS after sync, ${label}`,
      target: `within ${megabytes(rssNoise)}`,
      measured: `${megabytes(a.rssAfterSyncBytes)} vs ${megabytes(b.rssAfterSyncBytes)}${caveat}`,
      met: judged(Math.abs(a.rssAfterSyncBytes - b.rssAfterSyncBytes) <= rssNoise),
    },
    {
      name: `instrumentor CPU idle on its converged workloads, ${label}`,
      target: `within ${fixed(cpuNoise, 3)} cores`,
      measured: `${fixed(idleCores(a), 3)} vs ${fixed(idleCores(b), 3)} cores${caveat}`,
      met: judged(Math.abs(idleCores(a) - idleCores(b)) <= cpuNoise),
    },
    {
      name: `pod events received by the end of the initial sync, ${label}`,
      target: "the same",
      measured: `${a.receivedAtSync.Pod ?? 0} vs ${b.receivedAtSync.Pod ?? 0}${caveat}`,
      met: judged((a.receivedAtSync.Pod ?? 0) === (b.receivedAtSync.Pod ?? 0)),
    },
  ];
};
