/**
 * What SPEC promises, written out for the e2e cases. (test/support/expect.ts has the same helpers,
 * but it imports test/support/webhook.ts, which reads a fixture from outside the repository at
 * load time; the e2e suite must run from a fresh clone, so it keeps its own copy.)
 */
import type { Json } from './kube.js';

export const P = 'probe-injector.io/';
export const STATUS = `${P}status`;

/** SPEC §3, the default profile's timings. */
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

/** The exec-mode preStop hook of SPEC §4 / README. */
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

/** Opt-in annotations; keys without a `/` get the prefix. */
export const on = (extra: Record<string, string> = {}): Record<string, string> => ({
  [`${P}inject`]: 'true',
  ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.includes('/') ? k : P + k, v])),
});

/** A pod as a user writes it: one container `app` with a named TCP port 8080. */
export function podOf(annotations: Record<string, string>, changes: (pod: Json) => void = () => {}, name?: string): Json {
  const pod: Json = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...(name ? { name } : { generateName: 'pod-' }), annotations },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
  };
  changes(pod);
  return pod;
}

export function setProbes(pod: Json, probes: Partial<Record<Kind, object>>, index = 0): void {
  for (const [kind, probe] of Object.entries(probes)) pod.spec.containers[index][FIELD[kind as Kind]] = probe;
}

export function setStatus(pod: Json, status: object): void {
  pod.metadata.annotations ??= {};
  pod.metadata.annotations[STATUS] = JSON.stringify(status);
}

export function expected(pod: Json, change: (pod: Json) => void): Json {
  const copy = structuredClone(pod);
  change(copy);
  return copy;
}
