import * as v from 'valibot';
import {
  ADMISSION_API_VERSION,
  AdmissionReviewSchema,
  denied,
  errored,
  patched,
  reviewResponse,
  allowed,
  type AdmissionRequest,
  type AdmissionReviewResponse,
} from './admission-review.js';
import type { InjectionConfig } from './config.js';
import { mutatePod, type Mutation, type Outcome } from './mutation.js';
import { isPod, podDisplayName, podIssues, describeIssue } from './pod.js';
import { formatDenial } from './problem.js';

export type AdmissionOutcome = Outcome | 'error';

/** A well-formed request, answered with an AdmissionReview (HTTP 200). */
export interface AdmissionAnswer {
  readonly review: AdmissionReviewResponse;
  readonly outcome: AdmissionOutcome;
  readonly uid: string;
  readonly namespace?: string | undefined;
  readonly pod?: string | undefined;
  readonly operations: number;
  /** What was injected, by kind (`readinessProbe`, `preStop`, `readinessGate`, …): for metrics. */
  readonly injected?: Readonly<Record<string, number>> | undefined;
  /** Set for `error`: the failure, for the log only (never sent to the caller). */
  readonly cause?: unknown;
}

/** A malformed request, answered with HTTP 400 and a JSON error. */
export interface AdmissionRejection {
  readonly error: string;
  readonly details: readonly string[];
}

/**
 * The whole webhook minus HTTP: a parsed JSON body in, an answer out. Never throws.
 * Only `CREATE` of `pods` (no subresource) is in scope; everything else is allowed untouched.
 */
export function admit(body: unknown, config: InjectionConfig): AdmissionAnswer | AdmissionRejection {
  if (!v.is(AdmissionReviewSchema, body)) return reject(body);
  const request = body.request;
  const { uid } = request;
  const namespace = request.namespace ?? undefined;
  if (!inScope(request)) {
    return { review: reviewResponse(allowed(uid)), outcome: 'skipped', uid, namespace, operations: 0 };
  }
  if (request.object == null) {
    return { error: 'request.object is required for a pod CREATE', details: [] };
  }
  if (!isPod(request.object)) {
    return { error: 'request.object is not a Pod', details: podIssues(request.object).map((issue) => `request.object.${issue}`) };
  }
  const pod = request.object;
  const name = podDisplayName(pod);
  try {
    const mutation = mutatePod(pod, config);
    const response =
      mutation.outcome === 'denied'
        ? denied(uid, formatDenial(mutation.problems))
        : patched(uid, mutation.patch, mutation.warnings);
    return {
      review: reviewResponse(response),
      outcome: mutation.outcome,
      uid,
      namespace,
      pod: name,
      operations: mutation.patch.length,
      injected: mutation.outcome === 'patched' ? countInjected(mutation) : undefined,
    };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return { review: reviewResponse(errored(uid, message)), outcome: 'error', uid, namespace, pod: name, operations: 0, cause };
  }
}

function countInjected(mutation: Mutation): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (kind: string, n = 1) => void (counts[kind] = (counts[kind] ?? 0) + n);
  for (const container of mutation.containers) for (const item of container.added) add(item);
  if (mutation.readinessGates.length > 0) add('readinessGate', mutation.readinessGates.length);
  if (mutation.grace) add('terminationGracePeriodSeconds');
  return counts;
}

export function isRejection(answer: AdmissionAnswer | AdmissionRejection): answer is AdmissionRejection {
  return 'error' in answer;
}

function inScope(request: AdmissionRequest): boolean {
  const { resource } = request;
  return (
    resource.group === '' &&
    resource.version === 'v1' &&
    resource.resource === 'pods' &&
    request.operation === 'CREATE' &&
    !request.subResource
  );
}

function reject(body: unknown): AdmissionRejection {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'expected an AdmissionReview JSON object', details: [] };
  }
  const record = body as Record<string, unknown>;
  if (record['kind'] === 'AdmissionReview' && record['apiVersion'] !== ADMISSION_API_VERSION) {
    return {
      error: `unsupported AdmissionReview version ${JSON.stringify(String(record['apiVersion']).slice(0, 60))}: only ${ADMISSION_API_VERSION} is served (set admissionReviewVersions: [v1])`,
      details: [],
    };
  }
  const result = v.safeParse(AdmissionReviewSchema, body);
  const details = result.success ? [] : result.issues.slice(0, 10).map(describeIssue);
  const first = details[0] === undefined ? '' : ` (${details[0]})`;
  return { error: `expected an ${ADMISSION_API_VERSION} AdmissionReview with a request${first}`, details };
}
