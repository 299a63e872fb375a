import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { stringify } from "yaml";
import { type Pki, pemAsBase64 } from "./certs.js";
import type { SupervisedProcess } from "./processes.js";

/** Reserves `count` distinct free loopback ports (released just before use). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export function exitReason(process: SupervisedProcess): string | undefined {
  return process.hasExited()
    ? `${process.name} exited; last log lines:\n${logTail(process.logFile)}`
    : undefined;
}

export async function writeKubeconfig(
  path: string,
  server: string,
  pki: Pki,
  user: { name: string; cert: string; key: string },
): Promise<void> {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "odigos-test",
        cluster: { server, "certificate-authority-data": await pemAsBase64(pki.caCert) },
      },
    ],
    users: [
      {
        name: user.name,
        user: {
          "client-certificate-data": await pemAsBase64(user.cert),
          "client-key-data": await pemAsBase64(user.key),
        },
      },
    ],
    contexts: [{ name: "odigos-test", context: { cluster: "odigos-test", user: user.name } }],
    "current-context": "odigos-test",
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
}
