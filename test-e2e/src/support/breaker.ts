/** The circuit breaker as a person clears it: the command the instrumentor's README documents. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { ensureBinaries } from "@odigos/control-plane";

/** The command apps/instrumentor/README.md gives to clear the breaker, whitespace collapsed. */
export const documentedReset = (() => {
  const readme = readFileSync(
    new URL("../../../apps/instrumentor/README.md", import.meta.url),
    "utf8",
  );
  const match =
    /`(kubectl -n \S+ annotate odigosconfiguration odigos-config\s+odigos\.io\/reset-breaker=\$\(date \+%s\) --overwrite)`/.exec(
      readme,
    );
  if (match?.[1] === undefined)
    throw new Error("apps/instrumentor/README.md documents no command that clears the breaker");
  return match[1].replace(/\s+/g, " ");
})();

/** Runs {@link documentedReset} with the control plane's kubectl and kubeconfig, as a person would. */
export async function resetBreakerByCommand(kubeconfigPath: string): Promise<void> {
  const kubectl = (await ensureBinaries()).kubectl ?? "kubectl";
  await promisify(execFile)("sh", ["-c", documentedReset], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfigPath,
      PATH: `${dirname(kubectl)}:${process.env.PATH ?? ""}`,
    },
  });
}
