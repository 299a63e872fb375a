/**
 * Credentials in SPEC order (in-cluster service account, else KUBECONFIG, else
 * ~/.kube/config), read by `@odigos/kube-client`. A kubeconfig whose user needs a
 * credential plugin (`exec`, `auth-provider`), or a KUBECONFIG of several files to merge, is
 * loaded with `@kubernetes/client-node`, imported only then: it costs ~90 MB of resident
 * memory, as it loads every generated API model.
 */
import {
  type ClusterCredentials,
  type CredentialsError,
  loadCredentials as load,
  type PluginRequest,
} from "@odigos/kube-client";
import type * as Effect from "effect/Effect";

const viaClientLibrary = async (request: PluginRequest): Promise<ClusterCredentials> => {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  if (request.path === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(request.path);
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error(`${request.path ?? "KUBECONFIG"}: no current cluster`);
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  await kubeConfig.applyToHTTPSOptions(tls as never);
  return {
    source: request.source,
    server: cluster.server,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    insecureSkipTlsVerify: cluster.skipTLSVerify,
    tlsServerName: cluster.tlsServerName,
    namespace: kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace,
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

/** Loads credentials; fails with a message that says what is missing or wrong. */
export const loadCredentials = (
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: { readonly serviceAccountDir?: string; readonly home?: string } = {},
): Effect.Effect<ClusterCredentials, CredentialsError> =>
  load({ env, ...options, plugin: viaClientLibrary });
