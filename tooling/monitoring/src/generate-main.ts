/**
 * `pnpm --filter @odigos/monitoring generate`: writes the dashboard (`dashboard.ts`) into the
 * chart as deploy/helm/instrumentor/files/dashboard.json. The package's tests fail while the
 * file differs from what this writes.
 */
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { dashboardJson } from "./dashboard.js";
import { dashboardFile, repoRoot } from "./files.js";

writeFileSync(dashboardFile, dashboardJson());
process.stdout.write(`wrote ${relative(repoRoot, dashboardFile)}\n`);
