import * as Either from "effect/Either";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WorkloadKinds } from "./kubernetes.js";
import {
  parseRuntimeObjectName,
  runtimeObjectName,
  workloadKey,
  workloadOfRuntimeObject,
} from "./naming.js";

describe("runtime-object naming", () => {
  it.each([
    ["Deployment", "cart", "deployment-cart"],
    ["StatefulSet", "db-0", "statefulset-db-0"],
    ["DaemonSet", "agent", "daemonset-agent"],
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
    ["cronjob-x", 'has kind prefix "cronjob", expected one of deployment, statefulset, daemonset'],
    ["-x", "has an empty kind prefix"],
    ["deployment-", "has an empty workload name"],
    [
      "Deployment-cart",
      'has kind prefix "Deployment", expected one of deployment, statefulset, daemonset',
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

describe("workloadKey", () => {
  it("is Kind/namespace/name", () => {
    expect(workloadKey({ kind: "StatefulSet", namespace: "shop", name: "db" })).toBe(
      "StatefulSet/shop/db",
    );
  });
});
