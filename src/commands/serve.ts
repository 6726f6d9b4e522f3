import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeInjectionConfig, type InjectionConfig } from '../core/config.js';
import type { Logger } from '../logger.js';
import { createCertificateAuthority, createServingCertificate, type KeyPair } from '../tls/certificates.js';
import { startWebhook, type Webhook } from '../webhook.js';

export interface ServeOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  readonly certDir: string;
}

export const DEFAULT_CERT_DIR = path.join(os.tmpdir(), 'probe-injector');

/** The CLI entry: pino logger, then serve. */
export async function runServe(options: Omit<ServeOptions, 'certDir'> & { certDir?: string | undefined }): Promise<void> {
  const { pino } = await import('pino');
  const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
  await serve({ ...options, certDir: options.certDir ?? DEFAULT_CERT_DIR }, logger);
}

/** `probe-injector serve`: the webhook, with its TLS material, until SIGTERM. */
export async function serve(options: ServeOptions, logger: Logger): Promise<Webhook> {
  const tls = await loadOrCreateKeyPair(options, logger);
  const config: InjectionConfig = makeInjectionConfig();
  const webhook = await startWebhook({ port: options.port, host: options.host, tls, config: () => config, logger });
  logger.info({ port: webhook.port }, 'probe-injector webhook listening');
  installShutdown(webhook, logger, config.shutdownSeconds);
  return webhook;
}

async function loadOrCreateKeyPair(options: ServeOptions, logger: Logger): Promise<KeyPair> {
  if (options.tlsCertFile || options.tlsKeyFile) {
    if (!options.tlsCertFile || !options.tlsKeyFile) {
      throw new Error('--tls-cert-file and --tls-key-file go together: give both, or neither for a self-signed certificate');
    }
    const [cert, key] = await Promise.all([readFile(options.tlsCertFile, 'utf8'), readFile(options.tlsKeyFile, 'utf8')]);
    return { cert, key };
  }
  const ca = await createCertificateAuthority('probe-injector local CA', { days: 365 });
  const pair = await createServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }, { days: 365 });
  await mkdir(options.certDir, { recursive: true, mode: 0o700 });
  const caFile = path.join(options.certDir, 'ca.crt');
  await writeFile(caFile, ca.cert);
  await writeFile(path.join(options.certDir, 'tls.crt'), pair.cert);
  await writeFile(path.join(options.certDir, 'tls.key'), pair.key, { mode: 0o600 });
  logger.info(
    { caFile, certDir: options.certDir },
    `no --tls-cert-file given: serving a self-signed certificate for localhost; trust it with --cacert ${caFile}`,
  );
  return pair;
}

function installShutdown(webhook: Webhook, logger: Logger, graceSeconds: number): void {
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down: readiness is 503, finishing in-flight requests');
    const deadline = setTimeout(() => {
      logger.warn({ graceSeconds }, 'in-flight requests did not finish in time; exiting');
      process.exit(0);
    }, graceSeconds * 1000);
    deadline.unref();
    void webhook.close().then(() => {
      logger.info({}, 'stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
