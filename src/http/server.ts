import https from 'node:https';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import { send } from './send.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The server's clocks. kube-apiserver keeps idle connections to a webhook for 90 s (Go's
 * `IdleConnTimeout`); a server that closes an idle connection first races with a request the
 * client sends on it at that moment, and that request fails. So the webhook keeps idle connections
 * longer than any such client (`keepAliveMs` > 90 s): the client always closes first.
 */
export interface ServerTimeouts {
  /** A connection must finish its TLS handshake within this (one that never sends a ClientHello is closed). */
  readonly handshakeMs: number;
  /** A request's headers must arrive within this of its first byte. */
  readonly headersMs: number;
  /** A whole request must arrive within this: kube-apiserver gives up after the webhook's `timeoutSeconds` (≤ 30) anyway. */
  readonly requestMs: number;
  /** An idle keep-alive connection is closed after this (node:http adds 1 s, and advertises this in `Keep-Alive: timeout=`). */
  readonly keepAliveMs: number;
  /** How often the header and request timeouts are checked. */
  readonly checkIntervalMs: number;
}

/** kube-apiserver's client closes idle connections after this (Go's http.DefaultTransport). */
export const KUBE_APISERVER_IDLE_MS = 90_000;

export const SERVER_TIMEOUTS: ServerTimeouts = {
  handshakeMs: 10_000,
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 120_000,
  checkIntervalMs: 1_000,
};

export interface Routes {
  /** `POST /<name>` for each admission endpoint: called by kube-apiserver for every object it admits. */
  readonly admission: ReadonlyMap<string, Handler>;
  /** `GET /healthz`, `GET /readyz`: called by kubelet every few seconds. */
  readonly health: Handler;
  /** `GET /metrics`. */
  readonly metrics?: Handler | undefined;
  /** Everything else (404, 405): the express application, created on first use. */
  readonly app: () => Promise<Handler>;
}

export interface ServerOptions {
  readonly tls: SecureContextOptions;
  readonly routes: Routes;
  readonly timeouts?: Partial<ServerTimeouts> | undefined;
  /** A connection failed before it was HTTP: `timeout` (no handshake within `handshakeMs`) or `error`. */
  readonly onTlsError?: ((reason: 'timeout' | 'error') => void) | undefined;
}

export interface WebhookServer {
  readonly server: https.Server;
  readonly timeouts: ServerTimeouts;
  /**
   * From now on every response, including those of requests already in flight, carries
   * `Connection: close`, so keep-alive clients move to another replica as soon as they are answered.
   */
  drain(): void;
  /** Requests received and not yet answered. */
  inFlight(): number;
}

/**
 * The HTTPS server. The endpoints the cluster itself calls are routed here, on plain `node:http`
 * types, without the framework's per-request work; every other request goes to the express app,
 * which is only loaded when first needed. The query string is ignored for routing: kube-apiserver
 * appends `?timeout=…` to the webhook URL.
 */
export function createServer(options: ServerOptions): WebhookServer {
  const timeouts: ServerTimeouts = { ...SERVER_TIMEOUTS, ...options.timeouts };
  const { routes } = options;
  let app: Promise<Handler> | undefined;
  let draining = false;
  const active = new Set<ServerResponse>();

  const server = https.createServer(
    {
      ...options.tls,
      minVersion: 'TLSv1.2',
      handshakeTimeout: timeouts.handshakeMs,
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    (req, res) => {
      active.add(res);
      res.once('close', () => active.delete(res));
      if (draining) res.setHeader('Connection', 'close');
      const path = pathOf(req.url);
      if (req.method === 'POST') {
        const admission = routes.admission.get(path);
        if (admission) return admission(req, res);
      } else if (req.method === 'GET') {
        if (path === '/healthz' || path === '/readyz') return routes.health(req, res);
        if (path === '/metrics' && routes.metrics) return routes.metrics(req, res);
      }
      app ??= routes.app();
      app.then(
        (handler) => handler(req, res),
        () => send(res, 500, { code: 500, error: 'internal error' }),
      );
    },
  );
  server.keepAliveTimeout = timeouts.keepAliveMs;
  // Requests node:http cannot even parse (bad framing, oversized headers, timeouts) get a JSON error
  // too, like every other bad request. Anything else, TLS errors included (the https server reports
  // them here too: a connection that never completed its handshake), just closes the connection:
  // answering it would write into a socket that never became TLS, and hold it open for ever.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const http = error.code?.startsWith('HPE_') === true || error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (!http || !socket.writable) return void socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ code: status, error: status === 408 ? 'request timed out' : 'malformed HTTP request' });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  // A client that fails or never starts the handshake is its own problem: count it, nothing else.
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => options.onTlsError?.(error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout' : 'error'));

  return {
    server,
    timeouts,
    drain() {
      draining = true;
      for (const res of active) if (!res.headersSent) res.setHeader('Connection', 'close');
    },
    inFlight: () => active.size,
  };
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
