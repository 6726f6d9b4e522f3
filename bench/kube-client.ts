// A small client for the benchmark's cluster: plain JSON over HTTPS with the kubeconfig's
// credentials (loaded by @kubernetes/client-node), on one keep-alive connection, so a request's
// latency is the API server's (and its webhooks') and not the client's connection set-up.
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export type Json = Record<string, any>;

export interface KubeResponse {
  readonly status: number;
  readonly body: any;
  /** ms from the request to the last byte of the answer. */
  readonly ms: number;
}

export interface KubeClient {
  request(method: string, path: string, body?: unknown): Promise<KubeResponse>;
  /** Throws unless the request succeeded; returns the body. */
  ok(method: string, path: string, body?: unknown): Promise<any>;
  close(): void;
}

export async function kubeClient(kubeconfig: string): Promise<KubeClient> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error(`${kubeconfig} names no server`);
  const options: https.RequestOptions = {};
  await config.applyToHTTPSOptions(options);
  const agent = new https.Agent({ ca: options.ca, cert: options.cert, key: options.key, keepAlive: true, maxSockets: 1 });
  const headers = (options.headers ?? {}) as Record<string, string>;
  const base = new URL(server);

  const request = (method: string, path: string, body?: unknown): Promise<KubeResponse> => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = https.request(
        new URL(path, base),
        { method, agent, timeout: 30_000, headers: { ...headers, Accept: 'application/json', ...(payload !== undefined && { 'Content-Type': 'application/json' }) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, ms });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  };
  return {
    request,
    async ok(method, path, body) {
      const res = await request(method, path, body);
      if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status}: ${typeof res.body === 'object' ? (res.body?.message ?? JSON.stringify(res.body)) : String(res.body).slice(0, 300)}`);
      return res.body;
    },
    close: () => agent.destroy(),
  };
}

export async function waitUntil<T>(what: string, attempt: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Creates a namespace and waits until pods can be created in it: the controller manager makes the
 * `default` ServiceAccount and, before Kubernetes 1.24, its token Secret, which the ServiceAccount
 * admission plugin needs (without a controller manager, cluster.sh turns that plugin off).
 */
export async function createNamespace(client: KubeClient, name: string, labels: Record<string, string>, cluster: Readonly<Record<string, string>>): Promise<void> {
  await client.ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  if (cluster['E2E_CONTROLLER_MANAGER'] === 'no') return;
  const minor = Number(/^v?1\.(\d+)/.exec(cluster['E2E_KUBE_VERSION'] ?? '')?.[1] ?? 99);
  await waitUntil(`the default ServiceAccount of ${name}`, async () => {
    const res = await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
    return res.status === 200 && (minor >= 24 || (res.body.secrets ?? []).length > 0);
  });
}
