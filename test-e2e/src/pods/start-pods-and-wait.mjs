// Starts a control plane with pods, prints its data dir and pids as one JSON line, then idles until killed.
import { startControlPlane } from "@odigos/control-plane";

const controlPlane = await startControlPlane({ pods: { nodes: 1 }, crds: false });
process.stdout.write(
  `${JSON.stringify({ dataDir: controlPlane.dataDir, pids: controlPlane.pids() })}\n`,
);
setInterval(() => {}, 1 << 30);
