import http from 'node:http';
import { listen } from './listen.js';
import type { Registry } from 'prom-client';
import type { Handler } from './server.js';
import { SERVER_TIMEOUTS } from './server.js';
import { send, sendError } from './send.js';

/** `GET /metrics` in the Prometheus text format, from `registry` (503 while it is not there yet). */
export function createMetricsHandler(registryOf: () => Registry | undefined): Handler {
  return (_req, res) => {
    const registry = registryOf();
    if (!registry) return send(res, 503, { code: 503, error: 'metrics are not loaded yet' });
    registry.metrics().then(
      (text) => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      },
      () => send(res, 500, { code: 500, error: 'metrics could not be collected' }),
    );
  };
}

export interface MetricsServer {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The plain-HTTP metrics port (`serve --metrics-port`, like controller-runtime's metrics server):
 * `GET /metrics` (and the health endpoints), every other request a JSON 404/405. Prometheus
 * scrapes it without the webhook's certificate.
 */
export async function startMetricsServer(options: {
  readonly port: number;
  readonly host?: string | undefined;
  readonly registry: Registry;
  /** `GET /healthz` and `GET /readyz` here too: plain HTTP costs kubelet's probes no TLS handshake. */
  readonly health?: Handler | undefined;
}): Promise<MetricsServer> {
  const metrics = createMetricsHandler(() => options.registry);
  const server = http.createServer(
    { headersTimeout: SERVER_TIMEOUTS.headersMs, requestTimeout: SERVER_TIMEOUTS.requestMs, connectionsCheckingInterval: SERVER_TIMEOUTS.checkIntervalMs },
    (req, res) => {
      const path = req.url?.split('?', 1)[0];
      if (options.health && req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return options.health(req, res);
      if (path !== '/metrics') return sendError(res, 404, `no route for ${String(req.method).slice(0, 20)} ${String(path).slice(0, 200)}: this port serves GET /metrics, /healthz, /readyz`);
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'use GET /metrics', [], { Allow: 'GET' });
      metrics(req, res);
    },
  );
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveMs;
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = await listen(server, options.port, options.host);
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
