import { describe, expect, it } from "vitest";
import { isOdigosAnnotation, withOdigosAnnotationsOnly } from "./slim.js";

const object = (annotations?: Record<string, string>) => ({
  metadata: { name: "checkout", namespace: "shop", ...(annotations && { annotations }) },
  spec: { replicas: 2 },
});

describe("withOdigosAnnotationsOnly", () => {
  it("keeps Odigos's annotations and drops every other", () => {
    const slim = withOdigosAnnotationsOnly(
      object({
        "odigos.io/instrument": "true",
        "odigos.io/rollout": '{"action":"instrument"}',
        "instrumentation.odigos.io/ebpf": "true",
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({
          big: "x".repeat(2048),
        }),
        "deployment.kubernetes.io/revision": "3",
        "notodigos.io/x": "1",
      }),
    );
    expect(slim.metadata.annotations).toEqual({
      "odigos.io/instrument": "true",
      "odigos.io/rollout": '{"action":"instrument"}',
      "instrumentation.odigos.io/ebpf": "true",
    });
    expect(slim.metadata.name).toBe("checkout");
    expect(slim.spec).toEqual({ replicas: 2 });
  });

  it("keeps an empty map for an object that has only foreign annotations, none for one without", () => {
    expect(withOdigosAnnotationsOnly(object({ team: "payments" })).metadata.annotations).toEqual(
      {},
    );
    expect("annotations" in withOdigosAnnotationsOnly(object()).metadata).toBe(false);
  });

  it("returns the object itself when there is nothing to drop", () => {
    const only = object({ "odigos.io/instrument": "false" });
    expect(withOdigosAnnotationsOnly(only)).toBe(only);
  });

  it("matches odigos.io and its subdomains only", () => {
    expect(isOdigosAnnotation("odigos.io/instrument")).toBe(true);
    expect(isOdigosAnnotation("demo.odigos.io/language")).toBe(true);
    expect(isOdigosAnnotation("notodigos.io/instrument")).toBe(false);
    expect(isOdigosAnnotation("odigos.io.evil.com/x")).toBe(false);
    expect(isOdigosAnnotation("example.com/odigos.io/x")).toBe(false);
  });
});
