/**
 * Kubernetes credentials, in the order every client uses: in-cluster service account, else
 * `KUBECONFIG`, else `~/.kube/config`. Tokens, token files, basic auth, client certificates,
 * `tls-server-name` and impersonation are read here; a user that needs a credential plugin
 * (`exec`, `auth-provider`) or a `KUBECONFIG` of several files to merge is handed to the
 * `plugin` loader the caller provides (e.g. one built on `@kubernetes/client-node`), and a field
 * this client would silently ignore (`proxy-url`, an unknown key) is an error that names it.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";

/** Where credentials came from, for the start-up log line. */
export type CredentialSource = "in-cluster" | "KUBECONFIG" | "~/.kube/config";

/** Everything a request to the API server needs. */
export interface ClusterCredentials {
  readonly source: CredentialSource;
  /** `https://host:port` */
  readonly server: string;
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly insecureSkipTlsVerify: boolean;
  /** Server name to verify the serving certificate against, when it differs from the host. */
  readonly tlsServerName?: string | undefined;
  /**
   * Headers for the next request (tokens rotate: asked for each request, cached by the source).
   * A source that has them at hand returns them as they are, one that must read or refresh them
   * a promise: most requests then cost no promise.
   */
  readonly authHeaders: () => AuthHeaders | Promise<AuthHeaders>;
  /**
   * The namespace a command without `-n` means: the current context's `namespace`, or the
   * service account's own in a cluster; undefined when neither names one (kubectl then says
   * `default`).
   */
  readonly namespace?: string | undefined;
}

/** Request headers that authenticate (and impersonate), e.g. `authorization`. */
export type AuthHeaders = Readonly<Record<string, string>>;

/** Credentials could not be loaded; the message says which file, field or variable and why. */
export class CredentialsError extends Data.TaggedError("CredentialsError")<{
  readonly detail: string;
}> {
  override get message(): string {
    return this.detail;
  }
}

/** What a plugin loader is asked to load: `path` is absent for a multi-file `KUBECONFIG`. */
export interface PluginRequest {
  readonly source: CredentialSource;
  readonly path: string | undefined;
  /** Why the plugin loader is needed, e.g. `user "dev" uses an exec plugin`. */
  readonly reason: string;
}

export interface LoadCredentialsOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `/var/run/secrets/kubernetes.io/serviceaccount`. */
  readonly serviceAccountDir?: string;
  /** Default `os.homedir()`. */
  readonly home?: string;
  /** Loads what this module does not (exec/auth-provider plugins, merged KUBECONFIGs). */
  readonly plugin?: (request: PluginRequest) => Promise<ClusterCredentials>;
}

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

type Env = Readonly<Record<string, string | undefined>>;

const kubeconfigPaths = (env: Env): ReadonlyArray<string> =>
  (env.KUBECONFIG ?? "").split(delimiter).filter((path) => path !== "");

/** True when any credential source of {@link loadCredentials} is present. */
export const clusterConfigured = (env: Env = process.env, home: string = homedir()): boolean =>
  (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(join(serviceAccountDir, "token"))) ||
  kubeconfigPaths(env).length > 0 ||
  existsSync(join(home, ".kube", "config"));

/** A token read from a file, re-read at most once a minute (projected tokens rotate hourly). */
const tokenFromFile = (path: string): (() => AuthHeaders | Promise<AuthHeaders>) => {
  let cached: { headers: AuthHeaders; at: number } | undefined;
  const read = async () => {
    const token = (await readFile(path, "utf8")).trim();
    cached = { headers: { authorization: `Bearer ${token}` }, at: Date.now() };
    return cached.headers;
  };
  return () => (cached === undefined || Date.now() - cached.at > 60_000 ? read() : cached.headers);
};

/** `source`'s headers with `extra` (impersonation) added. */
const withExtra = (
  source: () => AuthHeaders | Promise<AuthHeaders>,
  extra: AuthHeaders,
): (() => AuthHeaders | Promise<AuthHeaders>) => {
  if (Object.keys(extra).length === 0) return source;
  const merge = (headers: AuthHeaders): AuthHeaders => ({ ...headers, ...extra });
  return () => {
    const headers = source();
    return headers instanceof Promise ? headers.then(merge) : merge(headers);
  };
};

