/**
 * What SPEC promises, for the e2e cases: the unit tests' expectations (test/support/expect.ts,
 * which loads no fixture), plus pods as a user writes them.
 */
import type { Json } from './kube.js';

export { ALL_PROBES, FIELD, P, TIMINGS, exec, execHook, expected, grpc, http, on, setProbes, setStatus, tcp, type Kind } from '../../support/expect.js';
import { P } from '../../support/expect.js';

export const STATUS = `${P}status`;

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
