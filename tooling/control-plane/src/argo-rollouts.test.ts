import { describe, expect, it } from "vitest";
import { argoRolloutsArgs } from "./argo-rollouts.js";

describe("argoRolloutsArgs", () => {
  it("runs one cluster-wide instance on the given ports, without leader election", () => {
    expect(argoRolloutsArgs({ kubeconfig: "/k", metricsPort: 1, healthzPort: 2 })).toEqual([
      "--kubeconfig=/k",
      "--leader-elect=false",
      "--metricsPort=1",
      "--healthzPort=2",
      "--loglevel=info",
    ]);
  });

  it("limits the controller to one namespace, and appends extra flags last", () => {
    const args = argoRolloutsArgs({
      kubeconfig: "/k",
      metricsPort: 1,
      healthzPort: 2,
      namespace: "apps",
      logLevel: "debug",
      extraArgs: ["--rollout-resync=60"],
    });
    expect(args).toContain("--loglevel=debug");
    expect(args.slice(-3)).toEqual(["--namespaced", "--namespace=apps", "--rollout-resync=60"]);
  });
});
