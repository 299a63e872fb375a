/**
 * Times `kubectl odigos-instrumentor status -A -o json` (the built plugin, a new process each run,
 * as kubectl starts it) at growing numbers of workloads on a fresh local control plane, and
 * counts the API requests each run makes from the audit log. Prints one JSON line per size and
 * writes them to `--out` (default `bench-results/plugin-timing-<time>.json`); never fails on a
 * timing. `pnpm --filter @odigos/bench plugin-timing 1000 5000`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startControlPlane } from "@odigos/control-plane";
import { credentialsFromKubeconfig, makeKubeClient, Resources } from "@odigos/kube-client";
import * as Effect from "effect/Effect";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const plugin = join(repoRoot, "apps/kubectl-plugin/dist/main.js");
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

const runPlugin = (kubeconfig: string): { seconds: number; total: number } => {
  const started = performance.now();
  const out = execFileSync(process.execPath, [plugin, "status", "-A", "-o", "json"], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    maxBuffer: 1 << 28,
  });
  return { seconds: (performance.now() - started) / 1000, total: JSON.parse(String(out)).total };
};

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
    let created = 0;
    const pluginRequests = async () =>
      (await plane.readAuditEvents()).filter(
        (event) =>
          (event.userAgent ?? "").startsWith("kubectl-odigos_instrumentor") &&
          event.stage === "ResponseComplete",
      ).length;
    for (const size of sizes) {
      const seeds: Array<Effect.Effect<unknown, unknown>> = [];
      for (; created < size; created++)
        seeds.push(
          client.create(Resources.Deployment, deployment(created), {
            namespace: `ns${created % namespaces}`,
          }),
        );
      await Effect.runPromise(Effect.all(seeds, { concurrency: 32, discard: true }));
      const runs: Array<number> = [];
      let requests = 0;
      for (let run = 0; run < 3; run++) {
        const before = await pluginRequests();
        const { seconds, total } = runPlugin(plane.kubeconfigPath);
        if (total !== size) throw new Error(`the plugin saw ${total} workloads, not ${size}`);
        runs.push(Number(seconds.toFixed(2)));
        requests = (await pluginRequests()) - before;
      }
      const line = {
        workloads: size,
        seconds: runs,
        requestsPerRun: requests,
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
