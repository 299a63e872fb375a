import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BinariesUnavailableError } from "./binaries.js";
import { prometheusConfig } from "./prometheus.js";
import {
  ensurePrometheus,
  missingPrometheusMessage,
  prometheusBuildRecipe,
  prometheusCacheKey,
  prometheusRelease,
} from "./prometheus-binary.js";
import { executable, scratchDir } from "./test-support/scratch.js";

describe("prometheusRelease", () => {
  it("reads Prometheus 3's release from its module version", () => {
    expect(prometheusRelease("v0.316.0")).toBe("3.16.0");
    expect(prometheusRelease("v0.305.2")).toBe("3.5.2");
    expect(() => prometheusRelease("v2.53.0")).toThrow(BinariesUnavailableError);
  });
});

describe("prometheusBuildRecipe and cache key", () => {
  it("builds both commands, static, with the release stamped in", () => {
    expect(prometheusBuildRecipe("v0.316.0")).toEqual({
      packages: [
        "github.com/prometheus/prometheus/cmd/prometheus",
        "github.com/prometheus/prometheus/cmd/promtool",
      ],
      ldflags:
        "-s -w -X github.com/prometheus/common/version.Version=3.16.0 -X github.com/prometheus/common/version.Branch=module-proxy",
      env: { CGO_ENABLED: "0" },
      tags: ["remove_all_sd"],
    });
    const platform = { goos: "linux", goarch: "amd64" };
    expect(prometheusCacheKey("v0.316.0", platform)).toMatch(
      /^prometheus-v0\.316\.0_linux-amd64_[0-9a-f]+$/,
    );
    expect(prometheusCacheKey("v0.316.0", platform)).not.toBe(
      prometheusCacheKey("v0.315.1", platform),
    );
  });
});

describe("ensurePrometheus", () => {
  it("takes ODIGOS_PROMETHEUS and ODIGOS_PROMTOOL as given, building nothing", async () => {
    const dir = scratchDir();
    const env = {
      ODIGOS_PROMETHEUS: executable(dir, "prometheus"),
      ODIGOS_PROMTOOL: executable(dir, "promtool"),
      PATH: "",
      ODIGOS_K8S_CACHE_DIR: join(dir, "cache"),
    };
    expect(await ensurePrometheus({ env })).toEqual({
      prometheus: join(dir, "prometheus"),
      promtool: join(dir, "promtool"),
      version: "3.16.0",
    });
  });

  it("finds both in KUBEBUILDER_ASSETS", async () => {
    const assets = scratchDir();
    executable(assets, "prometheus");
    executable(assets, "promtool");
    const env = { KUBEBUILDER_ASSETS: assets, PATH: "", ODIGOS_K8S_CACHE_DIR: scratchDir() };
    expect(await ensurePrometheus({ env })).toMatchObject({
      prometheus: join(assets, "prometheus"),
      promtool: join(assets, "promtool"),
    });
  });

  it("refuses an override that is not executable, naming the variable", async () => {
    const dir = scratchDir();
    writeFileSync(join(dir, "promtool"), "not executable");
    const env = { ODIGOS_PROMTOOL: join(dir, "promtool"), PATH: "", ODIGOS_K8S_CACHE_DIR: dir };
    await expect(ensurePrometheus({ env })).rejects.toThrow(
      /ODIGOS_PROMTOOL=.* is not an executable/,
    );
  });

  it("says what to do when there is no binary, no cache and no go", async () => {
    const cache = scratchDir();
    const env = { PATH: "", ODIGOS_K8S_CACHE_DIR: cache };
    await expect(ensurePrometheus({ env })).rejects.toThrow(BinariesUnavailableError);
    expect(missingPrometheusMessage(cache, "v0.316.0")).toContain("ODIGOS_PROMETHEUS");
  });
});

describe("prometheusConfig", () => {
  it("scrapes each target with its labels and loads the rule files, at the given interval", () => {
    const config = parse(
      prometheusConfig({
        targets: [{ address: "127.0.0.1:8080", labels: { namespace: "odigos-system", pod: "a" } }],
        ruleFiles: ["/rules/alerts.yaml"],
        interval: "2s",
      }),
    );
    expect(config).toEqual({
      global: { scrape_interval: "2s", evaluation_interval: "2s", scrape_timeout: "2s" },
      rule_files: ["/rules/alerts.yaml"],
      scrape_configs: [
        {
          job_name: "odigos-instrumentor",
          metrics_path: "/metrics",
          static_configs: [
            { targets: ["127.0.0.1:8080"], labels: { namespace: "odigos-system", pod: "a" } },
          ],
        },
      ],
    });
  });
});
