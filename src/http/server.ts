import https from 'node:https';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import { send } from './admission-handler.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ServerOptions {
  readonly tls: SecureContextOptions;
  /** `POST /mutate`: called by kube-apiserver for every pod created in the cluster. */
  readonly admission: Handler;
  /** `GET /healthz`, `GET /readyz`: called by kubelet every few seconds. */
  readonly health: Handler;
  /** Everything else: the express application, created on first use. */
  readonly app: () => Promise<Handler>;
  /** While true, responses close their connection, so keep-alive clients move to another replica. */
  readonly draining: () => boolean;
}

/**
 * The HTTPS server. The three endpoints the cluster itself calls are routed here, on plain
 * `node:http` types, without the framework's per-request work; every other request goes to the
 * express app, which is only loaded when first needed (it is most of the start-up time). The query
 * string is ignored for routing: kube-apiserver appends `?timeout=…` to the webhook URL.
 */
export function createServer(options: ServerOptions): https.Server {
  let app: Promise<Handler> | undefined;
  const server = https.createServer({ ...options.tls, minVersion: 'TLSv1.2' }, (req, res) => {
    if (options.draining()) res.setHeader('Connection', 'close');
    const path = pathOf(req.url);
    if (req.method === 'POST' && path === '/mutate') return options.admission(req, res);
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return options.health(req, res);
    app ??= options.app();
    app.then(
      (handler) => handler(req, res),
      () => send(res, 500, { code: 500, error: 'internal error' }),
    );
  });
  // Requests node:http cannot even parse (bad framing, oversized headers, timeouts) get a JSON error
  // too, like every other bad request.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ code: status, error: status === 408 ? 'request timed out' : 'malformed HTTP request' });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
