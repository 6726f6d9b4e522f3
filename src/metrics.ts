import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdmissionEvent } from './http/admission-handler.js';

/** The webhook's Prometheus metrics, on a registry it owns (no global state). */
export interface Metrics {
  readonly registry: Registry;
  /** Counts one admission, its latency and what it injected. */
  admission(event: AdmissionEvent): void;
  /** Tracks a request from arrival until its response is done or abandoned. */
  inFlight(): () => void;
  configReload(result: 'success' | 'failure'): void;
  certificateReload(result: 'success' | 'failure'): void;
  servingCertificateExpiry(notAfter: Date): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'probe_injector_admission_requests_total',
    help: 'AdmissionReview requests by outcome: patched, unchanged, skipped (not in scope or not opted in), denied, error (malformed request or internal error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'probe_injector_admission_duration_seconds',
    help: 'Time from receiving an admission request to sending the answer',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const injections = new Counter({
    name: 'probe_injector_injections_total',
    help: 'Things added to pods, by kind: startupProbe, readinessProbe, livenessProbe, preStop, readinessGate, terminationGracePeriodSeconds',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({ name: 'probe_injector_admission_requests_in_flight', help: 'Admission requests being processed', registers: [registry] });
  const configReloads = new Counter({
    name: 'probe_injector_config_reloads_total',
    help: 'Configuration file reloads by result (a failure keeps the last good configuration)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const certificateReloads = new Counter({
    name: 'probe_injector_certificate_reloads_total',
    help: 'Serving certificate reloads by result (a failure keeps serving the last good certificate)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const expiry = new Gauge({
    name: 'probe_injector_serving_certificate_expiry_timestamp_seconds',
    help: 'When the certificate being served expires (Unix time)',
    registers: [registry],
  });
  for (const outcome of ['patched', 'unchanged', 'skipped', 'denied', 'error']) requests.inc({ outcome }, 0);
  for (const result of ['success', 'failure']) {
    configReloads.inc({ result }, 0);
    certificateReloads.inc({ result }, 0);
  }

  return {
    registry,
    admission(event) {
      const outcome = event.outcome === 'malformed' ? 'error' : event.outcome;
      requests.inc({ outcome });
      duration.observe({ outcome }, event.durationSeconds);
      for (const [kind, count] of Object.entries(event.injected ?? {})) injections.inc({ kind }, count);
    },
    inFlight() {
      inFlight.inc();
      return () => inFlight.dec(); // called once, on the response's 'close'
    },
    configReload: (result) => configReloads.inc({ result }),
    certificateReload: (result) => certificateReloads.inc({ result }),
    servingCertificateExpiry: (notAfter) => expiry.set(notAfter.getTime() / 1000),
  };
}
