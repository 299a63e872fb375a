import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AuditLine,
  AuditTail,
  auditMatches,
  componentOf,
  countable,
  filterAudit,
  workloadResources,
  writeVerbs,
} from "./audit.js";
import { type AuditEvent, parseAuditLog } from "./index.js";

const controllerManager = (controller: string) =>
  `kube-controller-manager/v1.36.3 (linux/amd64) kubernetes/0000000/${controller}`;
const instrumentor = (pid: number) => `odigos-instrumentor/0.1.0 (linux/x64) pid/${pid}`;
const line = (
  userAgent: string,
  verb: string,
  resource: string,
  extra: Partial<AuditLine> = {},
): AuditLine => ({
  stage: verb === "watch" ? "ResponseStarted" : "ResponseComplete",
  verb,
  userAgent,
  objectRef: { resource, namespace: "ns" },
  responseStatus: { code: verb === "create" ? 201 : 200 },
  ...extra,
});

describe("requests by program", () => {
  it("names the program behind a User-Agent", () => {
    expect(componentOf(controllerManager("replicaset-controller"))).toBe("kube-controller-manager");
    expect(componentOf("kube-scheduler/v1.36.3 (linux/amd64) kubernetes/0000000/scheduler")).toBe(
      "kube-scheduler",
    );
    expect(componentOf("kwok/v0.8.0 (linux/amd64)")).toBe("kwok");
    expect(componentOf("odigos-instrumentor/0.1.0 (linux/x64) node/v20 pid/42")).toBe(
      "odigos-instrumentor",
    );
    expect(componentOf(undefined)).toBe("(none)");
    expect(componentOf("curl")).toBe("curl");
  });

  it("counts a watch when it starts streaming, anything else when it completes", () => {
    expect(countable(line("kwok/v0.8.0", "watch", "pods"))).toBe(true);
    expect(countable({ ...line("kwok/v0.8.0", "watch", "pods"), stage: "ResponseComplete" })).toBe(
      false,
    );
    expect(countable(line("kwok/v0.8.0", "patch", "pods"))).toBe(true);
    expect(countable({ ...line("kwok/v0.8.0", "patch", "pods"), stage: "ResponseStarted" })).toBe(
      false,
    );
  });
});

describe("filtering requests", () => {
  const events: AuditLine[] = [
    line(instrumentor(42), "patch", "deployments", {
      objectRef: { resource: "deployments", name: "a" },
    }),
    line(instrumentor(42), "get", "deployments"),
    line(instrumentor(42), "create", "events"),
    line(instrumentor(7), "patch", "deployments"),
    line(instrumentor(42), "update", "deployments", {
      objectRef: { resource: "deployments", subresource: "status" },
    }),
    { stage: "ResponseComplete", verb: "delete", objectRef: { resource: "statefulsets" } },
  ];
  const fromPid = (pid: number) => (agent: string) => agent.endsWith(` pid/${pid}`);

  it("keeps one process's writes, told apart by the pid in its User-Agent", () => {
    expect(
      filterAudit(events, { verbs: writeVerbs, userAgent: fromPid(42) }).map(
        (event) => `${event.verb} ${event.objectRef?.resource}`,
      ),
    ).toEqual(["patch deployments", "create events", "update deployments"]);
  });

  it("keeps requests on workloads themselves, not their subresources", () => {
    expect(
      filterAudit(events, { resources: workloadResources }).map(
        (event) => `${event.verb} ${event.objectRef?.resource}`,
      ),
    ).toEqual(["patch deployments", "get deployments", "patch deployments", "delete statefulsets"]);
  });

  it("hands the User-Agent as an empty string when there is none; no filter keeps everything", () => {
    const seen: string[] = [];
    auditMatches(events[5] ?? {}, {
      userAgent: (agent) => {
        seen.push(agent);
        return true;
      },
    });
    expect(seen).toEqual([""]);
    expect(filterAudit(events, {})).toEqual(events);
  });

  it("takes the control plane's parsed events as they are", () => {
    const parsed: AuditEvent[] = parseAuditLog(
      `${JSON.stringify({
        stage: "ResponseComplete",
        verb: "patch",
        requestURI: "/apis/apps/v1/namespaces/ns/deployments/a",
        user: { username: "odigos-admin" },
        userAgent: instrumentor(42),
        objectRef: { resource: "deployments", namespace: "ns", name: "a" },
      })}\n`,
    );
    const [kept] = filterAudit(parsed, { verbs: writeVerbs, userAgent: fromPid(42) });
    expect(kept?.requestURI).toBe("/apis/apps/v1/namespaces/ns/deployments/a");
  });
});

describe("reading a log that grows", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "audit-tail-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const json = (event: object) => `${JSON.stringify(event)}\n`;

  it("reads what was appended since the last read, lines with a needle, projected", async () => {
    const path = join(dir, "audit.log");
    const tail = new AuditTail(path);
    expect(await tail.read([""])).toEqual([]);
    await writeFile(
      path,
      json({
        ...line(instrumentor(1), "patch", "deployments"),
        requestURI: "/x",
        level: "Metadata",
      }),
    );
    await appendFile(path, json(line("kwok/v0.8.0", "patch", "pods")));
    expect(await tail.read(["odigos-instrumentor/"])).toEqual([
      line(instrumentor(1), "patch", "deployments"),
    ]);
    // A line still being written is read once it is whole.
    const next = json(line(instrumentor(1), "create", "events"));
    await appendFile(path, next.slice(0, 20));
    expect(await tail.read([""])).toEqual([]);
    await appendFile(path, next.slice(20));
    expect(await tail.read([""])).toEqual([line(instrumentor(1), "create", "events")]);
    expect(tail.rotations).toBe(0);
  });

  it("starts again from the top of a file found shorter (rotated), and counts that", async () => {
    const path = join(dir, "audit.log");
    const tail = new AuditTail(path);
    await writeFile(path, json(line("kwok/v0.8.0", "patch", "pods")).repeat(3));
    expect(await tail.read([""])).toHaveLength(3);
    await writeFile(path, json(line("kwok/v0.8.0", "get", "pods")));
    expect(await tail.read([""])).toEqual([line("kwok/v0.8.0", "get", "pods")]);
    expect(tail.rotations).toBe(1);
  });
});
