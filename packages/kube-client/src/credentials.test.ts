import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as Effect from "effect/Effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  type ClusterCredentials,
  type LoadCredentialsOptions,
  loadCredentials,
} from "./credentials.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "credentials-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const load = (options: LoadCredentialsOptions) => Effect.runPromise(loadCredentials(options));
const failure = (options: LoadCredentialsOptions) =>
  Effect.runPromise(Effect.flip(loadCredentials(options))).then((error) => error.message);

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

const write = async (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) => {
  const path = join(dir, "config");
  await writeFile(path, kubeconfig(user, cluster));
  return path;
};

describe("loadCredentials", () => {
  it("reads client certificates and the CA inline from KUBECONFIG's current context", async () => {
    const path = await write(
      { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") },
      { "certificate-authority-data": b64("CA") },
    );
    const credentials = await load({ env: { KUBECONFIG: path } });
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
    const path = await write(
      { tokenFile: "token" },
      { "certificate-authority": "ca.crt", "insecure-skip-tls-verify": false },
    );
    const credentials = await load({ env: { KUBECONFIG: path } });
    expect(credentials.ca?.toString()).toBe("CA-FILE");
    const first = credentials.authHeaders();
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual({ authorization: "Bearer file-token" });
    // Read again at most once a minute: until then the headers are at hand, without a promise.
    await writeFile(join(dir, "token"), "rotated-token\n");
    expect(credentials.authHeaders()).toEqual({ authorization: "Bearer file-token" });
  });

  it("uses a static token, and ~/.kube/config when KUBECONFIG is unset", async () => {
    await mkdir(join(dir, ".kube"));
    await writeFile(
      join(dir, ".kube", "config"),
      kubeconfig({ token: "static" }, { "insecure-skip-tls-verify": true }),
    );
    const credentials = await load({ env: {}, home: dir, serviceAccountDir: join(dir, "none") });
    expect(credentials.source).toBe("~/.kube/config");
    expect(credentials.insecureSkipTlsVerify).toBe(true);
    expect(credentials.authHeaders()).toEqual({ authorization: "Bearer static" });
  });

  it("prefers the in-cluster service account, re-reading its rotating token", async () => {
    await writeFile(join(dir, "token"), "sa-token");
    await writeFile(join(dir, "ca.crt"), "SA-CA");
    const credentials = await load({
      env: {
        KUBERNETES_SERVICE_HOST: "fd00::1",
        KUBERNETES_SERVICE_PORT: "443",
        KUBECONFIG: "/nowhere",
      },
      serviceAccountDir: dir,
    });
    expect(credentials.source).toBe("in-cluster");
    expect(credentials.server).toBe("https://[fd00::1]:443");
    expect(credentials.ca?.toString()).toBe("SA-CA");
    expect(await credentials.authHeaders()).toEqual({ authorization: "Bearer sa-token" });
    expect(credentials.namespace).toBeUndefined();
    await writeFile(join(dir, "namespace"), "odigos-system\n");
    const withNamespace = await load({
      env: { KUBERNETES_SERVICE_HOST: "10.0.0.1" },
      serviceAccountDir: dir,
    });
    expect(withNamespace.namespace).toBe("odigos-system");
  });

  it("gives the current context's namespace, and none when the context names none", async () => {
    const path = await write({ token: "t" });
    expect((await load({ env: { KUBECONFIG: path } })).namespace).toBeUndefined();
    await writeFile(
      path,
      kubeconfig({ token: "t" }).replace("user: u\n", "user: u\n      namespace: shop\n"),
    );
    expect((await load({ env: { KUBECONFIG: path } })).namespace).toBe("shop");
  });

  it("honours tls-server-name and impersonation (as, as-uid, as-groups, as-user-extra)", async () => {
    const path = await write(
      {
        token: "t",
        as: "jane",
        "as-uid": "42",
        "as-groups": ["dev", "ops"],
        "as-user-extra": { scopes: ["view", "edit"] },
      },
      { "tls-server-name": "kubernetes.default.svc" },
    );
    const credentials = await load({ env: { KUBECONFIG: path } });
    expect(credentials.tlsServerName).toBe("kubernetes.default.svc");
    expect(await credentials.authHeaders()).toEqual({
      authorization: "Bearer t",
      "impersonate-user": "jane",
      "impersonate-uid": "42",
      "impersonate-group": "dev,ops",
      "impersonate-extra-scopes": "view,edit",
    });
  });

  it("refuses a field it would silently ignore, naming it", async () => {
    const proxied = await write({ token: "t" }, { "proxy-url": "http://proxy:3128" });
    expect(await failure({ env: { KUBECONFIG: proxied } })).toMatch(
      /cluster "c" sets "proxy-url": requests through an HTTP proxy are not supported/,
    );
    const unknown = await write({ token: "t", "new-auth-thing": true });
    expect(await failure({ env: { KUBECONFIG: unknown } })).toMatch(
      /user "u" sets "new-auth-thing": this client does not honour it/,
    );
  });

  it("hands plugin users and merged KUBECONFIGs to the plugin loader, or says one is needed", async () => {
    const path = await write({ exec: { command: "get-token" } });
    expect(await failure({ env: { KUBECONFIG: path } })).toMatch(
      /user "u" uses an exec plugin, which needs a credential-plugin loader/,
    );
    const asked: Array<unknown> = [];
    const fromPlugin: ClusterCredentials = {
      source: "KUBECONFIG",
      server: "https://plugin",
      insecureSkipTlsVerify: false,
      authHeaders: async () => ({ authorization: "Bearer plugin" }),
    };
    const plugin = async (request: unknown) => {
      asked.push(request);
      return fromPlugin;
    };
    expect(await load({ env: { KUBECONFIG: path }, plugin })).toBe(fromPlugin);
    expect(await load({ env: { KUBECONFIG: `${path}:${path}` }, plugin })).toBe(fromPlugin);
    expect(asked).toEqual([
      { source: "KUBECONFIG", path, reason: 'user "u" uses an exec plugin' },
      { source: "KUBECONFIG", path: undefined, reason: "KUBECONFIG lists 2 files to merge" },
    ]);
  });

  it("says what is missing", async () => {
    expect(await failure({ env: { KUBECONFIG: join(dir, "absent") } })).toMatch(
      /KUBECONFIG points at .*absent, which does not exist/,
    );
    expect(await failure({ env: {}, home: dir, serviceAccountDir: dir })).toMatch(
      /no Kubernetes credentials/,
    );
    const path = join(dir, "config");
    await writeFile(path, stringify({ "current-context": "gone", contexts: [] }));
    expect(await failure({ env: { KUBECONFIG: path } })).toMatch(
      /current-context "gone" not found/,
    );
  });
});
