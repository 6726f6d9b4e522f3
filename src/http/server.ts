import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecureContextOptions } from 'node:tls';

export interface ServerOptions {
  readonly tls: SecureContextOptions;
  /** The admission hot path: `POST /mutate`. */
  readonly admission: (req: IncomingMessage, res: ServerResponse) => void;
  /** Everything else (the express application). */
  readonly app: (req: IncomingMessage, res: ServerResponse) => void;
  /** While true, responses close their connection, so keep-alive clients move to another replica. */
  readonly draining: () => boolean;
}

/**
 * The HTTPS server: `POST /mutate` goes straight to the admission handler; every other request goes
 * to the express app. kube-apiserver appends `?timeout=…` to the webhook URL, so only the path counts.
 */
export function createServer(options: ServerOptions): https.Server {
  const server = https.createServer({ ...options.tls, minVersion: 'TLSv1.2' }, (req, res) => {
    if (options.draining()) res.setHeader('Connection', 'close');
    if (req.method === 'POST' && isMutatePath(req.url)) options.admission(req, res);
    else options.app(req, res);
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

function isMutatePath(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith('/mutate')) return false;
  return url.length === 7 || url[7] === '?';
}
