import * as Either from "effect/Either";
import { describe, expect, it } from "vitest";
import {
  decodeCollectorsGroup,
  decodeCronJob,
  decodeDeployment,
  decodeInstrumentedApplication,
  decodeOdigosConfiguration,
  decodeRollout,
  workloadDecoder,
  workloadStatusDecoder,
} from "./decoders.js";
import { templatePath, WorkloadKinds } from "./kubernetes.js";

const meta = (name: string, namespace = "shop") => ({
  name,
  namespace,
  uid: `uid-${name}`,
  resourceVersion: "7",
});

const leftOf = <A, E>(result: Either.Either<A, E>): E => {
  if (Either.isRight(result)) throw new Error("expected a decode failure");
  return result.left;
};

describe("decoding at the edge", () => {
  it("keeps only the slice of a Deployment the instrumentor reads", () => {
    const decoded = decodeDeployment({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        ...meta("cart"),
        annotations: { "odigos.io/instrument": "true" },
        managedFields: [{ manager: "kubectl" }],
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "cart" } },
        template: {
          metadata: { labels: { app: "cart" } },
          spec: {
            initContainers: [{ name: "init", image: "busybox" }],
            containers: [
              {
                name: "app",
                image: "cart:1",
                env: [{ name: "A", value: "b" }],
                resources: {
                  limits: { cpu: "1", "instrumentation.odigos.io/go-ebpf-community": "1" },
                },
              },
            ],
          },
        },
      },
      status: { replicas: 3 },
    });
    expect(decoded).toEqual(
      Either.right({
        kind: "Deployment",
        metadata: {
          ...meta("cart"),
          annotations: { "odigos.io/instrument": "true" },
          managedFields: [{ manager: "kubectl" }],
        },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "cart" } },
          template: {
            // Its labels: whether the instrumented label is there (the device planner reads it).
            metadata: { labels: { app: "cart" } },
            spec: {
              containers: [
                {
                  name: "app",
                  resources: {
                    limits: { cpu: "1", "instrumentation.odigos.io/go-ebpf-community": "1" },
                  },
                },
              ],
            },
          },
        },
        status: { replicas: 3 },
      }),
    );
  });

  it("defaults kind for list items, which the API serves without one", () => {
    const decoded = decodeDeployment({
      metadata: meta("cart"),
      spec: { template: { spec: { containers: [] } } },
    });
    expect(Either.map(decoded, (d) => d.kind)).toEqual(Either.right("Deployment"));
  });

  it("decodes a CronJob's Job template as its spec.template, and says where it lives", () => {
    const template = {
      metadata: { labels: { app: "nightly" } },
      spec: { containers: [{ name: "job", resources: { limits: { cpu: "1" } } }] },
    };
    const decoded = decodeCronJob({
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { ...meta("nightly"), generation: 2 },
      spec: { schedule: "* * * * *", jobTemplate: { spec: { backoffLimit: 1, template } } },
      status: { lastScheduleTime: "2026-12-05T10:00:00Z" },
    });
    expect(decoded).toEqual(
      Either.right({
        kind: "CronJob",
        metadata: { ...meta("nightly"), generation: 2 },
        spec: { template },
      }),
    );
    expect(templatePath("CronJob")).toEqual(["spec", "jobTemplate", "spec", "template"]);
    expect(templatePath("Rollout")).toEqual(["spec", "template"]);
    expect(leftOf(decodeCronJob({ metadata: meta("bad"), spec: {} })).message).toContain(
      "spec.jobTemplate",
    );
  });

  it("decodes an Argo Rollout's status, its observedGeneration (a string) as a number", () => {
    const decoded = decodeRollout({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { ...meta("checkout"), generation: 3 },
      spec: {
        replicas: 4,
        strategy: { canary: { steps: [{ setWeight: 25 }, { pause: { duration: "5s" } }] } },
        template: { spec: { containers: [{ name: "app" }] } },
      },
      status: {
        observedGeneration: "3",
        phase: "Progressing",
        currentPodHash: "5c8b",
        stableRS: "77f4",
        replicas: 5,
        updatedReplicas: 1,
        availableReplicas: 5,
        canary: { weights: { canary: { weight: 25 } } },
      },
    });
    expect(Either.map(decoded, (rollout) => [rollout.kind, rollout.status])).toEqual(
      Either.right([
        "Rollout",
        {
          observedGeneration: 3,
          phase: "Progressing",
          currentPodHash: "5c8b",
          stableRS: "77f4",
          replicas: 5,
          updatedReplicas: 1,
          availableReplicas: 5,
        },
      ]),
    );
    // An older controller's hash is no generation: left out, so no rollout looks complete by it.
    const hashed = decodeRollout({
      metadata: meta("old"),
      spec: { template: { spec: { containers: [] } } },
      status: { observedGeneration: "7d9f5c", phase: "Healthy" },
    });
    expect(Either.map(hashed, (rollout) => rollout.status)).toEqual(
      Either.right({ phase: "Healthy" }),
    );
  });

  it("keeps a Rollout's workloadRef, with an empty template of its own", () => {
    const decoded = decodeRollout({
      metadata: meta("referenced"),
      spec: {
        replicas: 2,
        workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      },
    });
    expect(Either.map(decoded, (rollout) => rollout.spec)).toEqual(
      Either.right({
        replicas: 2,
        workloadRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        template: { spec: { containers: [] } },
      }),
    );
  });

  it("skips a language entry with an unknown language, naming its path, and keeps the others", () => {
    const decoded = decodeInstrumentedApplication({
      metadata: meta("deployment-cart"),
      spec: {
        languages: [
          { containerName: "app", language: "rust" },
          { containerName: "side", language: "go" },
        ],
      },
    });
    const details = Either.getOrThrow(decoded);
    expect(details.spec?.languages).toEqual([{ containerName: "side", language: "go" }]);
    expect(details.skippedLanguages).toEqual([
      {
        path: "spec.languages[0].language",
        message: `Expected "java" | "python" | "go" | "dotnet" | "javascript", actual "rust"`,
      },
    ]);
  });

  it("rejects languages that is not a list", () => {
    const error = leftOf(
      decodeInstrumentedApplication({
        metadata: meta("deployment-cart"),
        spec: { languages: "go" },
      }),
    );
    expect(error.objectName).toBe("InstrumentedApplication shop/deployment-cart");
    expect(error.issues.map((issue) => issue.path)).toEqual(["spec.languages"]);
  });

  it("reports every failing entry and path, not only the first", () => {
    const details = Either.getOrThrow(
      decodeInstrumentedApplication({
        metadata: meta("deployment-cart"),
        spec: {
          languages: [{ containerName: "a", language: "cobol" }, { language: "go" }, 7],
        },
      }),
    );
    expect(details.spec?.languages).toEqual([]);
    expect(details.skippedLanguages.map((issue) => issue.path).sort()).toEqual([
      "spec.languages[0].language",
      "spec.languages[1].containerName",
      "spec.languages[2]",
    ]);
  });

  it("never reads spec.options or status, so nothing in them fails decoding", () => {
    const details = Either.getOrThrow(
      decodeInstrumentedApplication({
        metadata: meta("deployment-cart"),
        spec: {
          languages: [{ containerName: "app", language: "java" }],
          options: "not even a list",
        },
        status: 42,
      }),
    );
    expect(details).toEqual({
      metadata: meta("deployment-cart"),
      spec: { languages: [{ containerName: "app", language: "java" }] },
      skippedLanguages: [],
    });
  });

  it("accepts runtime details without spec or languages", () => {
    expect(Either.isRight(decodeInstrumentedApplication({ metadata: meta("deployment-a") }))).toBe(
      true,
    );
    expect(
      Either.isRight(decodeInstrumentedApplication({ metadata: meta("deployment-a"), spec: {} })),
    ).toBe(true);
  });

  it("accepts a CollectorsGroup without status and rejects an unknown role", () => {
    expect(
      Either.isRight(
        decodeCollectorsGroup({ metadata: meta("gw", "odigos-system"), spec: { role: "GATEWAY" } }),
      ),
    ).toBe(true);
    const error = leftOf(
      decodeCollectorsGroup({ metadata: meta("x", "odigos-system"), spec: { role: "SIDECAR" } }),
    );
    expect(error.objectName).toBe("CollectorsGroup odigos-system/x");
    expect(error.issues.map((issue) => issue.path)).toEqual(["spec.role"]);
  });

  it("rejects an odigos-config with an unknown SDK type or a wrongly shaped defaultSDKs", () => {
    const base = { configVersion: 1, odigosVersion: "v1.0.0" };
    const unknownType = leftOf(
      decodeOdigosConfiguration({
        metadata: meta("odigos-config", "odigos-system"),
        spec: { ...base, defaultSDKs: { go: { sdkType: "wasm", sdkTier: "community" } } },
      }),
    );
    expect(unknownType.issues.map((issue) => issue.path)).toEqual(["spec.defaultSDKs.go.sdkType"]);
    const wrongShape = leftOf(
      decodeOdigosConfiguration({
        metadata: meta("odigos-config", "odigos-system"),
        spec: { ...base, defaultSDKs: ["go"] },
      }),
    );
    expect(wrongShape.issues[0]?.path).toBe("spec.defaultSDKs");
  });

  it("names a nameless object as such", () => {
    const error = leftOf(decodeCollectorsGroup({ spec: { role: "GATEWAY" } }));
    expect(error.objectName).toBe("CollectorsGroup <unnamed>");
  });
});

