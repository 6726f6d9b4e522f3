import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ADMISSION_OUTCOMES, type AdmissionEvent } from './http/admission-handler.js';
import type { BodyBudget } from './http/body-budget.js';
import { VERSION } from './version.js';

export const RELOAD_KINDS = ['config', 'certificate'] as const;
export type ReloadKind = (typeof RELOAD_KINDS)[number];
export const RELOAD_RESULTS = ['success', 'failure'] as const;
export type ReloadResult = (typeof RELOAD_RESULTS)[number];
/** Where the Kubernetes version the webhook writes for comes from. */
export const VERSION_SOURCES = ['detected', 'config', 'unknown'] as const;
export type VersionSource = (typeof VERSION_SOURCES)[number];

/** The webhook's Prometheus metrics, on a registry it owns (no global state). */
export interface Metrics {
  /** Undefined while the metrics are still loading (`serve` listens first: serve/deferred-metrics.ts). */
  readonly registry: Registry | undefined;
  /** Counts one admission, its latency and what it injected. */
  admission(event: AdmissionEvent): void;
  /** Tracks a request from arrival until its response is done or abandoned. */
  inFlight(): () => void;
  reload(kind: ReloadKind, result: ReloadResult): void;
  /** 1 while the newest version of a file could not be applied (a retry is pending), else 0. */
  reloadFailing(kind: ReloadKind, failing: boolean): void;
  servingCertificateExpiry(notAfter: Date): void;
  /** A connection that failed before HTTP: no handshake in time, or a failed one. */
  tlsError(reason: 'timeout' | 'error'): void;
  /** Log lines dropped because stdout did not take them. */
  logLinesDropped(lines: number): void;
  kubernetesVersion(version: string, source: VersionSource, gitVersion?: string): void;
  /** Exposes what the body budget holds. */
  watchBodyBudget(budget: BodyBudget): void;
}

/** Metrics once loaded: their registry is there. */
export interface LoadedMetrics extends Metrics {
  readonly registry: Registry;
}

export function createMetrics(): LoadedMetrics {
  const registry = new Registry();
  // A 100 ms event-loop sampling (not 10 ms): its timer was most of an idle webhook's CPU; long stalls still show.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const registers = [registry];
  new Gauge({ name: 'probe_injector_build_info', help: 'The running version of probe-injector', labelNames: ['version'] as const, registers }).set({ version: VERSION }, 1);
  const requests = new Counter({
    name: 'probe_injector_admission_requests_total',
    help: `Admission requests by endpoint and outcome: ${ADMISSION_OUTCOMES.join(', ')}`,
    labelNames: ['endpoint', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'probe_injector_admission_duration_seconds',
    help: 'Time from receiving an admission request to sending the answer',
    labelNames: ['endpoint', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const injections = new Counter({
    name: 'probe_injector_injections_total',
    help: 'Things added to pods, by kind: startupProbe, readinessProbe, livenessProbe, preStop, readinessGate, label, terminationGracePeriodSeconds',
    labelNames: ['kind'] as const,
    registers,
  });
  const inFlight = new Gauge({ name: 'probe_injector_admission_requests_in_flight', help: 'Admission requests being received or processed', registers });
  const reloads = {
    config: new Counter({
      name: 'probe_injector_config_reloads_total',
      help: 'Configuration file reloads by result (a failure keeps the last good configuration and is retried)',
      labelNames: ['result'] as const,
      registers,
    }),
    certificate: new Counter({
      name: 'probe_injector_certificate_reloads_total',
      help: 'Serving certificate reloads by result (a failure keeps serving the last good certificate and is retried)',
      labelNames: ['result'] as const,
      registers,
    }),
  } as const satisfies Record<ReloadKind, Counter<'result'>>;
  const failing = new Gauge({
    name: 'probe_injector_reload_failing',
    help: '1 while the newest config or certificate files could not be applied (the last good ones are in use, a retry is pending)',
    labelNames: ['kind'] as const,
    registers,
  });
  const expiry = new Gauge({
    name: 'probe_injector_serving_certificate_expiry_timestamp_seconds',
    help: 'When the certificate being served expires (Unix time)',
    registers,
  });
  const tlsErrors = new Counter({
    name: 'probe_injector_tls_handshake_errors_total',
    help: 'Connections closed before HTTP: timeout (no TLS handshake within 10 s) or error (a failed handshake)',
    labelNames: ['reason'] as const,
    registers,
  });
  const dropped = new Counter({ name: 'probe_injector_log_lines_dropped_total', help: 'Log lines dropped because stdout did not take them (its buffer was full)', registers });
  const kubernetes = new Gauge({
    name: 'probe_injector_kubernetes_version_info',
    help: 'The Kubernetes version the webhook writes for: detected (GET /version at start), config (kubernetesVersion) or unknown (the oldest behaviour)',
    labelNames: ['version', 'source', 'git_version'] as const,
    registers,
  });
  for (const endpoint of ['mutate', 'validate']) for (const outcome of ADMISSION_OUTCOMES) requests.inc({ endpoint, outcome }, 0);
  const byOutcome = new Map<string, { requests: { inc(): void }; duration: { observe(value: number): void } }>();
  for (const kind of RELOAD_KINDS) {
    for (const result of RELOAD_RESULTS) reloads[kind].inc({ result }, 0);
    failing.set({ kind }, 0);
  }
  for (const reason of ['timeout', 'error']) tlsErrors.inc({ reason }, 0);

  return {
    registry,
    admission(event) {
      // The labelled children are looked up once per endpoint and outcome (prom-client hashes the labels on every call otherwise).
      const key = `${event.endpoint}\u0000${event.outcome}`;
      let children = byOutcome.get(key);
      if (!children) {
        children = { requests: requests.labels(event.endpoint, event.outcome), duration: duration.labels(event.endpoint, event.outcome) };
        byOutcome.set(key, children);
      }
      children.requests.inc();
      children.duration.observe(event.durationSeconds);
      if (event.injected) for (const kind in event.injected) injections.inc({ kind }, event.injected[kind]);
    },
    inFlight() {
      inFlight.inc();
      return () => inFlight.dec(); // called once, on the response's 'close'
    },
    reload: (kind, result) => reloads[kind].inc({ result }),
    reloadFailing: (kind, isFailing) => failing.set({ kind }, isFailing ? 1 : 0),
    servingCertificateExpiry: (notAfter) => expiry.set(notAfter.getTime() / 1000),
    tlsError: (reason) => tlsErrors.inc({ reason }),
    logLinesDropped: (lines) => dropped.inc(lines),
    kubernetesVersion(version, source, gitVersion = '') {
      kubernetes.reset();
      kubernetes.set({ version, source, git_version: gitVersion }, 1);
    },
    watchBodyBudget(budget) {
      new Gauge({
        name: 'probe_injector_request_body_buffered_bytes',
        help: 'Bytes of request bodies being received or processed now (reserved from the body budget)',
        registers,
        collect() {
          this.set(budget.used());
        },
      });
      new Gauge({
        name: 'probe_injector_request_body_budget_bytes',
        help: 'The body budget: beyond it admission requests get 429 with Retry-After',
        registers,
      }).set(budget.limits.totalBytes);
    },
  };
}
