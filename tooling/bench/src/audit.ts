/**
 * Who asked the API server for what: the audit log (JSON lines) read
 * incrementally and counted per client, told apart by User-Agent.
 */
import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";

export interface AuditLine {
  readonly stage?: string;
  readonly verb?: string;
  readonly userAgent?: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly subresource?: string;
    readonly namespace?: string;
    readonly name?: string;
  };
  readonly responseStatus?: { readonly code?: number };
}

export const writeVerbs: ReadonlySet<string> = new Set([
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
]);
export const workloadResources: ReadonlySet<string> = new Set([
  "deployments",
  "statefulsets",
  "daemonsets",
]);

/** One request per audit event: a watch when it starts streaming, anything else when it completes. */
export const countable = (event: AuditLine): boolean =>
  event.verb === "watch" ? event.stage === "ResponseStarted" : event.stage === "ResponseComplete";

export interface RequestSummary {
  readonly total: number;
  /** `verb resource[/subresource]` -> count, largest first. */
  readonly byVerbResource: Readonly<Record<string, number>>;
  readonly writes: number;
  /** create/update/patch/delete of Deployments, StatefulSets, DaemonSets. */
  readonly workloadWrites: number;
  /** Distinct workloads written. */
  readonly workloadsWritten: number;
  /** Most writes to one workload. */
  readonly maxWritesPerWorkload: number;
  /** `get` of one Deployment, StatefulSet or DaemonSet (reads that should come from the cache). */
  readonly workloadGets: number;
  readonly eventCreates: number;
  /** 409 answers (a resourceVersion precondition failed). */
  readonly conflicts: number;
  /** Other answers >= 400. */
  readonly errors: number;
}

export const summarizeRequests = (events: Iterable<AuditLine>): RequestSummary => {
  const byKey = new Map<string, number>();
  const perWorkload = new Map<string, number>();
  let total = 0;
  let writes = 0;
  let workloadWrites = 0;
  let workloadGets = 0;
  let eventCreates = 0;
  let conflicts = 0;
  let errors = 0;
  for (const event of events) {
    if (!countable(event)) continue;
    total++;
    const verb = event.verb ?? "?";
    const resource = event.objectRef?.resource ?? "";
    const subresource = event.objectRef?.subresource;
    const key =
      resource === ""
        ? `${verb} (non-resource)`
        : `${verb} ${resource}${subresource === undefined ? "" : `/${subresource}`}`;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
    const code = event.responseStatus?.code ?? 0;
    if (code === 409) conflicts++;
    else if (code >= 400) errors++;
    const onWorkload = workloadResources.has(resource) && subresource === undefined;
    if (writeVerbs.has(verb)) {
      writes++;
      if (resource === "events" && verb === "create") eventCreates++;
      if (onWorkload) {
        workloadWrites++;
        const name = `${resource}/${event.objectRef?.namespace ?? ""}/${event.objectRef?.name ?? ""}`;
        perWorkload.set(name, (perWorkload.get(name) ?? 0) + 1);
      }
    }
    if (onWorkload && verb === "get") workloadGets++;
  }
  const sorted = [...byKey].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    total,
    byVerbResource: Object.fromEntries(sorted),
    writes,
    workloadWrites,
    workloadsWritten: perWorkload.size,
    maxWritesPerWorkload: Math.max(0, ...perWorkload.values()),
    workloadGets,
    eventCreates,
    conflicts,
    errors,
  };
};

/** Only the fields counted here: a phase with pods reads 10^5 lines, each of about 1 KB. */
const project = (event: AuditLine): AuditLine => {
  const ref = event.objectRef;
  return {
    ...(event.stage === undefined ? {} : { stage: event.stage }),
    ...(event.verb === undefined ? {} : { verb: event.verb }),
    ...(event.userAgent === undefined ? {} : { userAgent: event.userAgent }),
    ...(ref === undefined
      ? {}
      : {
          objectRef: {
            ...(ref.resource === undefined ? {} : { resource: ref.resource }),
            ...(ref.subresource === undefined ? {} : { subresource: ref.subresource }),
            ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
            ...(ref.name === undefined ? {} : { name: ref.name }),
          },
        }),
    ...(event.responseStatus?.code === undefined
      ? {}
      : { responseStatus: { code: event.responseStatus.code } }),
  };
};

