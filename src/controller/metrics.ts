import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { NACOS_OUTCOMES, type NacosOutcome } from '../nacos/nacos-error.js';

/**
 * The controller's Prometheus metrics (SPEC §8), on a registry of its own, with the process
 * metrics (CPU, memory) prom-client collects by default.
 */
export const LIST_OUTCOMES = ['success', 'error'] as const;
export type ListOutcome = (typeof LIST_OUTCOMES)[number];
export const WRITE_RESULTS = ['success', 'conflict', 'not_found', 'error'] as const;
export type WriteResult = (typeof WRITE_RESULTS)[number];
export const EVENT_RESULTS = ['sent', 'dropped', 'failed'] as const;
export type EventResult = (typeof EVENT_RESULTS)[number];

export interface ControllerMetrics {
  readonly registry: Registry;
  /** One HTTP request to Nacos (the client's `onRequest`: logins and failovers included). */
  nacosRequest(outcome: NacosOutcome): void;
  /** One instance-list call of the controller (what pollSeconds bounds), whatever it took. */
  nacosList(outcome: ListOutcome): void;
  pendingPods(count: number): void;
  servicesWaiting(count: number): void;
  gateSet(reason: string, waitedSeconds: number): void;
  gateChange(status: string, reason: string): void;
  statusWrite(result: WriteResult): void;
  event(type: string, reason: string, result: EventResult): void;
  leader(isLeader: boolean): void;
  watchError(): void;
  watchRestart(): void;
  invalidPod(): void;
  configReload(result: 'success' | 'failure'): void;
}

export function createControllerMetrics(options: { readonly processMetrics?: boolean } = {}): ControllerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const pending = new Gauge({
    name: 'probe_injector_gate_pending_pods',
    help: 'Gated pods that are ready (IP and ContainersReady) and wait for their Nacos instance',
    registers,
  });
  const services = new Gauge({
    name: 'probe_injector_gate_services_waiting',
    help: 'Nacos services with at least one pod waiting (each is asked once per pollSeconds)',
    registers,
  });
  const wait = new Histogram({
    name: 'probe_injector_gate_wait_seconds',
    help: 'Time from a pod\'s ContainersReady to its gate condition set True, by reason (NacosRegistered, NacosTimeout)',
    labelNames: ['reason'] as const,
    buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers,
  });
  const nacos = new Counter({
    name: 'probe_injector_nacos_requests_total',
    help: 'HTTP requests to Nacos (instance lists and logins, each address tried) by outcome: success, error (network, 5xx, refused), timeout, unauthorized, malformed (an answer that is not what Nacos sends)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const lists = new Counter({
    name: 'probe_injector_gate_nacos_lists_total',
    help: 'Instance-list calls of the gate controller (at most one per Nacos service per pollSeconds), by outcome: success, error (no address answered usefully)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const changes = new Counter({
    name: 'probe_injector_gate_changes_total',
    help: 'Gate conditions written, by status and reason',
    labelNames: ['status', 'reason'] as const,
    registers,
  });
  const writes = new Counter({
    name: 'probe_injector_gate_status_writes_total',
    help: 'pods/status patches by result (conflict: the pod changed meanwhile; re-read and retried)',
    labelNames: ['result'] as const,
    registers,
  });
  const events = new Counter({
    name: 'probe_injector_gate_events_total',
    help: 'Events about gated pods by type, reason and result (dropped: over the rate limit)',
    labelNames: ['type', 'reason', 'result'] as const,
    registers,
  });
  const leader = new Gauge({ name: 'probe_injector_leader', help: '1 when this replica holds the controller\'s Lease, else 0', registers });
  const watchErrors = new Counter({ name: 'probe_injector_watch_errors_total', help: 'Pod list/watch failures (the watch is restarted with backoff)', registers });
  const watchRestarts = new Counter({ name: 'probe_injector_watch_restarts_total', help: 'Pod watch restarts after a failure', registers });
  const invalid = new Counter({ name: 'probe_injector_gate_invalid_pods_total', help: 'Pods from the API server the controller could not read (skipped)', registers });
  const reloads = new Counter({
    name: 'probe_injector_config_reloads_total',
    help: 'Configuration file reloads by result (a failure keeps the last good configuration)',
    labelNames: ['result'] as const,
    registers,
  });
  for (const outcome of NACOS_OUTCOMES) nacos.inc({ outcome }, 0);
  for (const outcome of LIST_OUTCOMES) lists.inc({ outcome }, 0);
  for (const result of WRITE_RESULTS) writes.inc({ result }, 0);
  for (const result of ['success', 'failure']) reloads.inc({ result }, 0);
  leader.set(0);
  return {
    registry,
    nacosRequest: (outcome) => nacos.inc({ outcome }),
    nacosList: (outcome) => lists.inc({ outcome }),
    pendingPods: (count) => pending.set(count),
    servicesWaiting: (count) => services.set(count),
    gateSet: (reason, waitedSeconds) => wait.observe({ reason }, waitedSeconds),
    gateChange: (status, reason) => changes.inc({ status, reason }),
    statusWrite: (result) => writes.inc({ result }),
    event: (type, reason, result) => events.inc({ type, reason, result }),
    leader: (isLeader) => leader.set(isLeader ? 1 : 0),
    watchError: () => watchErrors.inc(),
    watchRestart: () => watchRestarts.inc(),
    invalidPod: () => invalid.inc(),
    configReload: (result) => reloads.inc({ result }),
  };
}
