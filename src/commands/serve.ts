import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import type { ConfigError } from '../config/config-file.js';
import { watchFiles } from '../config/watch.js';
import { makeInjectionConfig, type InjectionConfig } from '../core/config.js';
import type { Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import type { KeyPair } from '../tls/certificates.js';
import { startWebhook, type Webhook } from '../webhook.js';

export interface ServeOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  readonly certDir: string;
  readonly config?: string | undefined;
  /** How often the certificate and config files are checked for changes. */
  readonly watchIntervalMs: number;
  /** After SIGTERM, how long to keep serving with `/readyz` at 503 before closing the listener. */
  readonly shutdownDelaySeconds?: number | undefined;
}

export interface Serving {
  readonly webhook: Webhook;
  readonly metrics: Metrics;
  currentConfig(): InjectionConfig;
  /** Stops watching files and shuts the webhook down gracefully. */
  stop(): Promise<void>;
}

export const DEFAULT_CERT_DIR = path.join(os.tmpdir(), 'probe-injector');

/** The CLI entry: a pino logger, the server, and SIGTERM/SIGINT handling. */
export async function runServe(options: Omit<ServeOptions, 'certDir'> & { certDir?: string | undefined }): Promise<void> {
  const { pino } = await import('pino');
  // One line per admission: buffer them (4 KiB) rather than make a write per request, and flush
  // at least every second so a quiet webhook's lines are not held back.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), 1000).unref();
  const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  let serving: Serving;
  try {
    serving = await serve({ ...options, certDir: options.certDir ?? DEFAULT_CERT_DIR }, logger);
    destination.flush(); // the start-up lines (listening, where the CA is) right away
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`probe-injector: invalid config ${error.file}:\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
    process.exit(1);
  }
  // pino writes asynchronously: let it finish (in order) before the process goes.
  const exit = () => logger.flush(() => process.exit(0));
  const stop = (signal: string) => {
    const graceSeconds = serving.currentConfig().shutdownSeconds;
    logger.info({ signal, graceSeconds }, 'shutting down: /readyz is 503, finishing in-flight requests');
    destination.flush();
    setTimeout(() => {
      logger.warn({ graceSeconds }, 'requests still in flight at the end of the grace period; exiting');
      exit();
    }, graceSeconds * 1000).unref();
    void serving.stop().then(() => {
      logger.info({}, 'stopped');
      exit();
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && error.name === 'ConfigError';
}

/**
 * `probe-injector serve`: config, TLS material, metrics and the webhook, all kept up to date.
 * The YAML parser and the certificate generator are only loaded when they are needed.
 */
export async function serve(options: ServeOptions, logger: Logger): Promise<Serving> {
  const metrics = createMetrics();
  const configFile = options.config ? await import('../config/config-file.js') : undefined;
  let config = options.config && configFile ? configFile.parseConfigFile(await readFile(options.config, 'utf8'), options.config) : makeInjectionConfig();
  const tls = await loadOrCreateKeyPair(options, logger);
  metrics.servingCertificateExpiry(expiryOf(tls.cert));

  const webhook = await startWebhook({ port: options.port, host: options.host, tls, config: () => config, logger, metrics });
  logger.info({ port: webhook.port, config: options.config ?? '(built-in defaults)' }, 'probe-injector webhook listening');

  const stopWatching: (() => void)[] = [];
  if (options.config && configFile) {
    const file = options.config;
    const { parseConfigFile } = configFile;
    stopWatching.push(
      watchFiles([file], options.watchIntervalMs, () => {
        void readFile(file, 'utf8')
          .then((text) => {
            config = parseConfigFile(text, file);
            metrics.configReload('success');
            logger.info({ file }, 'config reloaded');
          })
          .catch((error: unknown) => {
            metrics.configReload('failure');
            const problems = isConfigError(error) ? error.problems : [String(error instanceof Error ? error.message : error)];
            logger.error({ file, problems }, 'config not reloaded: keeping the last good one');
          });
      }),
    );
  }
  if (options.tlsCertFile && options.tlsKeyFile) {
    const { tlsCertFile, tlsKeyFile } = options;
    stopWatching.push(
      watchFiles([tlsCertFile, tlsKeyFile], options.watchIntervalMs, () => {
        void readKeyPair(tlsCertFile, tlsKeyFile)
          .then((pair) => {
            createSecureContext(pair); // throws when the key does not match the certificate (yet)
            webhook.setTls(pair);
            const notAfter = expiryOf(pair.cert);
            metrics.servingCertificateExpiry(notAfter);
            metrics.certificateReload('success');
            logger.info({ certFile: tlsCertFile, notAfter: notAfter.toISOString() }, 'serving certificate reloaded');
          })
          .catch((error: unknown) => {
            // Often a half-written pair (cert replaced, key not yet): the next change fixes it.
            metrics.certificateReload('failure');
            logger.warn({ certFile: tlsCertFile, error: error instanceof Error ? error.message : String(error) }, 'serving certificate not reloaded: keeping the current one');
          });
      }),
    );
  }
  return {
    webhook,
    metrics,
    currentConfig: () => config,
    stop: async () => {
      for (const stop of stopWatching) stop();
      await webhook.shutdown((options.shutdownDelaySeconds ?? 0) * 1000);
    },
  };
}

async function readKeyPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key };
}

function expiryOf(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}

async function loadOrCreateKeyPair(options: ServeOptions, logger: Logger): Promise<KeyPair> {
  if (options.tlsCertFile || options.tlsKeyFile) {
    if (!options.tlsCertFile || !options.tlsKeyFile) {
      throw new Error('--tls-cert-file and --tls-key-file go together: give both, or neither for a self-signed certificate');
    }
    const pair = await readKeyPair(options.tlsCertFile, options.tlsKeyFile);
    try {
      createSecureContext(pair);
    } catch (cause) {
      throw new Error(`cannot use ${options.tlsCertFile} with ${options.tlsKeyFile}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    return pair;
  }
  const { createCertificateAuthority, createServingCertificate } = await import('../tls/certificates.js');
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
