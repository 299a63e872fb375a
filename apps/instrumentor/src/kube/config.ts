/**
 * Kubernetes credentials, in SPEC order: in-cluster service account, else
 * KUBECONFIG, else ~/.kube/config.
 *
 * The common cases (service-account token, client certificates, static or file
 * tokens) are read here. Loading @kubernetes/client-node costs ~90 MB of
 * resident memory (it pulls in every generated API model), so it is imported
 * only for users whose kubeconfig needs a plugin (`exec`, `auth-provider`).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";

/** Where the credentials came from, for the start-up log line. */
export type CredentialSource = "in-cluster" | "KUBECONFIG" | "~/.kube/config";

/** Everything a request to the API server needs. */
export interface ClusterCredentials {
  readonly source: CredentialSource;
  readonly server: string;
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly insecureSkipTlsVerify: boolean;
  /** Headers for the next request (tokens rotate: asked for each request, cached by the source). */
  readonly authHeaders: () => Promise<Record<string, string>>;
}

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

const kubeconfigPaths = (env: NodeJS.ProcessEnv): ReadonlyArray<string> =>
  (env.KUBECONFIG ?? "").split(delimiter).filter((path) => path !== "");

/** True when any credential source of {@link loadCredentials} is present. */
export const clusterConfigured = (env: NodeJS.ProcessEnv = process.env): boolean =>
  (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(join(serviceAccountDir, "token"))) ||
  kubeconfigPaths(env).length > 0 ||
  existsSync(join(homedir(), ".kube", "config"));

/** A token read from a file, re-read at most once a minute (projected tokens rotate hourly). */
const tokenFromFile = (path: string): (() => Promise<Record<string, string>>) => {
  let cached: { token: string; at: number } | undefined;
  return async () => {
    if (cached === undefined || Date.now() - cached.at > 60_000) {
      cached = { token: (await readFile(path, "utf8")).trim(), at: Date.now() };
    }
    return { authorization: `Bearer ${cached.token}` };
  };
};

const inCluster = async (env: NodeJS.ProcessEnv, dir: string): Promise<ClusterCredentials> => {
  const host = env.KUBERNETES_SERVICE_HOST ?? "";
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  return {
    source: "in-cluster",
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: await readFile(join(dir, "ca.crt")),
    insecureSkipTlsVerify: false,
    authHeaders: tokenFromFile(join(dir, "token")),
  };
};

/** The parts of a kubeconfig file read here. */
interface KubeconfigFile {
  readonly "current-context"?: string;
  readonly clusters?: ReadonlyArray<{ name: string; cluster?: Record<string, unknown> }>;
  readonly users?: ReadonlyArray<{ name: string; user?: Record<string, unknown> }>;
  readonly contexts?: ReadonlyArray<{
    name: string;
    context?: { cluster?: string; user?: string };
  }>;
}

/** A kubeconfig that needs a credential plugin: handled by @kubernetes/client-node. */
export class NeedsClientLibrary extends Error {}

const fromKubeconfig = async (
  path: string,
  source: CredentialSource,
): Promise<ClusterCredentials> => {
  const file = parse(await readFile(path, "utf8")) as KubeconfigFile;
  const contextName = file["current-context"];
  const context = file.contexts?.find((entry) => entry.name === contextName)?.context;
  if (context === undefined)
    throw new Error(`${path}: current-context "${contextName ?? ""}" not found`);
  const cluster = file.clusters?.find((entry) => entry.name === context.cluster)?.cluster;
  if (cluster === undefined)
    throw new Error(`${path}: cluster "${context.cluster ?? ""}" not found`);
  const user = file.users?.find((entry) => entry.name === context.user)?.user ?? {};
  if (user.exec !== undefined || user["auth-provider"] !== undefined)
    throw new NeedsClientLibrary();
  const relative = (value: unknown) =>
    isAbsolute(String(value)) ? String(value) : join(dirname(path), String(value));
  const material = async (dataKey: string, fileKey: string): Promise<Buffer | undefined> => {
    const source = { ...cluster, ...user };
    if (typeof source[dataKey] === "string")
      return Buffer.from(source[dataKey] as string, "base64");
    if (typeof source[fileKey] === "string") return readFile(relative(source[fileKey]));
    return undefined;
  };
  const server = cluster.server;
  if (typeof server !== "string")
    throw new Error(`${path}: cluster "${context.cluster ?? ""}" has no server`);
  const token = user.token;
  const tokenFile = user.tokenFile;
  const { username, password } = user as { username?: unknown; password?: unknown };
  const authHeaders: () => Promise<Record<string, string>> =
    typeof token === "string"
      ? async () => ({ authorization: `Bearer ${token}` })
      : typeof tokenFile === "string"
        ? tokenFromFile(relative(tokenFile))
        : typeof username === "string"
          ? async () => ({
              authorization: `Basic ${Buffer.from(`${username}:${String(password ?? "")}`).toString("base64")}`,
            })
          : async () => ({});
  return {
    source,
    server,
    ca: await material("certificate-authority-data", "certificate-authority"),
    cert: await material("client-certificate-data", "client-certificate"),
    key: await material("client-key-data", "client-key"),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    authHeaders,
  };
};

/** Plugin-based kubeconfigs, and merged multi-file KUBECONFIGs, go through the client library. */
const viaClientLibrary = async (
  source: CredentialSource,
  path?: string,
): Promise<ClusterCredentials> => {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  if (path === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(path);
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error("kubeconfig has no current cluster");
  const tls: {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    headers?: Record<string, unknown>;
    auth?: string;
  } = {};
  await kubeConfig.applyToHTTPSOptions(tls as never);
  return {
    source,
    server: cluster.server,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    insecureSkipTlsVerify: cluster.skipTLSVerify,
    authHeaders: async () => {
      const options: { headers?: Record<string, unknown>; auth?: string } = {};
      await kubeConfig.applyToHTTPSOptions(options as never);
      const headers = Object.fromEntries(
        Object.entries(options.headers ?? {}).map(([name, value]) => [
          name.toLowerCase(),
          String(value),
        ]),
      );
      if (options.auth !== undefined) {
        headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`;
      }
      return headers;
    },
  };
};

/** Loads credentials; rejects with a readable message when none is available. */
export const loadCredentials = async (
  env: NodeJS.ProcessEnv = process.env,
  options: { readonly serviceAccountDir?: string; readonly home?: string } = {},
): Promise<ClusterCredentials> => {
  const dir = options.serviceAccountDir ?? serviceAccountDir;
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(join(dir, "token"))) {
    return inCluster(env, dir);
  }
  const paths = kubeconfigPaths(env);
  const [source, path]: [CredentialSource, string | undefined] =
    paths.length > 0
      ? ["KUBECONFIG", paths.length === 1 ? paths[0] : undefined]
      : ["~/.kube/config", join(options.home ?? homedir(), ".kube", "config")];
  if (path === undefined) return viaClientLibrary(source);
  if (!existsSync(path)) {
    throw new Error(
      paths.length > 0
        ? `KUBECONFIG points at ${path}, which does not exist`
        : "no Kubernetes credentials: not running in a cluster, KUBECONFIG is unset and ~/.kube/config does not exist",
    );
  }
  try {
    return await fromKubeconfig(path, source);
  } catch (error) {
    if (error instanceof NeedsClientLibrary) return viaClientLibrary(source, path);
    throw error;
  }
};
