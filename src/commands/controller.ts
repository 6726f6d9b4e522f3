import os from 'node:os';
import type * as K8s from '@kubernetes/client-node';
import type { ConfigError } from '../config/config-file.js';
import { loadKubeConfig } from '../config/kube-config.js';
import { makeInjectionConfig, type InjectionConfig } from '../core/config.js';
import { formatVersion, versionFromInfo, type KubernetesVersion } from '../core/kubernetes-version.js';
import { resolveNacosIdentity } from '../core/nacos-identity.js';
import { startLeaderElection, type LeaderElection } from '../kube/leader-election.js';
import type { Logger } from '../logger.js';
import { credentialsFromEnvironment } from '../nacos/nacos-client.js';
import { systemClock, type Clock } from '../controller/clock.js';
import { startEndpoints, type Endpoints } from '../controller/endpoints.js';
import { GateController, type ControllerSettings } from '../controller/gate-controller.js';
import { GATE_LABEL_SELECTOR } from '../controller/gated-pod.js';
import { keepAliveAgent, makeApiClient } from '../controller/keep-alive.js';
import { kubePodStatusApi } from '../controller/kube-api.js';
import { createControllerMetrics, type ControllerMetrics } from '../controller/metrics.js';
import { startPodWatch, type PodWatch } from '../controller/pod-watch.js';
import { reloadableNacos } from '../controller/reloadable-nacos.js';
import { readBoundedFile } from '../serve/bounded-file.js';
import { startReloadLoop, type ReloadLoop } from '../serve/reload-loop.js';

/**
 * `probe-injector controller`: the Nacos gate controller of SPEC §8. The shell around
 * `GateController`: the configuration (validated at start, reloaded when the file changes), the
 * Kubernetes client, the label-selected pod watch, the Nacos client, leader election on the Lease
 * `probe-injector-controller`, and the plain-HTTP port with /metrics, /healthz and /readyz.
 */
export interface ControllerOptions {
  readonly config?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly port: number;
  readonly host?: string | undefined;
  readonly leaseNamespace?: string | undefined;
  readonly identity?: string | undefined;
  /** How often the config file is checked for changes. */
  readonly watchIntervalMs: number;
}

export const LEASE_NAME = 'probe-injector-controller';
export const DEFAULT_LEASE_NAMESPACE = 'probe-injector';
/** The config file is read at most this large (as `serve` reads it). */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Bound on each call to the API server (reads, status patches, Events). */
const API_TIMEOUT_MS = 10_000;
/** How often due Nacos calls are started: well under a second, so a new pod is checked at once. */
const TICK_MS = 200;
/** A full pass over the informer's cache (what client-go calls a resync). */
const RESYNC_MS = 5 * 60_000;
/** On losing the lead, how long in-flight writes may take before the Lease is handed back anyway. */
const SETTLE_ON_STOP_MS = 5000;

export interface RunningController {
  readonly port: number;
  readonly controller: GateController;
  readonly metrics: ControllerMetrics;
  readonly identity: string;
  currentConfig(): InjectionConfig;
  /** Re-reads the config file now (SIGHUP). */
  reloadNow(): void;
  /** Stops competing (handing the Lease back when leading), the watch and the port. */
  stop(): Promise<void>;
}

/** Where the Lease lives and who we are in it: flag, else the downward API's environment, else a default. */
export function leaseSettings(options: Pick<ControllerOptions, 'leaseNamespace' | 'identity'>, env: NodeJS.ProcessEnv, hostname: string, pid: number) {
  return {
    namespace: options.leaseNamespace || env.POD_NAMESPACE || DEFAULT_LEASE_NAMESPACE,
    // Two processes on one host (a developer's machine) must not share an identity: both would
    // think they hold the Lease. In a pod, POD_NAME is unique.
    identity: options.identity || env.POD_NAME || `${hostname}_${pid}`,
  };
}

