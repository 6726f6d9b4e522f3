import type { V1Probe } from '@kubernetes/client-node';
import * as v from 'valibot';
import type { ProbeKind } from './annotation-keys.js';
import { SCHEMES } from './profile.js';
import { INT32_MAX, isHttpPath, isPortName } from './values.js';

/**
 * The `{probe}-probe` annotation: a core/v1 Probe as JSON, used verbatim after the checks
 * kube-apiserver would make (SPEC §3, §4). Container-dependent checks (port names) come later.
 */
const int32 = (min: number) =>
  v.pipe(v.number(), v.integer(), v.minValue(min, `must be an integer from ${min} to ${INT32_MAX}`), v.maxValue(INT32_MAX, `must be at most ${INT32_MAX}`));
const Port = v.union(
  [
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
    v.pipe(v.string(), v.check(isPortName, 'a port name must be a valid IANA service name')),
  ],
  'must be a port number from 1 to 65535 or a port name',
);
const HeaderName = v.pipe(v.string(), v.regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be an HTTP header name'));

const ProbeSchema = v.strictObject({
  exec: v.optional(v.strictObject({ command: v.pipe(v.array(v.string()), v.minLength(1, 'must not be empty')) })),
  httpGet: v.optional(
    v.strictObject({
      path: v.pipe(v.string(), v.check(isHttpPath, 'must be an absolute HTTP path')),
      port: Port,
      host: v.optional(v.string()),
      scheme: v.optional(v.picklist(SCHEMES, 'must be "HTTP" or "HTTPS"')),
      httpHeaders: v.optional(v.array(v.strictObject({ name: HeaderName, value: v.string() }))),
    }),
  ),
  tcpSocket: v.optional(v.strictObject({ port: Port, host: v.optional(v.string()) })),
  grpc: v.optional(v.strictObject({ port: Port, service: v.optional(v.string()) })),
  initialDelaySeconds: v.optional(int32(0)),
  periodSeconds: v.optional(int32(1)),
  timeoutSeconds: v.optional(int32(1)),
  successThreshold: v.optional(int32(1)),
  failureThreshold: v.optional(int32(1)),
  terminationGracePeriodSeconds: v.optional(int32(1)),
});

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

/** Returns the validated probe, or the reasons it is refused. */
export function parseProbeOverride(kind: ProbeKind, parsedJson: unknown): V1Probe | string[] {
  const result = v.safeParse(ProbeSchema, parsedJson);
  if (!result.success) {
    return result.issues.slice(0, 5).map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path} ${issue.message}` : issue.message;
    });
  }
  const probe = result.output;
  const reasons: string[] = [];
  const handlers = HANDLERS.filter((handler) => probe[handler] !== undefined);
  if (handlers.length !== 1) {
    reasons.push(`must have exactly one handler of ${HANDLERS.join(', ')} (has ${handlers.length})`);
  }
  if (kind !== 'readiness' && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    reasons.push(`successThreshold must be 1 for a ${kind} probe`);
  }
  if (kind === 'readiness' && probe.terminationGracePeriodSeconds !== undefined) {
    reasons.push('terminationGracePeriodSeconds is not allowed on a readiness probe');
  }
  return reasons.length > 0 ? reasons : (probe as V1Probe);
}
