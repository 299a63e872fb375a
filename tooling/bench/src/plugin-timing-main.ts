/**
 * Times `kubectl odigos-instrumentor status -A -o json` (the built plugin, a new process each run,
 * as kubectl starts it: `plugin-status.ts`) at growing numbers of workloads on a fresh local
 * control plane, and counts the API requests each run makes from the audit log, by verb and
 * resource. Prints one JSON line per size and writes them to
 * `bench-results/plugin-timing-<time>.json`; never fails on a timing.
 * `pnpm --filter @odigos/bench plugin-timing 1000 5000`. `pnpm bench` times it too, on the
 * cluster its instrumentor has converged.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot, startControlPlane } from "@odigos/control-plane";
import { credentialsFromKubeconfig, makeKubeClient, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";
import { auditFromNow, timePluginStatus } from "./plugin-status.js";

const namespaces = 20;

const deployment = (index: number) => ({
  metadata: {
    name: `w${index}`,
    annotations: index % 2 === 0 ? { "odigos.io/instrument": "true" } : {},
  },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: `w${index}` } },
    template: {
      metadata: { labels: { app: `w${index}` } },
      spec: { containers: [{ name: "app", image: "app:1" }] },
    },
  },
});

const main = async () => {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((size) => size > 0);
  const plane = await startControlPlane({ auditLog: true });
  const results: Array<Record<string, unknown>> = [];
  try {
    const credentials = await Effect.runPromise(credentialsFromKubeconfig(plane.kubeconfigPath));
    const client = makeKubeClient(credentials, { userAgent: "plugin-timing-seed" });
    for (let n = 0; n < namespaces; n++)
      await Effect.runPromise(client.create(Resources.Namespace, { metadata: { name: `ns${n}` } }));
    const auditLogPath = plane.auditLogPath;
    if (auditLogPath === undefined) throw new Error("the control plane has no audit log");
    const audit = await auditFromNow(auditLogPath);
    let created = 0;
    for (const size of sizes) {
      const seeds: Array<Effect.Effect<unknown, unknown>> = [];
      for (; created < size; created++)
        seeds.push(
          client.create(Resources.Deployment, deployment(created), {
            namespace: `ns${created % namespaces}`,
          }),
        );
      await Effect.runPromise(Effect.all(seeds, { concurrency: 32, discard: true }));
      const timed = await timePluginStatus(
        { kubeconfigPath: plane.kubeconfigPath },
        audit,
        3,
        size,
      );
      const wrong = timed.runs.find((run) => run.workloads !== size);
      if (wrong !== undefined)
        throw new Error(`the plugin saw ${wrong.workloads} workloads, not ${size}`);
      const last = timed.runs.at(-1)?.requests;
      const line = {
        workloads: size,
        seconds: timed.runs.map((run) => Number((run.ms / 1000).toFixed(2))),
        requestsPerRun: last?.total,
        requests: last?.byVerbResource,
        node: process.version,
      };
      results.push(line);
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    client.close();
  } finally {
    await plane.stop();
  }
  const out = join(repoRoot, "bench-results", `plugin-timing-${new Date().toISOString()}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`JSON: ${out}\n`);
};

await main();
