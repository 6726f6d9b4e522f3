import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { InjectionConfig } from './core/config.js';
import { createAdmissionHandler } from './http/admission-handler.js';
import { createHealthHandler } from './http/health.js';
import { createServer } from './http/server.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface WebhookOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly tls: SecureContextOptions;
  /** The current configuration; called per request, so reloads apply at once. */
  readonly config: () => InjectionConfig;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly bodyLimit?: number | undefined;
}

export interface Webhook {
  readonly server: https.Server;
  readonly port: number;
  isReady(): boolean;
  /** Serves new TLS connections with another certificate; existing connections keep theirs. */
  setTls(tls: SecureContextOptions): void;
  /**
   * Graceful stop: `/readyz` turns 503 at once and requests are still served for `delayMs` (so
   * endpoints and kube-apiserver stop sending here), with `Connection: close`; then the listener
   * closes, in-flight requests finish and connections close as they go idle.
   */
  shutdown(delayMs?: number): Promise<void>;
}

/** Starts the HTTPS webhook (the shell around the pure core) and resolves once it listens. */
export async function startWebhook(options: WebhookOptions): Promise<Webhook> {
  let ready = true;
  const { metrics } = options;
  const admission = createAdmissionHandler({
    config: options.config,
    logger: options.logger,
    bodyLimit: options.bodyLimit,
    onAdmission: metrics && ((event) => metrics.admission(event)),
    onRequest: metrics && (() => metrics.inFlight()),
  });
  const isReady = () => ready;
  const app = async () => {
    const { createApp } = await import('./http/app.js');
    return createApp({ logger: options.logger, registry: metrics?.registry });
  };
  const server = createServer({ tls: options.tls, admission, health: createHealthHandler(isReady), app, draining: () => !ready });
  server.on('tlsClientError', () => {}); // a client that fails the handshake is its own problem
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    isReady: () => ready,
    setTls: (tls) => server.setSecureContext({ ...tls, minVersion: 'TLSv1.2' }),
    shutdown: async (delayMs = 0) => {
      ready = false;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      await new Promise<void>((resolve) => {
        // Connections still busy become idle when their response is done; close them then.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
