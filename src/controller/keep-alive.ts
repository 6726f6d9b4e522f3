import https from 'node:https';
import type * as K8s from '@kubernetes/client-node';

/**
 * API clients of @kubernetes/client-node 1.x that keep their connections. The library builds a new
 * `https.Agent` for every request (kubernetes-client/javascript#2893), so every call pays a TCP
 * connection, a TLS handshake and a new SecureContext (the CA, certificate and key parsed again):
 * about 8 ms of CPU, which made it most of the controller's cost per pod. A middleware run after
 * the library has applied the credentials puts one keep-alive agent in instead, built from the
 * same kubeconfig (CA, client certificate, skip-verify, TLS server name); bearer tokens stay per
 * request headers, so a rotated service-account token is still picked up. With a proxy in the
 * kubeconfig the library's own agents are left alone.
 */
export async function keepAliveAgent(kubeConfig: K8s.KubeConfig, maxSockets = 16): Promise<https.Agent | undefined> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster || cluster.proxyUrl || !cluster.server.startsWith('https:')) return undefined;
  const options: https.RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  return new https.Agent({
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    pfx: options.pfx,
    passphrase: options.passphrase,
    ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
    ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    keepAlive: true,
    maxSockets,
  });
}

/** `kubeConfig.makeApiClient(ApiClass)`, with every request sent through `agent` when there is one. */
export function makeApiClient<T>(k8s: typeof K8s, kubeConfig: K8s.KubeConfig, apiClass: new (configuration: K8s.Configuration) => T, agent: https.Agent | undefined): T {
  if (!agent) return kubeConfig.makeApiClient(apiClass as never) as T;
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the Kubernetes configuration has no current cluster');
  const middleware: K8s.ObservableMiddleware = {
    pre: (context) => {
      context.setAgent(agent);
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (context) => new k8s.Observable(Promise.resolve(context)),
  };
  return new apiClass(
    k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      middleware: [middleware],
    }),
  );
}
