import * as v from 'valibot';
import type { ProbeKind } from './annotation-keys.js';
import { annotationProblem, type Problems } from './problems.js';
import { closedObject, httpPath, integer, issueText, portRef } from './schema.js';
import { SCHEMES } from './settings.js';

/**
 * The `{probe}-probe` annotation: a core/v1 Probe as JSON, used verbatim after the checks
 * kube-apiserver would make (SPEC §3, §4). Container-dependent checks (port names, the gRPC port's
 * number) and the version check for gRPC come later, per container.
 */
const HeaderName = v.pipe(v.string(), v.regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be an HTTP header name'));

const ProbeSchema = closedObject({
  exec: v.optional(closedObject({ command: v.pipe(v.array(v.string()), v.minLength(1, 'must not be empty')) })),
  httpGet: v.optional(
    closedObject({
      path: httpPath,
      port: portRef,
      host: v.optional(v.string()),
      scheme: v.optional(v.picklist(SCHEMES, 'must be "HTTP" or "HTTPS"')),
      httpHeaders: v.optional(v.array(closedObject({ name: HeaderName, value: v.string() }))),
    }),
  ),
  tcpSocket: v.optional(closedObject({ port: portRef, host: v.optional(v.string()) })),
  grpc: v.optional(closedObject({ port: portRef, service: v.optional(v.string()) })),
  initialDelaySeconds: v.optional(integer(0)),
  periodSeconds: v.optional(integer(1)),
  timeoutSeconds: v.optional(integer(1)),
  successThreshold: v.optional(integer(1)),
  failureThreshold: v.optional(integer(1)),
  terminationGracePeriodSeconds: v.optional(integer(1)),
});

/** A verbatim probe as the annotation gives it; a gRPC port may still be a name (resolved per container). */
export type ProbeOverride = v.InferOutput<typeof ProbeSchema>;

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

/** The validated probe, or `undefined` with every reason it is refused in the collector (one problem). */
export function parseProbeOverride(kind: ProbeKind, key: string, text: string, json: unknown, problems: Problems): ProbeOverride | undefined {
  const result = v.safeParse(ProbeSchema, json);
  const reasons = result.success ? [] : result.issues.slice(0, 5).map((issue) => issueText(issue, ' '));
  if (result.success) {
    const probe = result.output;
    const handlers = HANDLERS.filter((handler) => probe[handler] !== undefined);
    if (handlers.length !== 1) reasons.push(`must have exactly one handler of ${HANDLERS.join(', ')} (has ${handlers.length})`);
    if (kind !== 'readiness' && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
      reasons.push(`successThreshold must be 1 for a ${kind} probe`);
    }
    if (kind === 'readiness' && probe.terminationGracePeriodSeconds !== undefined) {
      reasons.push('terminationGracePeriodSeconds is not allowed on a readiness probe');
    }
    if (reasons.length === 0) return probe;
  }
  problems.push(annotationProblem(key, text, `expected a valid core/v1 Probe: ${reasons.join('; ')}`));
  return undefined;
}
