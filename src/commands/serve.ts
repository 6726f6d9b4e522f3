import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConfigError } from '../config/config-file.js';
import { makeInjectionConfig, type InjectionConfig } from '../core/config.js';
import { formatVersion } from '../core/kubernetes-version.js';
import { startMetricsServer, type MetricsServer } from '../http/metrics-server.js';
import type { ServerTimeouts } from '../http/server.js';
import type { BodyBudgetLimits } from '../http/body-budget.js';
import type { Logger } from '../logger.js';
import type { LoadedMetrics, ReloadKind } from '../metrics.js';
import { deferMetrics } from '../serve/deferred-metrics.js';
import { readBoundedFile } from '../serve/bounded-file.js';
import { detectKubernetesVersion, type DetectedVersion, type VersionCheckOptions } from '../serve/kubernetes-version.js';
import { startReloadLoop, type ReloadBackoff, type ReloadLoop } from '../serve/reload-loop.js';
import type { KeyPair } from '../tls/certificates.js';
import { checkServingPair, readServingPair, type ServingPair } from '../tls/serving-pair.js';
import { VERSION } from '../version.js';
import { startWebhook, type Webhook } from '../webhook.js';

export interface ServeOptions {
  readonly port: number;
  readonly host?: string | undefined;
  /** Plain-HTTP `GET /metrics` (0 or absent: off). */
  readonly metricsPort?: number | undefined;
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  readonly certDir: string;
  readonly config?: string | undefined;
  /** For the Kubernetes version check. */
  readonly kubeconfig?: string | undefined;
  /** How often the certificate and config files are checked for changes. */
  readonly watchIntervalMs: number;
  /** After SIGTERM, how long to keep serving with `/readyz` at 503 before closing the listener. */
  readonly shutdownDelaySeconds?: number | undefined;
  /** Injectable for tests: the version check (default: `GET /version` through @kubernetes/client-node). */
  readonly detectVersion?: ((options: VersionCheckOptions) => Promise<DetectedVersion>) | undefined;
  readonly reloadBackoff?: ReloadBackoff | undefined;
  readonly bodyBudget?: BodyBudgetLimits | undefined;
  readonly timeouts?: Partial<ServerTimeouts> | undefined;
}

export interface Serving {
  readonly webhook: Webhook;
  readonly metrics: LoadedMetrics;
  readonly metricsServer?: MetricsServer | undefined;
  /** The configuration admissions get now: the file's (or the defaults), with the Kubernetes version. */
  currentConfig(): InjectionConfig;
  /** Settles once the Kubernetes version is known (or given up on). */
  readonly versionSettled: Promise<void>;
  /** Re-reads the certificate and config files now (SIGHUP). */
  reloadNow(): void;
  /** The latest time the process may exit after `stop()` begins: in-flight admissions always finish first. */
  drainDeadlineMs(): number;
  /** Stops watching files and shuts the webhook down gracefully. */
  stop(): Promise<void>;
}

