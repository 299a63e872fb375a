import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { loadCredentials } from "./config.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credentials-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kubeconfig = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) =>
  stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "dev",
    contexts: [
      { name: "other", context: { cluster: "nope", user: "nope" } },
      { name: "dev", context: { cluster: "c", user: "u" } },
    ],
    clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443", ...cluster } }],
    users: [{ name: "u", user }],
  });

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("loadCredentials", () => {
  it("reads client certificates and the CA inline from KUBECONFIG's current context", async () => {
    const path = join(dir, "config");
    await writeFile(
      path,
      kubeconfig(
        { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") },
        { "certificate-authority-data": b64("CA") },
      ),
    );
    const credentials = await loadCredentials({ KUBECONFIG: path });
    expect(credentials.source).toBe("KUBECONFIG");
    expect(credentials.server).toBe("https://127.0.0.1:6443");
    expect(credentials.ca?.toString()).toBe("CA");
    expect(credentials.cert?.toString()).toBe("CERT");
    expect(credentials.key?.toString()).toBe("KEY");
    expect(await credentials.authHeaders()).toEqual({});
  });

  it("resolves file paths relative to the kubeconfig and reads a token file", async () => {
    await writeFile(join(dir, "ca.crt"), "CA-FILE");
    await writeFile(join(dir, "token"), "file-token\n");
    const path = join(dir, "config");
    await writeFile(
      path,
      kubeconfig(
        { tokenFile: "token" },
        { "certificate-authority": "ca.crt", "insecure-skip-tls-verify": false },
      ),
    );
    const credentials = await loadCredentials({ KUBECONFIG: path });
    expect(credentials.ca?.toString()).toBe("CA-FILE");
    expect(await credentials.authHeaders()).toEqual({ authorization: "Bearer file-token" });
  });

  it("uses a static token, and ~/.kube/config when KUBECONFIG is unset", async () => {
    await mkdir(join(dir, ".kube"));
    await writeFile(
      join(dir, ".kube", "config"),
      kubeconfig({ token: "static" }, { "insecure-skip-tls-verify": true }),
    );
    const credentials = await loadCredentials(
      {},
      { home: dir, serviceAccountDir: join(dir, "none") },
    );
    expect(credentials.source).toBe("~/.kube/config");
    expect(credentials.insecureSkipTlsVerify).toBe(true);
    expect(await credentials.authHeaders()).toEqual({ authorization: "Bearer static" });
  });

  it("prefers the in-cluster service account, re-reading its rotating token", async () => {
    await writeFile(join(dir, "token"), "sa-token");
    await writeFile(join(dir, "ca.crt"), "SA-CA");
    const credentials = await loadCredentials(
      {
        KUBERNETES_SERVICE_HOST: "fd00::1",
        KUBERNETES_SERVICE_PORT: "443",
        KUBECONFIG: "/nowhere",
      },
      { serviceAccountDir: dir },
    );
    expect(credentials.source).toBe("in-cluster");
    expect(credentials.server).toBe("https://[fd00::1]:443");
    expect(credentials.ca?.toString()).toBe("SA-CA");
    expect(await credentials.authHeaders()).toEqual({ authorization: "Bearer sa-token" });
  });

  it("hands plugin-based users (exec) to the client library", async () => {
    const path = join(dir, "config");
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-exec" },
    });
    await writeFile(
      path,
      kubeconfig({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: process.execPath,
          args: ["-e", `console.log(${JSON.stringify(credential)})`],
          interactiveMode: "Never",
        },
      }),
    );
    const credentials = await loadCredentials({ KUBECONFIG: path });
    expect(credentials.server).toBe("https://127.0.0.1:6443");
    expect(await credentials.authHeaders()).toMatchObject({ authorization: "Bearer from-exec" });
  });

  it("says what is missing", async () => {
    await expect(loadCredentials({ KUBECONFIG: join(dir, "absent") })).rejects.toThrow(
      /KUBECONFIG points at .*absent, which does not exist/,
    );
    await expect(loadCredentials({}, { home: dir, serviceAccountDir: dir })).rejects.toThrow(
      /no Kubernetes credentials/,
    );
    const path = join(dir, "config");
    await writeFile(path, stringify({ "current-context": "gone", contexts: [] }));
    await expect(loadCredentials({ KUBECONFIG: path })).rejects.toThrow(
      /current-context "gone" not found/,
    );
  });
});