/** The CLI entry: the process logger, the controller, and SIGTERM/SIGINT/SIGHUP handling. */
export async function runController(options: ControllerOptions): Promise<void> {
  const { createProcessLogger } = await import('../logger.js');
  const log = createProcessLogger();
  const { logger } = log;
  let running: RunningController;
  try {
    running = await startController(options, { logger, env: process.env });
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`probe-injector: invalid config ${error.file}:\n${error.problems.map((p) => `  - ${p}\n`).join('')}`);
    await log.close(2000);
    process.exit(1);
  }
  log.flush();
  const exit = (code: number) => void log.close(2000).then(() => process.exit(code));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, leader: running.controller.isLeader }, 'shutting down: handing the Lease back, stopping the watch');
    log.flush();
    // The Lease hand-back is bounded by the election's request timeouts; never hang the pod's end.
    setTimeout(() => {
      logger.warn({}, 'shutdown took too long; exiting');
      exit(0);
    }, 20_000).unref();
    void running.stop().then(
      () => {
        logger.info({}, 'stopped');
        exit(0);
      },
      (error: unknown) => {
        logger.error({ error: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 're-reading the config file');
    running.reloadNow();
  });
}

function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && error.name === 'ConfigError';
}

export interface ControllerDependencies {
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly clock?: Clock;
}

