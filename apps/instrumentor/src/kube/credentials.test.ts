import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as Effect from "effect/Effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadCredentials } from "./credentials.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credentials-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Plain tokens, certificates and kubeconfig fields are @odigos/kube-client's (tested there);
// the app adds credential plugins through @kubernetes/client-node.
describe("loadCredentials", () => {
  it("loads a user with an exec plugin through the client library", async () => {
    const path = join(dir, "config");
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-exec" },
    });
    await writeFile(
      path,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        "current-context": "dev",
        contexts: [{ name: "dev", context: { cluster: "c", user: "u" } }],
        clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443" } }],
        users: [
          {
            name: "u",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1",
                command: process.execPath,
                args: ["-e", `console.log(${JSON.stringify(credential)})`],
                interactiveMode: "Never",
              },
            },
          },
        ],
      }),
    );
    const credentials = await Effect.runPromise(loadCredentials({ KUBECONFIG: path }));
    expect(credentials.server).toBe("https://127.0.0.1:6443");
    expect(await credentials.authHeaders()).toMatchObject({ authorization: "Bearer from-exec" });
  });

  it("says what is missing", async () => {
    const error = await Effect.runPromise(
      Effect.flip(loadCredentials({}, { home: dir, serviceAccountDir: dir })),
    );
    expect(error.message).toMatch(/no Kubernetes credentials/);
  });
});
