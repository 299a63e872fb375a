import * as Either from "effect/Either";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WorkloadKinds } from "./kubernetes.js";
import {
  parseRuntimeObjectName,
  runtimeObjectName,
  unsupportedKindOf,
  workloadKey,
  workloadOfPod,
  workloadOfRuntimeObject,
} from "./naming.js";

describe("runtime-object naming", () => {
  it.each([
    ["Deployment", "cart", "deployment-cart"],
    ["StatefulSet", "db-0", "statefulset-db-0"],
    ["DaemonSet", "agent", "daemonset-agent"],
    ["CronJob", "nightly", "cronjob-nightly"],
    ["Rollout", "checkout", "rollout-checkout"],
  ] as const)("%s %s is named %s", (kind, name, expected) => {
    expect(runtimeObjectName(kind, name)).toBe(expected);
    expect(parseRuntimeObjectName(expected)).toEqual(Either.right({ kind, name }));
  });

  it("splits at the first dash", () => {
    expect(parseRuntimeObjectName("statefulset-db-0")).toEqual(
      Either.right({ kind: "StatefulSet", name: "db-0" }),
    );
  });

  it.each([
    ["foo", "has no '<kind>-' prefix"],
    [
      "job-x",
      'has kind prefix "job", expected one of deployment, statefulset, daemonset, cronjob, rollout',
    ],
    ["-x", "has an empty kind prefix"],
    ["deployment-", "has an empty workload name"],
    [
      "Deployment-cart",
      'has kind prefix "Deployment", expected one of deployment, statefulset, daemonset, cronjob, rollout',
    ],
  ])("%s is a typed error, not an exception", (name, reason) => {
    const result = parseRuntimeObjectName(name);
    expect(Either.isLeft(result)).toBe(true);
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("InvalidRuntimeObjectName");
      expect(result.left.reason).toBe(reason);
      expect(result.left.message).toContain(name);
    }
  });

  it("adds the namespace when resolving the workload", () => {
    expect(workloadOfRuntimeObject("shop", "daemonset-agent")).toEqual(
      Either.right({ kind: "DaemonSet", namespace: "shop", name: "agent" }),
    );
  });

  it("round-trips every kind and DNS-like name", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...WorkloadKinds),
        fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
        (kind, name) => {
          expect(parseRuntimeObjectName(runtimeObjectName(kind, name))).toEqual(
            Either.right({ kind, name }),
          );
        },
      ),
    );
  });
});

describe("unsupportedKindOf", () => {
  it("names the kinds that carry pods but are not handled, and nothing else", () => {
    expect(unsupportedKindOf("job-migrate-db")).toEqual({ kind: "Job", name: "migrate-db" });
    expect(unsupportedKindOf("deploymentconfig-web")).toEqual({
      kind: "DeploymentConfig",
      name: "web",
    });
    expect(unsupportedKindOf("pod-debug")).toEqual({ kind: "Pod", name: "debug" });
    expect(unsupportedKindOf("deployment-cart")).toBeUndefined();
    expect(unsupportedKindOf("job-")).toBeUndefined();
    expect(unsupportedKindOf("job")).toBeUndefined();
  });
});

describe("workloadKey", () => {
  it("is Kind/namespace/name", () => {
    expect(workloadKey({ kind: "StatefulSet", namespace: "shop", name: "db" })).toBe(
      "StatefulSet/shop/db",
    );
  });
});

describe("workloadOfPod", () => {
  const pod = (
    owner: { kind: string; name: string; controller?: boolean } | undefined,
    labels: Record<string, string> = {},
  ) => ({
    metadata: {
      name: "p",
      namespace: "shop",
      labels,
      ...(owner === undefined ? {} : { ownerReferences: [owner] }),
    },
  });

  it("follows the controlling ReplicaSet to its Deployment by the pod-template-hash", () => {
    expect(
      workloadOfPod(
        pod(
          { kind: "ReplicaSet", name: "cart-7d9f", controller: true },
          { "pod-template-hash": "7d9f" },
        ),
      ),
    ).toEqual({ kind: "Deployment", namespace: "shop", name: "cart" });
  });

  it("names a StatefulSet or DaemonSet owner directly", () => {
    expect(workloadOfPod(pod({ kind: "StatefulSet", name: "db", controller: true }))).toEqual({
      kind: "StatefulSet",
      namespace: "shop",
      name: "db",
    });
  });

  it("follows an Argo ReplicaSet to its Rollout by the rollouts-pod-template-hash", () => {
    expect(
      workloadOfPod(
        pod(
          { kind: "ReplicaSet", name: "checkout-5c8b", controller: true },
          { "rollouts-pod-template-hash": "5c8b" },
        ),
      ),
    ).toEqual({ kind: "Rollout", namespace: "shop", name: "checkout" });
  });

  it("follows a Job named <cronjob>-<scheduled minute> to its CronJob", () => {
    expect(
      workloadOfPod(pod({ kind: "Job", name: "nightly-report-29380620", controller: true })),
    ).toEqual({ kind: "CronJob", namespace: "shop", name: "nightly-report" });
  });

  it("knows no workload for a bare pod, a lone Job's, a non-controller owner or a lone ReplicaSet", () => {
    expect(workloadOfPod(pod(undefined))).toBeUndefined();
    expect(workloadOfPod(pod({ kind: "Job", name: "j", controller: true }))).toBeUndefined();
    expect(workloadOfPod(pod({ kind: "Job", name: "migrate", controller: true }))).toBeUndefined();
    expect(workloadOfPod(pod({ kind: "DaemonSet", name: "d" }))).toBeUndefined();
    expect(
      workloadOfPod(
        pod({ kind: "ReplicaSet", name: "solo", controller: true }, { "pod-template-hash": "abc" }),
      ),
    ).toBeUndefined();
  });
});
