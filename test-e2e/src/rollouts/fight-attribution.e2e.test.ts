// SPEC section 8, fights, on a cluster with pods: who the report names. A write that changes
// nothing but removals (here a JSON Patch that removes the device) leaves no managedFields entry
// for its writer, so the newest entry is someone else's. One field manager creates a Deployment,
// a second labels it, a third removes the device again and again: the FightDetected Warning
// does not blame the creator (nor the labeller); it says the writer is not recorded and names
// the workload's field managers as candidates, most recent first, and /status says the same.
// The recorded case (a writer that takes a field) is the GitOps loop of guards.e2e.test.ts.
import { credentialsFromKubeconfig, makeKubeClient, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluatedBy } from "../support/evaluated.js";
import { device } from "../support/odigos.js";
import { type PodsBed, startPodsBed, waitForTemplateDevices } from "../support/pods-cluster.js";
import { operatorStatus } from "../support/status.js";

const go = [{ containerName: "app", language: "go" as const }];
const goDevice = device("go");
const optIn = { "odigos.io/instrument": "true" };
/** The device in the first container's limits, as a JSON Pointer. */
const devicePath = `/spec/template/spec/containers/0/resources/limits/${goDevice.replaceAll("/", "~1")}`;

describe("fight attribution on a cluster with pods", { timeout: 300_000 }, () => {
  let bed: PodsBed;
  beforeAll(async () => {
    bed = await startPodsBed({
      pods: { nodes: 2 },
      args: ["--log-level=debug", "--fight-limit=2", "--fight-window=10m"],
    });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it("a JSON Patch that removes the device again and again is not blamed on the creator: the writer is not recorded, the field managers are candidates", async () => {
    const ns = await bed.namespace("attribution", optIn);
    const credentials = await Effect.runPromise(
      credentialsFromKubeconfig(bed.controlPlane.kubeconfigPath),
    );
    const as = (manager: string) =>
      makeKubeClient(credentials, { userAgent: `${manager}/1.0`, fieldManager: manager });
    const creator = as("app-creator");
    const labeller = as("app-labeller");
    const remover = as("device-remover");
    try {
      await Effect.runPromise(
        creator.create(Resources.Deployment, {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "z", namespace: ns },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: "z" } },
            template: {
              metadata: { labels: { app: "z" } },
              spec: { containers: [{ name: "app", image: "example.invalid/app:1" }] },
            },
          },
        }),
      );
      // managedFields times have whole seconds: the label a second later orders the candidates.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await Effect.runPromise(
        labeller.patch(
          Resources.Deployment,
          "z",
          { type: "merge", body: { metadata: { labels: { team: "shop" } } } },
          { namespace: ns },
        ),
      );
      await bed.cluster.putRuntimeDetails("Deployment", ns, "z", go);
      // Put back twice (the limit), then the third removal stops the put-backs.
      for (let round = 0; round < 3; round++) {
        await waitForTemplateDevices(
          bed.cluster,
          "Deployment",
          ns,
          "z",
          { app: [goDevice] },
          60_000,
        );
        await Effect.runPromise(
          remover.patch(
            Resources.Deployment,
            "z",
            { type: "json", operations: [{ op: "remove", path: devicePath }] },
            { namespace: ns },
          ),
        );
      }
      const report = await bed.instrumentor.waitForLog(
        (line) => line.reason === "FightDetected" && line.workload === "z",
        60_000,
      );
      // The premise, on a real API server: the remover has no entry; the newest is the labeller's.
      const live = await Effect.runPromise(
        creator.get(Resources.Deployment, "z", { namespace: ns }),
      );
      const managers = (
        (live.metadata.managedFields ?? []) as ReadonlyArray<{ manager?: string }>
      ).map((entry) => entry.manager);
      expect(managers).toEqual(expect.arrayContaining(["app-creator", "app-labeller"]));
      expect(managers).not.toContain("device-remover");

      expect(report).toMatchObject({
        level: "warn",
        writer: "an unrecorded writer (candidates: app-labeller, app-creator)",
        writerRecorded: false,
        candidates: ["app-labeller", "app-creator"],
        putBacks: 2,
      });
      const events = (
        await bed.cluster.core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: "reason=FightDetected",
        })
      ).items;
      expect(events.map((event) => event.involvedObject.name)).toEqual(["z"]);
      const note = events[0]?.message ?? "";
      expect(note).toMatch(/^another writer keeps removing the instrumentation devices/);
      expect(note).not.toMatch(/app-(creator|labeller) keeps removing/);
      expect(note).toMatch(
        /the writer is not recorded: .*candidates, most recent first, not confirmed: app-labeller, app-creator/,
      );
      expect(note).toMatch(/Remedy: find the writer \(candidates: app-labeller, app-creator;/);
      // Put-backs stopped: the instrumentor saw the last removal and wrote nothing.
      await evaluatedBy(bed.instrumentor, bed.cluster, "Deployment", ns, "z");
      expect(await bed.cluster.devices("Deployment", ns, "z")).toEqual({});
      const [status] = (await operatorStatus(bed.instrumentor, ns)).filter(
        (entry) => entry.name === "z",
      );
      expect(status).toMatchObject({ state: "Held", reason: "FightPaused" });
      expect(status?.message).toMatch(
        /^an unrecorded writer \(candidates: app-labeller, app-creator\) keeps removing the devices: not put back before /,
      );
      expect(status?.remedy).toMatch(/^find the writer/);
    } finally {
      for (const client of [creator, labeller, remover]) client.close();
    }
  });
});
