import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { auditFromNow, pluginCommand, timePluginStatus } from "./plugin-status.js";

const scratch = mkdtempSync(join(tmpdir(), "plugin-status-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const auditLine = (userAgent: string, verb: string, resource: string, code = 200) =>
  `${JSON.stringify({
    stage: "ResponseComplete",
    verb,
    userAgent,
    objectRef: { resource },
    responseStatus: { code },
  })}\n`;

/**
 * A stand-in for the plugin: it writes its requests to the audit log (and another client's one
 * beside them), checks the arguments a person types, and prints a `total`.
 */
const fakePlugin = (auditLog: string, total: number): string => {
  const entry = join(scratch, "fake-plugin.mjs");
  const lines = [
    auditLine("kubectl-odigos_instrumentor/0.1.0", "list", "deployments"),
    auditLine("kubectl-odigos_instrumentor/0.1.0", "list", "deployments"),
    auditLine("kubectl-odigos_instrumentor/0.1.0", "get", "leases", 404),
    auditLine("odigos-instrumentor/0.1.0 pid/1", "patch", "deployments"),
  ].join("");
  writeFileSync(
    entry,
    `import { appendFileSync } from "node:fs";
const args = process.argv.slice(2).join(" ");
if (args !== "status -A -o json --odigos-namespace odigos-bench") throw new Error(args);
if (process.env.KUBECONFIG !== "/tmp/kubeconfig") throw new Error("KUBECONFIG");
appendFileSync(${JSON.stringify(auditLog)}, ${JSON.stringify(lines)});
console.log(JSON.stringify({ total: ${total}, rows: [] }));
`,
  );
  return entry;
};

describe("kubectl odigos-instrumentor status -A, timed", () => {
  it("runs the plugin a new process each time and counts only its requests, by verb and resource", async () => {
    const auditLog = join(scratch, "audit.log");
    writeFileSync(auditLog, auditLine("kubectl-odigos_instrumentor/0.1.0", "list", "pods"));
    const audit = await auditFromNow(auditLog);
    appendFileSync(auditLog, auditLine("odigos-bench/0.1.0 driver", "create", "deployments"));
    const target = {
      kubeconfigPath: "/tmp/kubeconfig",
      odigosNamespace: "odigos-bench",
      entry: fakePlugin(auditLog, 7),
    };
    const timed = await timePluginStatus(target, audit, 2, 7);
    expect(timed.runs).toHaveLength(2);
    expect(timed.expected).toBe(7);
    for (const run of timed.runs) {
      expect(run.workloads).toBe(7);
      expect(run.requests.total).toBe(3);
      expect(run.requests.byVerbResource).toEqual({ "list deployments": 2, "get leases": 1 });
      expect(run.failed).toEqual({ "get leases 404": 1 });
      expect(run.ms).toBeGreaterThan(0);
    }
    expect(timed.medianMs).toBeGreaterThan(0);
    expect(timed.maxMs).toBeGreaterThanOrEqual(timed.medianMs ?? 0);
    expect(pluginCommand(target)).toMatch(
      /^KUBECONFIG=\/tmp\/kubeconfig node .*fake-plugin\.mjs status -A -o json --odigos-namespace odigos-bench$/,
    );
  });

  it("rejects a plugin that fails", async () => {
    const entry = join(scratch, "failing-plugin.mjs");
    writeFileSync(entry, "process.exit(1);\n");
    const audit = await auditFromNow(join(scratch, "none.log"));
    await expect(
      timePluginStatus({ kubeconfigPath: "/tmp/kubeconfig", entry }, audit, 1, 1),
    ).rejects.toThrow(/failing-plugin/);
  });
});
