import { clone, type Pod } from './pod.js';

export type { Pod } from './pod.js';

export const P = 'probe-injector.io/';

/** Opt-in annotations; keys without a `/` get the prefix. */
export const on = (extra: Record<string, string> = {}): Record<string, string> => ({
  [`${P}inject`]: 'true',
  ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.includes('/') ? k : P + k, v])),
});

/** SPEC §3 timing table, written out here (not imported) so a change in the code shows as a failure. */
export const TIMINGS = {
  startup: { initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 60 },
  readiness: { initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
  liveness: { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 3, successThreshold: 1, failureThreshold: 3 },
} as const;
export type Kind = keyof typeof TIMINGS;
export const FIELD = { startup: 'startupProbe', readiness: 'readinessProbe', liveness: 'livenessProbe' } as const;
export const ALL_PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'];

export const tcp = (kind: Kind, port: number | string = 8080, timings: object = {}) => ({ tcpSocket: { port }, ...TIMINGS[kind], ...timings });
export const http = (kind: Kind, path = '/', port: number | string = 8080, scheme = 'HTTP', timings: object = {}) => ({
  httpGet: { path, port, scheme },
  ...TIMINGS[kind],
  ...timings,
});
export const grpc = (kind: Kind, port = 8080, service?: string) => ({ grpc: { port, ...(service && { service }) }, ...TIMINGS[kind] });
export const exec = (kind: Kind, command: string[]) => ({ exec: { command }, ...TIMINGS[kind] });

/** The three probes of a profile on container `index` (of `spec.containers`, or `spec.initContainers`). */
export function setProbes(pod: Pod, probes: Partial<Record<Kind, object>>, index = 0, list: 'containers' | 'initContainers' = 'containers'): void {
  for (const [kind, probe] of Object.entries(probes)) pod.spec[list][index][FIELD[kind as Kind]] = probe;
}

export function setStatus(pod: Pod, status: object): void {
  pod.metadata.annotations ??= {};
  pod.metadata.annotations['probe-injector.io/status'] = JSON.stringify(status);
}

/** The exec-mode hook SPEC §4 describes, for a given port/path/method/timeout/sleep. */
export function execHook(port = 8080, { path = '/api/nacos/deregister', method = 'GET', timeout = 3, sleep = 35 } = {}) {
  const url = `'http://127.0.0.1:${port}${path}'`;
  const curl = `curl -sS -m ${timeout}${method === 'GET' ? '' : ` -X ${method}`} -o /dev/null ${url}`;
  const wget =
    method === 'GET' ? `wget -q -T ${timeout} -O /dev/null ${url}`
    : method === 'POST' ? `wget -q -T ${timeout} -O /dev/null --post-data '' ${url}`
    : `echo 'probe-injector: ${method} needs curl in the image' >&2`;
  const script = `if command -v curl >/dev/null 2>&1; then ${curl}; elif command -v wget >/dev/null 2>&1; then ${wget}; else echo 'probe-injector: neither curl nor wget found' >&2; fi; sleep ${sleep}`;
  return { exec: { command: ['/bin/sh', '-c', script] } };
}

/** The exec-mode hook with `nacos-deregister-via: actuator`: POST {"status":"DOWN"} as JSON, then the sleep. */
export function actuatorHook(port = 8080, { path = '/actuator/serviceregistry', timeout = 3, sleep = 35 } = {}) {
  const url = `'http://127.0.0.1:${port}${path}'`;
  const curl = `curl -sS -m ${timeout} -X POST -H 'Content-Type: application/json' -d '{"status":"DOWN"}' -o /dev/null ${url}`;
  const wget = `wget -q -T ${timeout} -O /dev/null --header 'Content-Type: application/json' --post-data '{"status":"DOWN"}' ${url}`;
  const script = `if command -v curl >/dev/null 2>&1; then ${curl}; elif command -v wget >/dev/null 2>&1; then ${wget}; else echo 'probe-injector: neither curl nor wget found' >&2; fi; sleep ${sleep}`;
  return { exec: { command: ['/bin/sh', '-c', script] } };
}

export function expected(pod: Pod, change: (pod: Pod) => void): Pod {
  const copy = clone(pod);
  change(copy);
  return copy;
}
