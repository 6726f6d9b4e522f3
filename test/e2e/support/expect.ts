/**
 * What SPEC promises, for the e2e cases: the unit tests' expectations (test/support/expect.ts,
 * which loads no fixture), plus pods as a user writes them.
 */
import type { Json } from './kube.js';
import { FIELD, type Kind } from '../../support/expect.js';

export { ALL_PROBES, FIELD, TIMINGS, exec, execHook, expected, grpc, http, tcp, type Kind } from '../../support/expect.js';

export const P = 'probe-injector.io/';
export const STATUS = `${P}status`;

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