const inCluster = async (env: Env, dir: string): Promise<ClusterCredentials> => {
  const host = env.KUBERNETES_SERVICE_HOST ?? "";
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  return {
    source: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: await readFile(join(dir, "ca.crt")),
    insecureSkipTlsVerify: false,
    authHeaders: tokenFromFile(join(dir, "token")),
    namespace: await readFile(join(dir, "namespace"), "utf8").then(
      (text) => text.trim() || undefined,
      () => undefined,
    ),
  };
};

type Entries = ReadonlyArray<{ name: string; [key: string]: unknown }>;

/** The parts of a kubeconfig file read here. */
interface KubeconfigFile {
  readonly "current-context"?: string;
  readonly clusters?: Entries;
  readonly users?: Entries;
  readonly contexts?: Entries;
}

/** Fields honoured here; any other is refused rather than silently ignored. */
const clusterFields = new Set([
  "server",
  "certificate-authority",
  "certificate-authority-data",
  "insecure-skip-tls-verify",
  "tls-server-name",
  // Compression is never requested, so disabling it changes nothing; extensions carry no meaning here.
  "disable-compression",
  "extensions",
]);
const userFields = new Set([
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
  "token",
  "tokenFile",
  "username",
  "password",
  "as",
  "as-uid",
  "as-groups",
  "as-user-extra",
  "extensions",
]);
const unsupportedWhy: Readonly<Record<string, string>> = {
  "proxy-url": "requests through an HTTP proxy are not supported; reach the API server directly",
};

class NeedsPlugin {
  constructor(readonly reason: string) {}
}

const fail = (path: string, detail: string): never => {
  throw new CredentialsError({ detail: `${path}: ${detail}` });
};

const refuseUnknown = (
  path: string,
  what: string,
  fields: Record<string, unknown>,
  known: ReadonlySet<string>,
) => {
  for (const field of Object.keys(fields)) {
    if (known.has(field)) continue;
    const why = unsupportedWhy[field] ?? "this client does not honour it";
    fail(path, `${what} sets "${field}": ${why}`);
  }
};

/** Impersonation headers (`as`, `as-uid`, `as-groups`, `as-user-extra`), as kubectl sends them. */
const impersonation = (user: Record<string, unknown>): Record<string, string> => {
  const headers: Record<string, string> = {};
  if (typeof user.as === "string") headers["impersonate-user"] = user.as;
  if (typeof user["as-uid"] === "string") headers["impersonate-uid"] = user["as-uid"];
  if (Array.isArray(user["as-groups"]))
    headers["impersonate-group"] = (user["as-groups"] as unknown[]).map(String).join(",");
  const extra = user["as-user-extra"];
  if (typeof extra === "object" && extra !== null) {
    for (const [key, values] of Object.entries(extra as Record<string, unknown>)) {
      headers[`impersonate-extra-${encodeURIComponent(key)}`] = (
        Array.isArray(values) ? values : [values]
      )
        .map(String)
        .join(",");
    }
  }
  return headers;
};

