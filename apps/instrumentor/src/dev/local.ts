#!/usr/bin/env node
/**
 * `pnpm start` for people: runs the instrumentor against the configured
 * cluster, or, when none is configured, against a local control plane started
 * here with a short demo that shows a workload getting instrumented. Ctrl-C
 * stops everything and leaves nothing behind.
 */
import * as Either from "effect/Either";
import { parseConfig } from "../config.js";
import { startInstrumentor } from "../instrumentor.js";
import { type ClusterCredentials, clusterConfigured, loadCredentials } from "../kube/config.js";
import { KubeHttp } from "../kube/http.js";
import { makeLogger } from "../logger.js";
import { demoNamespace, demoWorkload, seedDemo, waitForDevice } from "./demo-seed.js";

const say = (line: string) => process.stderr.write(`\x1b[1m▶ ${line}\x1b[0m\n`);

const main = async () => {
  const argv = process.argv.slice(2);
  const parsed = parseConfig(
    argv.some((arg) => arg.includes("bind-address"))
      ? argv
      : ["--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0", ...argv],
    process.env,
  );
  if (Either.isLeft(parsed)) throw new Error(parsed.left.message);
  const config = parsed.right;
  const log = makeLogger(config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping");
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  let kubeconfigPath: string | undefined;
  let credentials: ClusterCredentials;
  if (clusterConfigured()) {
    credentials = await loadCredentials();
    say(`using the configured cluster (${credentials.source}: ${credentials.server})`);
  } else {
    say(
      "no cluster configured: starting a local kube-apiserver + etcd (the first run builds them from source, ~5 min)",
    );
    const { startControlPlane } = await import("@odigos/control-plane");
    const started = Date.now();
    const plane = await startControlPlane();
    cleanups.push(() => plane.stop());
    kubeconfigPath = plane.kubeconfigPath;
    credentials = await loadCredentials({ KUBECONFIG: plane.kubeconfigPath });
    say(
      `control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.server}`,
    );
    const kube = KubeHttp.from(credentials);
    await seedDemo(kube, config.odigosNamespace);
    kube.destroy();
    say(
      `created namespace ${config.odigosNamespace} (odigos-config, a ready data-collection CollectorsGroup) and ` +
        `namespace ${demoNamespace} with Deployment ${demoWorkload} (odigos.io/instrument=true) and its runtime details (go)`,
    );
  }

  const running = await startInstrumentor(config, credentials, log);
  cleanups.push(() => running.stop());
  await running.synced;
  say(`instrumentor running (metrics :${running.ports.metrics}, health :${running.ports.health})`);

  if (kubeconfigPath !== undefined) {
    const kube = KubeHttp.from(credentials);
    const device = await waitForDevice(kube, 30_000);
    kube.destroy();
    say(`deployment ${demoNamespace}/${demoWorkload} now carries ${device}`);
    const k = `kubectl --kubeconfig ${kubeconfigPath}`;
    process.stderr.write(
      [
        "",
        "  Watch the device:",
        `    ${k} -n ${demoNamespace} get deployment ${demoWorkload} -o jsonpath='{.spec.template.spec.containers[0].resources.limits}{"\\n"}' -w`,
        "  Opt the workload out (the device goes, and so do its runtime details):",
        `    ${k} -n ${demoNamespace} annotate deployment ${demoWorkload} odigos.io/instrument=false --overwrite`,
        "  Opt it back in:",
        `    ${k} -n ${demoNamespace} annotate deployment ${demoWorkload} odigos.io/instrument=true --overwrite`,
        "  Collectors not ready (every device goes):",
        `    ${k} -n ${config.odigosNamespace} patch collectorsgroup odigos-data-collection --subresource=status --type=merge -p '{"status":{"ready":false}}'`,
        "",
        "  Ctrl-C stops the instrumentor and the control plane and removes its data.",
        "",
      ].join("\n"),
    );
  }
  await running.leadershipLost;
  await stopAll(1);
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
