import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";

export interface ServiceAccountClientOptions {
  readonly namespace: string;
  readonly name: string;
  /** Token lifetime; the API server's minimum is 600 s. Default 3600 s. */
  readonly expirationSeconds?: number;
}

/**
 * A client configuration that authenticates as a service account, with a token minted through
 * the TokenRequest API. Creates the service account if it does not exist; grants nothing.
 */
export async function kubeConfigForServiceAccount(
  admin: KubeConfig,
  options: ServiceAccountClientOptions,
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const { namespace, name } = options;
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (error) {
    if (!(error instanceof ApiException) || error.code !== 409) throw error;
  }
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds ?? 3600 } },
  });
  const token = tokenRequest.status?.token;
  if (token === undefined)
    throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);

  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error("the admin kubeconfig has no current cluster");
  const user = `system:serviceaccount:${namespace}:${name}`;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return config;
}