export async function startController(options: ControllerOptions, deps: ControllerDependencies): Promise<RunningController> {
  const { logger, env } = deps;
  const clock = deps.clock ?? systemClock;
  const configFile = options.config ? await import('../config/config-file.js') : undefined;
  const readConfig = async (file: string) => configFile!.parseConfigFile(await readBoundedFile(file, MAX_CONFIG_BYTES), file);
  let fileConfig = options.config ? await readConfig(options.config) : makeInjectionConfig();
  const credentials = credentialsFromEnvironment(env);
  const { namespace: leaseNamespace, identity } = leaseSettings(options, env, os.hostname(), process.pid);

  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  const source = loadKubeConfig(kubeConfig, options.kubeconfig, env);
  const agent = await keepAliveAgent(kubeConfig);
  const core = makeApiClient(k8s, kubeConfig, k8s.CoreV1Api, agent);
  const metrics = createControllerMetrics();

  // The cluster's version decides, as in the webhook, whether a native sidecar can be a target
  // (and so where the Nacos port is resolved): the config's kubernetesVersion, else the API server's.
  let detected: KubernetesVersion | undefined;
  if (fileConfig.kubernetesVersion === undefined) detected = await detectVersion(k8s, kubeConfig, logger);
  let config: InjectionConfig = { ...fileConfig, kubernetesVersion: fileConfig.kubernetesVersion ?? detected };
  let settings: ControllerSettings = settingsOf(config);

  let election: LeaderElection | undefined;
  const controller = new GateController({
    settings: () => settings,
    nacos: reloadableNacos(() => config.nacos.server, { credentials, onRequest: (outcome) => metrics.nacosRequest(outcome) }),
    api: kubePodStatusApi(k8s, core, API_TIMEOUT_MS),
    clock,
    logger,
    metrics,
    instance: identity,
    stillLeading: () => election?.isLeader() ?? false,
  });

  let stopping = false;
  let watch: PodWatch | undefined;
  const endpoints: Endpoints = await startEndpoints({
    port: options.port,
    host: options.host,
    registry: metrics.registry,
    notReady: () => (stopping ? 'shutting down' : watch?.synced() ? undefined : 'the pod watch has not synced yet'),
  });
  watch = startPodWatch({
    k8s,
    kubeConfig,
    core,
    labelSelector: GATE_LABEL_SELECTOR,
    handlers: { upsert: (pod) => controller.upsert(pod), remove: (pod) => controller.remove(pod) },
    logger,
    clock,
    onError: () => metrics.watchError(),
    onRestart: () => metrics.watchRestart(),
  });
  const ticker = setInterval(() => controller.tick(), TICK_MS);
  const resync = setInterval(() => controller.resync(watch!.list()), RESYNC_MS);
  resync.unref();

  election = startLeaderElection({
    api: makeApiClient(k8s, kubeConfig, k8s.CoordinationV1Api, agent),
    namespace: leaseNamespace,
    name: LEASE_NAME,
    identity,
    logger,
    onStartedLeading: () => {
      logger.info({ lease: `${leaseNamespace}/${LEASE_NAME}`, identity }, 'leading: asking Nacos and writing gates');
      controller.setLeader(true);
    },
    onStoppedLeading: async () => {
      controller.setLeader(false);
      await Promise.race([controller.settled(), new Promise((resolve) => setTimeout(resolve, SETTLE_ON_STOP_MS).unref())]);
      logger.info({ lease: `${leaseNamespace}/${LEASE_NAME}`, identity }, 'not leading any more');
    },
    onNewLeader: (leader) => {
      if (leader !== identity) logger.info({ lease: `${leaseNamespace}/${LEASE_NAME}`, leader }, 'another replica leads');
    },
  });

  let reload: ReloadLoop | undefined;
  if (options.config) {
    const file = options.config;
    reload = startReloadLoop({
      files: [file],
      intervalMs: options.watchIntervalMs,
      load: () => readConfig(file),
      apply: (value) => {
        fileConfig = value;
        config = { ...value, kubernetesVersion: value.kubernetesVersion ?? detected };
        settings = settingsOf(config);
        metrics.configReload('success');
        logger.info({ file, gate: config.nacos.gate, nacos: config.nacos.server.addresses }, 'config reloaded');
        // The condition type or the identity rules may have changed: look at every pod again.
        controller.resync(watch!.list());
      },
      onFailure: (error, attempt, retryInMs) => {
        metrics.configReload('failure');
        const problems = isConfigError(error) ? error.problems : [error instanceof Error ? error.message : String(error)];
        logger.error({ file, problems, attempt, retryInMs }, 'config not reloaded: keeping the last good one');
      },
    });
  }

  logger.info(
    {
      port: endpoints.port,
      kubeconfig: source.description,
      server: kubeConfig.getCurrentCluster()?.server,
      lease: `${leaseNamespace}/${LEASE_NAME}`,
      identity,
      labelSelector: GATE_LABEL_SELECTOR,
      conditionType: config.nacos.gate.conditionType,
      nacos: { addresses: config.nacos.server.addresses, apiVersion: config.nacos.server.apiVersion, auth: credentials !== undefined },
      kubernetesVersion: formatVersion(config.kubernetesVersion),
      config: options.config ?? '(built-in defaults)',
    },
    'probe-injector controller started',
  );

  let stopped: Promise<void> | undefined;
  return {
    port: endpoints.port,
    controller,
    metrics,
    identity,
    currentConfig: () => config,
    reloadNow: () => reload?.reloadNow(),
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        reload?.stop();
        clearInterval(ticker);
        clearInterval(resync);
        await election!.stop(); // awaits onStoppedLeading, then hands the Lease back
        controller.stop();
        await watch!.stop();
        await endpoints.close();
        agent?.destroy();
      })()),
  };
}

function settingsOf(config: InjectionConfig): ControllerSettings {
  return { gate: config.nacos.gate, identify: (pod) => resolveNacosIdentity(pod, config) };
}

async function detectVersion(k8s: typeof K8s, kubeConfig: K8s.KubeConfig, logger: Logger): Promise<KubernetesVersion | undefined> {
  try {
    const info = await Promise.race([
      kubeConfig.makeApiClient(k8s.VersionApi).getCode(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 8 s')), 8000).unref()),
    ]);
    const version = versionFromInfo(info);
    if (version) logger.info({ kubernetesVersion: formatVersion(version), gitVersion: info.gitVersion }, 'kubernetes version detected');
    return version;
  } catch (error) {
    logger.warn(
      { kubernetesVersion: 'unknown', error: (error instanceof Error ? error.message : String(error)).split('\n')[0] },
      'cannot read the Kubernetes version: resolving identities for the oldest supported version (set kubernetesVersion in the config to choose)',
    );
    return undefined;
  }
}
