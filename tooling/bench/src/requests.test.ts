import type { AuditLine } from "@odigos/control-plane";
import { describe, expect, it } from "vitest";
import {
  benchWorkloadResources,
  createdCount,
  summarizeByComponent,
  summarizeRequests,
} from "./requests.js";

const controllerManager = (controller: string) =>
  `kube-controller-manager/v1.36.3 (linux/amd64) kubernetes/0000000/${controller}`;
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
  it("summarises each program's requests, largest first, one line per request", () => {
    const lines: AuditLine[] = [
      line(controllerManager("replicaset-controller"), "create", "pods"),
      line(controllerManager("replicaset-controller"), "create", "pods"),
      line(controllerManager("deployment-controller"), "create", "replicasets"),
      line(controllerManager("deployment-controller"), "update", "deployments", {
        objectRef: { resource: "deployments", subresource: "status", name: "a" },
      }),
      line("kube-scheduler/v1.36.3 (linux/amd64) kubernetes/0000000/scheduler", "create", "pods", {
        objectRef: { resource: "pods", subresource: "binding", name: "a-1" },
      }),
      line("kwok/v0.8.0 (linux/amd64)", "watch", "pods"),
      // Not a request of its own: the stage a watch's end is logged at.
      { ...line("kwok/v0.8.0 (linux/amd64)", "watch", "pods"), stage: "ResponseComplete" },
    ];
    const summary = summarizeByComponent(lines);
    expect(Object.keys(summary)).toEqual(["kube-controller-manager", "kube-scheduler", "kwok"]);
    expect(summary["kube-controller-manager"]?.total).toBe(4);
    expect(summary["kube-controller-manager"]?.byVerbResource).toEqual({
      "create pods": 2,
      "create replicasets": 1,
      "update deployments/status": 1,
    });
    expect(summary["kube-scheduler"]?.byVerbResource).toEqual({ "create pods/binding": 1 });
    expect(summary.kwok?.total).toBe(1);
  });

  it("counts objects created: successful creates of the resource itself", () => {
    const lines: AuditLine[] = [
      line(controllerManager("replicaset-controller"), "create", "pods"),
      line(controllerManager("replicaset-controller"), "create", "pods", {
        responseStatus: { code: 409 },
      }),
      line("kube-scheduler/v1.36.3", "create", "pods", {
        objectRef: { resource: "pods", subresource: "binding" },
      }),
      line(controllerManager("deployment-controller"), "create", "replicasets"),
      line(controllerManager("deployment-controller"), "update", "replicasets"),
    ];
    expect(createdCount(lines, "pods")).toBe(1);
    expect(createdCount(lines, "replicasets")).toBe(1);
  });
});

describe("workload writes of every kind", () => {
  it("counts CronJob and Rollout patches and GETs as workload requests, not their Jobs", () => {
    const patch = (resource: string, name: string) => ({
      stage: "ResponseComplete",
      verb: "patch",
      objectRef: { resource, namespace: "n", name },
      responseStatus: { code: 200 },
    });
    const summary = summarizeRequests([
      patch("cronjobs", "a"),
      patch("rollouts", "b"),
      patch("rollouts", "b"),
      patch("jobs", "c"),
      { stage: "ResponseComplete", verb: "get", objectRef: { resource: "rollouts", name: "b" } },
      {
        stage: "ResponseComplete",
        verb: "patch",
        objectRef: { resource: "rollouts", namespace: "n", name: "b", subresource: "status" },
      },
    ]);
    expect(benchWorkloadResources).toEqual(
      new Set(["deployments", "statefulsets", "daemonsets", "cronjobs", "rollouts"]),
    );
    expect(summary.writes).toBe(5);
    expect(summary.workloadWrites).toBe(3);
    expect(summary.workloadsWritten).toBe(2);
    expect(summary.maxWritesPerWorkload).toBe(2);
    expect(summary.workloadGets).toBe(1);
  });
});
