/**
 * A floor client in a process of its own, started fresh for one ready and one unready pass: the
 * floor a fresh instrumentor's first cycle is judged by, both paying for code V8 has not
 * optimized yet (the benchmark's own floor passes run in its long-warm process).
 *
 * Started by the benchmark with `--kubeconfig F --workloads N --namespaces M --concurrency C`.
 * It reads commands from stdin, one a line, and answers each on stdout:
 * - `load <JSON array of WorkloadState>`: the copies to patch from, as the benchmark's watch has
 *   them (its watch is the only one, as for the floor passes in the benchmark); answers `loaded`.
 * - `ready` / `unready`: patches every workload to carry its devices or none, 409s retried from a
 *   fresh GET; answers `done ready` / `done unready`.
 * It exits when stdin closes.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { workloadResource } from "@odigos/crd-types";
import * as Effect from "effect/Effect";
import { positive } from "./args.js";
import { patchAll } from "./floor.js";
import { benchClient } from "./meter.js";
import {
  expectedDevices,
  keyOf,
  planWorkloads,
  stateOf,
  type WorkloadSpec,
  type WorkloadState,
} from "./workloads.js";

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      workloads: { type: "string" },
      namespaces: { type: "string" },
      concurrency: { type: "string" },
      "no-rollouts": { type: "boolean" },
    },
  });
  if (values.kubeconfig === undefined) throw new Error("--kubeconfig is required");
  // The benchmark always passes all three (and --no-rollouts when it seeded none); the fallbacks are its own defaults.
  const specs = planWorkloads(
    positive("workloads", values.workloads, 1000),
    positive("namespaces", values.namespaces, 20),
    values["no-rollouts"] !== true,
  );
  const concurrency = positive("concurrency", values.concurrency, 8);
  const desired = new Map(specs.map((spec) => [keyOf(spec), expectedDevices(spec)]));
  const client = await benchClient(values.kubeconfig, "floor");
  const copies = new Map<string, WorkloadState>();
  const refresh = (spec: WorkloadSpec) =>
    client.get(workloadResource(spec.kind), spec.name, { namespace: spec.namespace }).pipe(
      Effect.tap((raw) => {
        const state = stateOf(spec.kind, raw);
        if (state !== undefined) copies.set(keyOf(spec), state);
      }),
      Effect.asVoid,
      Effect.orElse(() => Effect.void),
    );
  const work = { client, workload: (key: string) => copies.get(key), refresh, specs, desired };
  try {
    for await (const line of createInterface({ input: process.stdin })) {
      if (line.startsWith("load ")) {
        for (const state of JSON.parse(line.slice("load ".length)) as WorkloadState[])
          copies.set(keyOf(state), state);
        process.stdout.write("loaded\n");
      } else if (line === "ready" || line === "unready") {
        await patchAll(work, concurrency, line === "ready");
        process.stdout.write(`done ${line}\n`);
      } else throw new Error(`unknown command: ${line.slice(0, 40)}`);
    }
  } finally {
    client.close();
  }
};

main().catch((error: unknown) => {
  process.stderr.write(`fresh floor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
