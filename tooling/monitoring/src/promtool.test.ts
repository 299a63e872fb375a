/**
 * promtool, built from the Go module proxy at the release tooling/prometheus-binary pins, checks
 * the chart's rules and runs their unit tests (rules.test.yaml); and fails them when an alert is
 * broken, so that the tests can fail.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensurePrometheus } from "@odigos/control-plane";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertsFile, rulesTestFile } from "./files.js";

const run = async (command: string, args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { maxBuffer: 1 << 24 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
};

describe("promtool", () => {
  let promtool: string;
  const scratch = mkdtempSync(join(tmpdir(), "odigos-rules-"));

  beforeAll(async () => {
    promtool = (await ensurePrometheus()).promtool;
  }, 1_800_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("check rules: the chart's rules are valid", async () => {
    const result = await run(promtool, ["check", "rules", alertsFile]);
    expect(result.output).toContain("SUCCESS: 10 rules found");
    expect(result.code, result.output).toBe(0);
  });

  it("test rules: every alert fires on its series, after its `for`, and resolves", async () => {
    const result = await run(promtool, ["test", "rules", rulesTestFile]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("SUCCESS");
  });

  it("test rules fails when an alert is broken (the breaker's threshold raised)", async () => {
    const broken = readFileSync(alertsFile, "utf8").replace(
      "max by (namespace) (odigos_instrumentor_circuit_breaker_open) > 0",
      "max by (namespace) (odigos_instrumentor_circuit_breaker_open) > 1",
    );
    expect(broken).not.toBe(readFileSync(alertsFile, "utf8"));
    writeFileSync(join(scratch, "alerts.yaml"), broken);
    writeFileSync(
      join(scratch, "rules.test.yaml"),
      readFileSync(rulesTestFile, "utf8").replace(
        "../../deploy/helm/instrumentor/files/alerts.yaml",
        "alerts.yaml",
      ),
    );
    const result = await run(promtool, ["test", "rules", join(scratch, "rules.test.yaml")]);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("OdigosInstrumentorCircuitBreakerOpen");
  });
});
