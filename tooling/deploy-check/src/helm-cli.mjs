// @ts-check
/** `pnpm --filter @odigos/deploy-check helm -- <args>`: runs the pinned helm (built on first use). */
import { spawnSync } from "node:child_process";
import { ensureHelm } from "./helm.mjs";

const helm = await ensureHelm();
const result = spawnSync(helm, process.argv.slice(2), { stdio: "inherit" });
process.exit(result.status ?? 1);
