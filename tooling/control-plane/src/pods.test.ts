import { describe, expect, it } from "vitest";
import { nodeNotSchedulableReason } from "./pods.js";

const device = "instrumentation.odigos.io/go-ebpf-community";
const readyNode = {
  metadata: { name: "kwok-node-0" },
  spec: {},
  status: {
    conditions: [{ type: "Ready", status: "True" }],
    allocatable: { pods: "500", [device]: "1k" },
  },
};

describe("nodeNotSchedulableReason", () => {
  it("accepts a Ready node without not-ready taints that advertises its devices", () => {
    expect(nodeNotSchedulableReason(readyNode, [device])).toBeUndefined();
  });

  it("waits for Ready and for the node lifecycle controller to lift its taint", () => {
    expect(nodeNotSchedulableReason({ ...readyNode, status: { conditions: [] } }, [])).toBe(
      "node kwok-node-0 is not Ready",
    );
    expect(
      nodeNotSchedulableReason(
        { ...readyNode, spec: { taints: [{ key: "node.kubernetes.io/not-ready" }] } },
        [device],
      ),
    ).toBe("node kwok-node-0 still has the taint node.kubernetes.io/not-ready");
  });

  it("fails, naming node and device, when a Ready node does not advertise a device", () => {
    expect(() =>
      nodeNotSchedulableReason(readyNode, ["instrumentation.odigos.io/java-native-community"]),
    ).toThrow(
      "node kwok-node-0 is Ready but does not advertise instrumentation.odigos.io/java-native-community in status.allocatable",
    );
  });
});