const fromKubeconfig = async (
  path: string,
  source: CredentialSource,
): Promise<ClusterCredentials> => {
  // Loaded only for a kubeconfig (in a pod it never is). `yaml` is CommonJS, whose named
  // exports Node's import() gives. esbuild's split chunks would give only `default`; the
  // instrumentor's bundle puts that right where it goes wrong, for every such import
  // (apps/instrumentor/scripts/bundle.mjs, which fails the build if one is left), so no
  // `yaml.default?.parse ?? yaml.parse` here.
  const { parse } = await import("yaml");
  let file: KubeconfigFile;
  try {
    file = (parse(await readFile(path, "utf8")) ?? {}) as KubeconfigFile;
  } catch (error) {
    return fail(path, `cannot read kubeconfig: ${(error as Error).message}`);
  }
  const contextName = file["current-context"];
  const context = file.contexts?.find((entry) => entry.name === contextName)?.context as
    | { cluster?: string; user?: string; namespace?: string }
    | undefined;
  if (context === undefined) return fail(path, `current-context "${contextName ?? ""}" not found`);
  const cluster = file.clusters?.find((entry) => entry.name === context.cluster)?.cluster as
    | Record<string, unknown>
    | undefined;
  if (cluster === undefined) return fail(path, `cluster "${context.cluster ?? ""}" not found`);
  const user = (file.users?.find((entry) => entry.name === context.user)?.user ?? {}) as Record<
    string,
    unknown
  >;
  if (user.exec !== undefined) throw new NeedsPlugin(`user "${context.user}" uses an exec plugin`);
  if (user["auth-provider"] !== undefined)
    throw new NeedsPlugin(`user "${context.user}" uses an auth-provider plugin`);
  refuseUnknown(path, `cluster "${context.cluster}"`, cluster, clusterFields);
  refuseUnknown(path, `user "${context.user}"`, user, userFields);

  const relative = (value: unknown) =>
    isAbsolute(String(value)) ? String(value) : join(dirname(path), String(value));
  const material = async (
    from: Record<string, unknown>,
    dataKey: string,
    fileKey: string,
  ): Promise<Buffer | undefined> => {
    if (typeof from[dataKey] === "string") return Buffer.from(from[dataKey] as string, "base64");
    if (typeof from[fileKey] === "string") return readFile(relative(from[fileKey]));
    return undefined;
  };
  const server = cluster.server;
  if (typeof server !== "string") return fail(path, `cluster "${context.cluster}" has no server`);
  const extraHeaders = impersonation(user);
  const { token, tokenFile, username, password } = user;
  const fixed = (headers: AuthHeaders) => () => headers;
  const credentialHeaders: () => AuthHeaders | Promise<AuthHeaders> =
    typeof token === "string"
      ? fixed({ authorization: `Bearer ${token}`, ...extraHeaders })
      : typeof tokenFile === "string"
        ? withExtra(tokenFromFile(relative(tokenFile)), extraHeaders)
        : typeof username === "string"
          ? fixed({
              authorization: `Basic ${Buffer.from(`${username}:${String(password ?? "")}`).toString("base64")}`,
              ...extraHeaders,
            })
          : fixed(extraHeaders);
  return {
    source,
    server,
    ca: await material(cluster, "certificate-authority-data", "certificate-authority"),
    cert: await material(user, "client-certificate-data", "client-certificate"),
    key: await material(user, "client-key-data", "client-key"),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    tlsServerName:
      typeof cluster["tls-server-name"] === "string" ? cluster["tls-server-name"] : undefined,
    authHeaders: credentialHeaders,
    namespace:
      typeof context.namespace === "string" && context.namespace !== ""
        ? context.namespace
        : undefined,
  };
};

const load = async (options: LoadCredentialsOptions): Promise<ClusterCredentials> => {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir ?? serviceAccountDir;
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(join(dir, "token"))) {
    return inCluster(env, dir);
  }
  const paths = kubeconfigPaths(env);
  const source: CredentialSource = paths.length > 0 ? "KUBECONFIG" : "~/.kube/config";
  const path =
    paths.length > 0
      ? paths.length === 1
        ? paths[0]
        : undefined
      : join(options.home ?? homedir(), ".kube", "config");
  const viaPlugin = (reason: string) => {
    if (options.plugin === undefined)
      throw new CredentialsError({
        detail: `${path ?? "KUBECONFIG"}: ${reason}, which needs a credential-plugin loader`,
      });
    return options.plugin({ source, path, reason });
  };
  if (path === undefined) return viaPlugin(`KUBECONFIG lists ${paths.length} files to merge`);
  if (!existsSync(path)) {
    throw new CredentialsError({
      detail:
        paths.length > 0
          ? `KUBECONFIG points at ${path}, which does not exist`
          : "no Kubernetes credentials: not running in a cluster, KUBECONFIG is unset and ~/.kube/config does not exist",
    });
  }
  try {
    return await fromKubeconfig(path, source);
  } catch (error) {
    if (error instanceof NeedsPlugin) return viaPlugin(error.reason);
    throw error;
  }
};

/** Loads credentials, or fails with a {@link CredentialsError} that says what is missing or wrong. */
export const loadCredentials = (
  options: LoadCredentialsOptions = {},
): Effect.Effect<ClusterCredentials, CredentialsError> =>
  Effect.tryPromise({
    try: () => load(options),
    catch: (error) =>
      error instanceof CredentialsError
        ? error
        : new CredentialsError({ detail: error instanceof Error ? error.message : String(error) }),
  });

/** Credentials of the current context of one kubeconfig file (no plugins). */
export const credentialsFromKubeconfig = (
  path: string,
): Effect.Effect<ClusterCredentials, CredentialsError> =>
  loadCredentials({ env: { KUBECONFIG: path } });