/** Reads an audit log from where the previous read stopped. */
export class AuditTail {
  private offset = 0;
  private partial = "";
  private readonly decoder = new StringDecoder("utf8");
  /** Times the file was found shorter than already read (rotated): counts may be missing. */
  rotations = 0;

  constructor(private readonly path: string) {}

  /** Events appended since the last call whose raw line contains any of `needles`. */
  async read(needles: ReadonlyArray<string>): Promise<AuditLine[]> {
    const handle = await open(this.path, "r").catch(() => undefined);
    if (handle === undefined) return [];
    const out: AuditLine[] = [];
    try {
      const { size } = await handle.stat();
      if (size < this.offset) {
        // Rotated or truncated: what was between is lost, read the new file from its start.
        this.rotations++;
        this.offset = 0;
        this.partial = "";
      }
      const chunk = Buffer.alloc(8 * 1024 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const text = this.partial + this.decoder.write(chunk.subarray(0, bytesRead));
        const lines = text.split("\n");
        this.partial = lines.pop() ?? "";
        for (const line of lines) {
          if (!needles.some((needle) => line.includes(needle))) continue;
          try {
            out.push(project(JSON.parse(line) as AuditLine));
          } catch {
            // a torn line cannot happen with blocking mode; skip rather than fail a benchmark
          }
        }
      }
    } finally {
      await handle.close();
    }
    return out;
  }
}

/**
 * The program behind a request, from its User-Agent: `kube-controller-manager/v1.36.3 (linux/amd64)
 * kubernetes/0000000/replicaset-controller` is `kube-controller-manager`, `kwok/v0.8.0 ...` is
 * `kwok`, `odigos-instrumentor/0.1.0 ... pid/123` is `odigos-instrumentor`; none is `(none)`.
 */
export const componentOf = (userAgent: string | undefined): string => {
  if (userAgent === undefined || userAgent === "") return "(none)";
  const slash = userAgent.indexOf("/");
  return slash <= 0 ? userAgent : userAgent.slice(0, slash);
};

/** The controller within kube-controller-manager (the User-Agent's last segment), else undefined. */
export const controllerOf = (userAgent: string | undefined): string | undefined => {
  if (!userAgent?.startsWith("kube-controller-manager/")) return undefined;
  const last = userAgent.slice(userAgent.lastIndexOf("/") + 1);
  return last.includes(" ") || last === "" ? undefined : last;
};

/** Requests per program (see {@link componentOf}), each summarised. */
export const summarizeByComponent = (
  events: Iterable<AuditLine>,
): Record<string, RequestSummary> => {
  const groups = new Map<string, AuditLine[]>();
  for (const event of events) {
    if (!countable(event)) continue;
    const component = componentOf(event.userAgent);
    const group = groups.get(component);
    if (group === undefined) groups.set(component, [event]);
    else group.push(event);
  }
  return Object.fromEntries(
    [...groups]
      .map(([component, lines]) => [component, summarizeRequests(lines)] as const)
      .sort((a, b) => b[1].total - a[1].total),
  );
};

/** Objects of `resource` created (a successful `create`, by anyone), e.g. ReplicaSets. */
export const createdCount = (events: Iterable<AuditLine>, resource: string): number => {
  let count = 0;
  for (const event of events) {
    if (event.stage !== "ResponseComplete" || event.verb !== "create") continue;
    if (event.objectRef?.resource !== resource || event.objectRef.subresource !== undefined)
      continue;
    const code = event.responseStatus?.code ?? 0;
    if (code >= 200 && code < 300) count++;
  }
  return count;
};
