import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { InjectionConfig } from './core/config.js';
import { createAdmissionHandler, type AdmissionEvent } from './http/admission-handler.js';
import { createApp } from './http/app.js';
import { createServer } from './http/server.js';
import type { Logger } from './logger.js';

export interface WebhookOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly tls: SecureContextOptions;
  /** The current configuration; called per request, so reloads apply at once. */
  readonly config: () => InjectionConfig;
  readonly logger: Logger;
  readonly bodyLimit?: number | undefined;
  readonly onAdmission?: ((event: AdmissionEvent) => void) | undefined;
}

export interface Webhook {
  readonly server: https.Server;
  readonly port: number;
  readonly url: string;
  /** Stops taking requests: `/readyz` turns 503, in-flight requests finish, idle connections close. */
  close(): Promise<void>;
  isReady(): boolean;
}

/** Starts the HTTPS webhook (the shell around the pure core) and resolves once it listens. */
export async function startWebhook(options: WebhookOptions): Promise<Webhook> {
  let ready = true;
  const admission = createAdmissionHandler({
    config: options.config,
    logger: options.logger,
    bodyLimit: options.bodyLimit,
    onAdmission: options.onAdmission,
  });
  const app = createApp({ logger: options.logger, isReady: () => ready });
  const server = createServer({ tls: options.tls, admission, app });
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
    url: `https://localhost:${port}`,
    isReady: () => ready,
    close: () =>
      new Promise<void>((resolve) => {
        ready = false;
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