export const DEFAULT_CERT_DIR = path.join(os.tmpdir(), 'probe-injector');
/** The config file is read at most this large. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The CLI entry: the process logger, the server, and SIGTERM/SIGINT/SIGHUP handling. */
export async function runServe(options: Omit<ServeOptions, 'certDir'> & { certDir?: string | undefined }): Promise<void> {
  const { createProcessLogger } = await import('../logger.js');
  let dropped: ((lines: number) => void) | undefined;
  const log = createProcessLogger({ onDropped: (lines) => dropped?.(lines) });
  const { logger } = log;
  // The handlers go first: the listener answers /healthz before serve() has resolved (listen first,
  // then load the admission stack), and a SIGTERM in that window must still end in a clean exit 0,
  // not in the signal's default death. It is acted on once serving is up.
  let serving: Serving | undefined;
  let pendingSignal: string | undefined;
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGHUP', () => {
    if (!serving) return; // the files are being read for the first time right now
    logger.info({ signal: 'SIGHUP' }, 're-reading the certificate and config files');
    serving.reloadNow();
  });
  function onSignal(signal: string) {
    if (serving) stop(serving, signal);
    else pendingSignal ??= signal;
  }
  try {
    serving = await serve({ ...options, certDir: options.certDir ?? DEFAULT_CERT_DIR }, logger);
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`probe-injector: invalid config ${error.file}:\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
    process.exit(1);
  }
  const started = serving;
  dropped = (lines) => started.metrics.logLinesDropped(lines);
  log.flush(); // the start-up lines (listening, where the CA is) right away
  // pino writes asynchronously: let it finish (in order) before the process goes, but never wait
  // on a stalled stdout for long.
  const exit = (code: number) => void log.close(2000).then(() => process.exit(code));
  let stopping = false;
  function stop(serving: Serving, signal: string) {
    if (stopping) return;
    stopping = true;
    const deadlineMs = serving.drainDeadlineMs();
    logger.info(
      { signal, delaySeconds: options.shutdownDelaySeconds ?? 0, deadlineSeconds: deadlineMs / 1000, inFlight: serving.webhook.inFlight() },
      'shutting down: /readyz is 503, every answer closes its connection, in-flight requests finish',
    );
    log.flush();
    setTimeout(() => {
      logger.warn({ inFlight: serving.webhook.inFlight() }, 'requests still in flight at the drain deadline; exiting');
      exit(0);
    }, deadlineMs).unref();
    void serving.stop().then(() => {
      logger.info({}, 'stopped');
      exit(0);
    });
  }
  if (pendingSignal) stop(started, pendingSignal);
}

function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && error.name === 'ConfigError';
}

/**
 * `probe-injector serve`: config, TLS material, metrics, the Kubernetes version and the webhook,
 * all kept up to date. The YAML parser, the certificate generator and the Kubernetes client are only
 * loaded when they are needed (the client in a child process: see serve/kubernetes-version.ts).
 */
export async function serve(options: ServeOptions, logger: Logger): Promise<Serving> {
  // prom-client is loaded once the listener is up (it is ~50 ms of the start); /readyz waits for it.
  const deferred = deferMetrics();
  const { metrics } = deferred;
  const configFile = options.config ? await import('../config/config-file.js') : undefined;
  const readConfig = async (file: string) => configFile!.parseConfigFile(await readBoundedFile(file, MAX_CONFIG_BYTES), file);
  let fileConfig = options.config ? await readConfig(options.config) : makeInjectionConfig();

  // The Kubernetes version: the config's kubernetesVersion, else what the API server says. The check
  // runs beside the rest of the start; /readyz waits for it (a few hundred ms, at most 8 s).
  let detected: DetectedVersion | undefined;
  let checking: Promise<void> | undefined;
  let config = fileConfig;
  const updateConfig = () => {
    config = { ...fileConfig, kubernetesVersion: fileConfig.kubernetesVersion ?? detected?.version };
    const source = fileConfig.kubernetesVersion ? 'config' : detected?.version ? 'detected' : 'unknown';
    metrics.kubernetesVersion(formatVersion(config.kubernetesVersion), source, source === 'detected' && detected?.version ? detected.gitVersion : '');
  };
  const checkVersion = () => {
    checking ??= (options.detectVersion ?? detectKubernetesVersion)({ kubeconfig: options.kubeconfig }).then(
      (answer) => {
        detected = answer;
        if (answer.version) logger.info({ kubernetesVersion: formatVersion(answer.version), gitVersion: answer.gitVersion, server: answer.server }, 'kubernetes version detected');
        else
          logger.warn(
            { kubernetesVersion: 'unknown', error: answer.error },
            'cannot read the Kubernetes version: writing for the oldest supported version (set kubernetesVersion in the config to choose)',
          );
        updateConfig();
      },
      () => updateConfig(), // detectKubernetesVersion never rejects; an injected one might
    );
    return checking;
  };
  let versionKnown = fileConfig.kubernetesVersion !== undefined;
  let versionSettled: Promise<void> = Promise.resolve();

  const tls = await loadOrCreateKeyPair(options, logger);

  const webhook = await startWebhook({
    port: options.port,
    host: options.host,
    tls: tls.pair,
    config: () => config,
    logger,
    metrics,
    bodyBudget: options.bodyBudget,
    timeouts: options.timeouts,
    starting: () => (!deferred.loaded() ? 'loading' : versionKnown ? undefined : 'reading the Kubernetes version'),
  });
  // Listening: /healthz answers. The rest of the start runs beside it.
  if (!versionKnown) versionSettled = checkVersion().then(() => void (versionKnown = true));
  const { createMetrics } = await import('../metrics.js');
  const loaded = createMetrics();
  deferred.resolve(loaded);
  updateConfig();
  metrics.servingCertificateExpiry(tls.certificate.notAfter);
  let metricsServer: MetricsServer | undefined;
  if (options.metricsPort) {
    try {
      metricsServer = await startMetricsServer({ port: options.metricsPort, host: options.host, registry: loaded.registry, health: webhook.health });
    } catch (error) {
      // The webhook matters more than its metrics: serve without the port (/metrics stays on the HTTPS port).
      logger.error({ metricsPort: options.metricsPort, error: messageOf(error) }, 'cannot serve metrics on the metrics port: they stay on the HTTPS port only');
    }
  }
  logger.info(
    { version: VERSION, port: webhook.port, metricsPort: metricsServer?.port ?? null, config: options.config ?? '(built-in defaults)' },
    'probe-injector webhook listening',
  );

  const reloadFailed = (kind: ReloadKind, what: Record<string, unknown>) => (error: unknown, attempt: number, retryInMs: number) => {
    metrics.reload(kind, 'failure');
    metrics.reloadFailing(kind, true);
    const problems = isConfigError(error) ? error.problems : [messageOf(error)];
    logger.error(
      { ...what, problems: problems.slice(0, 20), problemCount: problems.length, attempt, retryInSeconds: retryInMs / 1000 },
      kind === 'config' ? 'config not reloaded: keeping the last good one' : 'serving certificate not reloaded: keeping the current one',
    );
  };
  const loops: ReloadLoop[] = [];
  if (options.config) {
    const file = options.config;
    loops.push(
      startReloadLoop({
        files: [file],
        intervalMs: options.watchIntervalMs,
        backoff: options.reloadBackoff,
        load: () => readConfig(file),
        apply: (next) => {
          fileConfig = next;
          updateConfig();
          if (!fileConfig.kubernetesVersion) void checkVersion();
          metrics.reload('config', 'success');
          metrics.reloadFailing('config', false);
          logger.info({ file }, 'config reloaded');
        },
        onFailure: reloadFailed('config', { file }),
      }),
    );
  }
  if (options.tlsCertFile && options.tlsKeyFile) {
    const { tlsCertFile, tlsKeyFile } = options;
    loops.push(
      startReloadLoop({
        files: [tlsCertFile, tlsKeyFile],
        intervalMs: options.watchIntervalMs,
        backoff: options.reloadBackoff,
        load: () => readServingPair(tlsCertFile, tlsKeyFile),
        apply: (next) => {
          webhook.setTls(next.pair);
          metrics.servingCertificateExpiry(next.certificate.notAfter);
          metrics.reload('certificate', 'success');
          metrics.reloadFailing('certificate', false);
          logger.info({ certFile: tlsCertFile, subject: next.certificate.subject, notAfter: next.certificate.notAfter.toISOString() }, 'serving certificate reloaded');
        },
        onFailure: reloadFailed('certificate', { certFile: tlsCertFile, keyFile: tlsKeyFile }),
      }),
    );
  }
  const delayMs = (options.shutdownDelaySeconds ?? 0) * 1000;
  return {
    webhook,
    metrics: loaded,
    metricsServer,
    versionSettled,
    currentConfig: () => config,
    reloadNow: () => loops.forEach((loop) => loop.reloadNow()),
    // Whatever shutdownSeconds says: a request in flight is answered (node:http ends it by requestMs).
    drainDeadlineMs: () => Math.max(config.shutdownSeconds * 1000, delayMs + webhook.timeouts.requestMs + 1000),
    stop: async () => {
      for (const loop of loops) loop.stop();
      await webhook.shutdown(delayMs);
      await metricsServer?.close();
    },
  };
}

async function loadOrCreateKeyPair(options: ServeOptions, logger: Logger): Promise<ServingPair> {
  if (options.tlsCertFile || options.tlsKeyFile) {
    if (!options.tlsCertFile || !options.tlsKeyFile) {
      throw new Error('--tls-cert-file and --tls-key-file go together: give both, or neither for a self-signed certificate');
    }
    try {
      return await readServingPair(options.tlsCertFile, options.tlsKeyFile);
    } catch (cause) {
      throw new Error(`cannot serve ${options.tlsCertFile} with ${options.tlsKeyFile}: ${messageOf(cause)}`, { cause });
    }
  }
  const { createCertificateAuthority, createServingCertificate } = await import('../tls/certificates.js');
  const ca = await createCertificateAuthority('probe-injector local CA', { days: 365 });
  const pair: KeyPair = await createServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }, { days: 365 });
  await mkdir(options.certDir, { recursive: true, mode: 0o700 });
  const caFile = path.join(options.certDir, 'ca.crt');
  await writeFile(caFile, ca.cert);
  await writeFile(path.join(options.certDir, 'tls.crt'), pair.cert);
  await writeFile(path.join(options.certDir, 'tls.key'), pair.key, { mode: 0o600 });
  logger.info(
    { caFile, certDir: options.certDir },
    `no --tls-cert-file given: serving a self-signed certificate for localhost; trust it with --cacert ${caFile}`,
  );
  return checkServingPair(pair);
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
