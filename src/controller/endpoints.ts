import http from 'node:http';
import { listen } from '../http/listen.js';
import type { Registry } from 'prom-client';

/**
 * The controller's plain-HTTP port (`--port`, default 8080): `GET /metrics` (Prometheus),
 * `GET /healthz` (the process answers), `GET /readyz` (the pod watch has synced and it is not
 * shutting down: 503 with the reason otherwise). Anything else is a JSON 404 or 405.
 */
export interface EndpointsOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly registry: Registry;
  /** Why it is not ready; undefined when it is. */
  readonly notReady: () => string | undefined;
}

export interface Endpoints {
  readonly port: number;
  close(): Promise<void>;
}

const ROUTES = ['/metrics', '/healthz', '/readyz'];

export async function startEndpoints(options: EndpointsOptions): Promise<Endpoints> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    if (!ROUTES.includes(path)) return json(res, 404, { error: `no route for ${String(req.method).slice(0, 20)} ${JSON.stringify(path.slice(0, 200))}: this port serves GET ${ROUTES.join(', ')}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: `use GET ${path}` }, { Allow: 'GET, HEAD' });
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const reason = options.notReady();
      return reason === undefined ? json(res, 200, { status: 'ok' }) : json(res, 503, { status: 'not ready', reason });
    }
    options.registry.metrics().then(
      (text) => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(200, { 'Content-Type': options.registry.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => json(res, 500, { error: 'metrics could not be collected' }),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = await listen(server, options.port, options.host);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
