/** SPEC section 5, one named case per rule. */
import { describe, expect, it } from "vitest";
import {
  type CleanupAction,
  describeCleanupAction,
  planDeletedWorkloadCleanup,
  planNamespaceCleanup,
  planWorkloadCleanup,
  type WorkloadCleanupInput,
} from "./plan.js";
import {
  cartRef,
  deployment,
  optedIn,
  optedOut,
  reported,
  runtimeDetails,
} from "./test-support/builders.js";

const deleteCart: CleanupAction = {
  _tag: "DeleteRuntimeDetails",
  namespace: "shop",
  name: "deployment-cart",
  uid: "uid-deployment-cart",
};
const removeReportedName: CleanupAction = {
  _tag: "RemoveReportedName",
  ref: cartRef,
  resourceVersion: "7",
};

const cases: ReadonlyArray<{
  readonly name: string;
  readonly input: WorkloadCleanupInput;
  readonly actions: ReadonlyArray<CleanupAction>;
}> = [
  {
    name: "opted in: nothing, even with runtime details and a reported name",
    input: {
      ref: cartRef,
      workload: deployment("cart", reported),
      optIn: optedIn,
      runtimeDetails: runtimeDetails(),
    },
    actions: [],
  },
  {
    name: "not opted in, with runtime details and a reported name: both go",
    input: {
      ref: cartRef,
      workload: deployment("cart", reported),
      optIn: optedOut,
      runtimeDetails: runtimeDetails(),
    },
    actions: [deleteCart, removeReportedName],
  },
  {
    name: "not opted in, runtime details only",
    input: {
      ref: cartRef,
      workload: deployment("cart", { team: "shop" }),
      optIn: optedOut,
      runtimeDetails: runtimeDetails(),
    },
    actions: [deleteCart],
  },
  {
    name: "not opted in, reported name only",
    input: {
      ref: cartRef,
      workload: deployment("cart", reported),
      optIn: optedOut,
      runtimeDetails: undefined,
    },
    actions: [removeReportedName],
  },
  {
    name: "not opted in, an empty reported name still goes",
    input: {
      ref: cartRef,
      workload: deployment("cart", { "odigos.io/reported-name": "" }),
      optIn: optedOut,
      runtimeDetails: undefined,
    },
    actions: [removeReportedName],
  },
  {
    name: "not opted in, neither: nothing",
    input: {
      ref: cartRef,
      workload: deployment("cart"),
      optIn: optedOut,
      runtimeDetails: undefined,
    },
    actions: [],
  },
  {
    name: "not opted in because the namespace is ignored: cleaned up too",
    input: {
      ref: cartRef,
      workload: deployment("cart"),
      optIn: { optedIn: false, reason: "IgnoredNamespace" },
      runtimeDetails: runtimeDetails(),
    },
    actions: [deleteCart],
  },
  {
    name: "the delete carries the UID the cache saw (re-created runtime details get a new one)",
    input: {
      ref: cartRef,
      workload: deployment("cart"),
      optIn: optedOut,
      runtimeDetails: runtimeDetails("deployment-cart", "uid-2"),
    },
    actions: [{ ...deleteCart, uid: "uid-2" }],
  },
];

describe("planWorkloadCleanup", () => {
  it.each(cases)("$name", ({ input, actions }) => {
    expect(planWorkloadCleanup(input)).toEqual(actions);
  });
});

describe("planNamespaceCleanup", () => {
  it("cleans every workload of the namespace that does not enable itself, in workload order", () => {
    const input = (name: string, optIn = optedOut): WorkloadCleanupInput => ({
      ref: { kind: "Deployment", namespace: "shop", name },
      workload: deployment(name, reported),
      optIn,
      runtimeDetails: runtimeDetails(`deployment-${name}`),
    });
    const actions = planNamespaceCleanup([
      input("web"),
      input("cart", { optedIn: true, reason: "WorkloadEnabled" }),
      input("api", { optedIn: false, reason: "NoMarker" }),
    ]);
    expect(actions.map(describeCleanupAction)).toEqual([
      "delete InstrumentedApplication shop/deployment-api (uid uid-deployment-api)",
      "remove annotation odigos.io/reported-name from Deployment shop/api",
      "delete InstrumentedApplication shop/deployment-web (uid uid-deployment-web)",
      "remove annotation odigos.io/reported-name from Deployment shop/web",
    ]);
  });

  it("plans nothing for an empty namespace", () => {
    expect(planNamespaceCleanup([])).toEqual([]);
  });
});

describe("planDeletedWorkloadCleanup", () => {
  it("deletes the runtime details of a deleted workload", () => {
    expect(planDeletedWorkloadCleanup(cartRef, runtimeDetails())).toEqual([deleteCart]);
  });

  it("plans nothing when it had none", () => {
    expect(planDeletedWorkloadCleanup(cartRef, undefined)).toEqual([]);
  });
});
