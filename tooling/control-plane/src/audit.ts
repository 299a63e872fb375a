/**
 * Who asked the API server for what, from its audit log (`auditLog: true`): which events count
 * as one request, which requests are writes, the program behind a User-Agent, a filter by
 * User-Agent, verbs and resources, and a reader for a log that grows while it is read. Shared by
 * the end-to-end tests and the benchmark; `parseAuditLog` reads a whole log at once.
 */
import { open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";

/** The fields of an audit event read here (an `AuditEvent` has them, and more). */
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

/** The verbs that change something. */
export const writeVerbs: ReadonlySet<string> = new Set([
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
]);

/** The workloads the instrumentor writes: Deployments, StatefulSets, DaemonSets. */
export const workloadResources: ReadonlySet<string> = new Set([
  "deployments",
  "statefulsets",
  "daemonsets",
]);

/** One request per audit event: a watch when it starts streaming, anything else when it completes. */
export const countable = (event: AuditLine): boolean =>
  event.verb === "watch" ? event.stage === "ResponseStarted" : event.stage === "ResponseComplete";

/** Which requests to keep; every part given must match. */
export interface AuditFilter {
  /** The User-Agent (`""` when none) is one this accepts, e.g. an `InstrumentorProcess`'s `sent`. */
  readonly userAgent?: (userAgent: string) => boolean;
  /** The verb is one of these, e.g. {@link writeVerbs}. */
  readonly verbs?: ReadonlySet<string>;
  /** On one of these resources itself (not a subresource), e.g. {@link workloadResources}. */
  readonly resources?: ReadonlySet<string>;
}

/** Whether `event` is a request `filter` keeps. */
export const auditMatches = (event: AuditLine, filter: AuditFilter): boolean =>
  (filter.verbs === undefined || filter.verbs.has(event.verb ?? "")) &&
  (filter.resources === undefined ||
    (filter.resources.has(event.objectRef?.resource ?? "") &&
      event.objectRef?.subresource === undefined)) &&
  (filter.userAgent === undefined || filter.userAgent(event.userAgent ?? ""));

/** The events `filter` keeps, in order. */
export const filterAudit = <E extends AuditLine>(events: Iterable<E>, filter: AuditFilter): E[] => {
  const kept: E[] = [];
  for (const event of events) if (auditMatches(event, filter)) kept.push(event);
  return kept;
};

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

/** Only the fields read here: a benchmark phase with pods reads 10^5 lines, each of about 1 KB. */
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