describe("workloadStatusDecoder", () => {
  const served = (kind: string, status: unknown) => ({
    metadata: { ...meta("checkout"), generation: 2 },
    spec:
      kind === "CronJob"
        ? { jobTemplate: { spec: { template: { spec: { containers: [] } } } } }
        : { template: { spec: { containers: [] } } },
    ...(status === undefined ? {} : { status }),
  });

  it("gives the status the kind's whole decoder gives, with or without one", () => {
    for (const kind of WorkloadKinds) {
      const status =
        kind === "Rollout"
          ? { observedGeneration: "2", phase: "Healthy", replicas: 3, canary: {} }
          : { observedGeneration: 2, replicas: 3, updatedReplicas: 1, conditions: [] };
      for (const raw of [served(kind, status), served(kind, undefined)]) {
        const whole = Either.map(workloadDecoder(kind)(raw), (workload) => workload.status);
        expect(workloadStatusDecoder(kind)(raw)).toEqual(whole);
      }
    }
    expect(
      Either.getOrThrow(
        workloadStatusDecoder("Rollout")(served("Rollout", { observedGeneration: "2" })),
      ),
    ).toEqual({ observedGeneration: 2 });
  });

  it("names the object and the status path that fails", () => {
    const error = leftOf(
      workloadStatusDecoder("StatefulSet")(served("StatefulSet", { replicas: "3" })),
    );
    expect(error.message).toMatch(/^StatefulSet shop\/checkout is malformed: status.replicas: /);
    // A CronJob's slice keeps no status: nothing in it can fail.
    expect(workloadStatusDecoder("CronJob")(served("CronJob", { replicas: "3" }))).toEqual(
      Either.right(undefined),
    );
  });
});

describe("timestamps", () => {
  it("accepts managedFields times as strings, and as Dates (what @kubernetes/client-node returns)", () => {
    const decode = (time: unknown) =>
      Either.getOrThrow(
        decodeDeployment({
          metadata: { ...meta("cart"), managedFields: [{ manager: "kubectl", time }] },
          spec: { template: { spec: { containers: [] } } },
        }),
      ).metadata.managedFields?.[0]?.time;
    expect(decode("2026-11-26T06:49:52Z")).toBe("2026-11-26T06:49:52Z");
    expect(decode(new Date("2026-11-26T06:49:52Z"))).toBe("2026-11-26T06:49:52.000Z");
  });
});
