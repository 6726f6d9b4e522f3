import * as v from 'valibot';
import type { InjectionConfig } from '../core/config.js';
import type { Mutation, Outcome } from '../core/mutation.js';
import { memoizedMutatePod } from './memo.js';
import { isPod, podDisplayName, podIssues } from '../core/pod.js';
import { issueText } from '../core/schema.js';
import { bounded } from '../core/text.js';
import { formatDenial, formatWarning, warningTexts } from '../messages.js';
import {
  ADMISSION_API_VERSION,
  AdmissionReviewSchema,
  allowed,
  denied,
  errored,
  patched,
  reviewResponse,
  withAudit,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewResponse,
} from './review.js';

export type AdmissionOutcome = Outcome | 'error';

/** A well-formed request, answered with an AdmissionReview (HTTP 200). */
export interface AdmissionAnswer {
  readonly review: AdmissionReviewResponse;
  readonly outcome: AdmissionOutcome;
  /** Why, in a few words, for the log line (`not opted in …; unknown annotation …`). */
  readonly reason: string;
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
 * The whole pod webhook minus HTTP: a parsed JSON body in, an answer out. Never throws.
 * Only `CREATE` of `pods` (no subresource) is in scope; everything else is allowed untouched.
 */
export function admit(body: unknown, config: InjectionConfig): AdmissionAnswer | AdmissionRejection {
  if (!v.is(AdmissionReviewSchema, body)) return rejectBody(body);
  const request = body.request;
  const { uid } = request;
  const namespace = request.namespace ?? undefined;
  if (!inScope(request)) {
    return { review: reviewResponse(allowed(uid)), outcome: 'skipped', reason: 'out of scope', uid, namespace, operations: 0 };
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
    const mutation = memoizedMutatePod(pod, config);
    const response =
      mutation.outcome === 'denied' ? denied(uid, formatDenial(mutation.problems)) : patched(uid, mutation.patchJson, warningTexts(mutation.warnings));
    return {
      ...answerOf(mutation, response, { uid, namespace, pod: name }),
      operations: mutation.patch.length,
      injected: mutation.outcome === 'patched' ? countInjected(mutation) : undefined,
    };
  } catch (cause) {
    return erroredAnswer(cause, { uid, namespace, pod: name });
  }
}

/** Who an answer is for: the request's uid and, for the log line, its namespace and object. */
export interface Subject {
  readonly uid: string;
  readonly namespace: string | undefined;
  readonly pod: string;
}

/** The answer to a mutation the core made, for `/mutate` and `/validate` alike: the audit annotations, outcome and reason. */
export function answerOf(mutation: Mutation, response: AdmissionResponse, subject: Subject): AdmissionAnswer {
  return { review: reviewResponse(withAudit(response, auditAnnotations(mutation))), outcome: mutation.outcome, reason: reasonOf(mutation), ...subject, operations: 0 };
}

/** The core threw (a bug): allowed or not by the webhook's failurePolicy, the cause kept for the log only. */
export function erroredAnswer(cause: unknown, subject: Subject): AdmissionAnswer {
  const message = cause instanceof Error ? cause.message : String(cause);
  return { review: reviewResponse(errored(subject.uid, message)), outcome: 'error', reason: 'internal error', ...subject, operations: 0, cause };
}

/** The reason, and for a pod that was not opted in, the misspelt key that is the likely cause. */
export function reasonOf(mutation: Mutation): string {
  const unknown = mutation.outcome === 'skipped' ? mutation.warnings.find((warning) => warning.kind === 'unknown-key') : undefined;
  return unknown ? bounded(`${mutation.reason}; ${formatWarning(unknown)}`, 300) : mutation.reason;
}

/**
 * `auditAnnotations` (recorded as `<webhook>/outcome`, `<webhook>/injected` in the audit log):
 * short keys, values within a bound, so the API server's limits are never reached.
 */
export function auditAnnotations(mutation: Mutation): Record<string, string> {
  const annotations: Record<string, string> = { outcome: mutation.outcome };
  if (mutation.outcome !== 'patched') return annotations;
  const parts = mutation.containers.filter((c) => c.added.length > 0).map((c) => `${c.name}=${c.added.join('+')}`);
  if (mutation.readinessGates.length > 0) parts.push(`readinessGates=${mutation.readinessGates.join('+')}`);
  if (mutation.labels.length > 0) parts.push(`labels=${mutation.labels.join('+')}`);
  if (mutation.grace) parts.push(`terminationGracePeriodSeconds=${mutation.grace.to}`);
  annotations['injected'] = bounded(parts.join(';'), 1024);
  return annotations;
}

function countInjected(mutation: Mutation): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (kind: string, n = 1) => void (counts[kind] = (counts[kind] ?? 0) + n);
  for (const container of mutation.containers) for (const item of container.added) add(item);
  if (mutation.readinessGates.length > 0) add('readinessGate', mutation.readinessGates.length);
  if (mutation.labels.length > 0) add('label', mutation.labels.length);
  if (mutation.grace) add('terminationGracePeriodSeconds');
  return counts;
}

export function isRejection(answer: AdmissionAnswer | AdmissionRejection): answer is AdmissionRejection {
  return 'error' in answer;
}

function inScope(request: AdmissionRequest): boolean {
  const { resource } = request;
  return resource.group === '' && resource.version === 'v1' && resource.resource === 'pods' && request.operation === 'CREATE' && !request.subResource;
}

/** Why a body is not an AdmissionReview v1 with a request. */
export function rejectBody(body: unknown): AdmissionRejection {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'expected an AdmissionReview JSON object', details: [] };
  }
  const apiVersion: unknown = Reflect.get(body, 'apiVersion');
  if (Reflect.get(body, 'kind') === 'AdmissionReview' && apiVersion !== ADMISSION_API_VERSION) {
    return {
      error: `unsupported AdmissionReview version ${JSON.stringify(String(apiVersion).slice(0, 60))}: only ${ADMISSION_API_VERSION} is served (set admissionReviewVersions: [v1])`,
      details: [],
    };
  }
  const result = v.safeParse(AdmissionReviewSchema, body);
  const details = result.success ? [] : result.issues.slice(0, 10).map((issue) => issueText(issue));
  const first = details[0] === undefined ? '' : ` (${details[0]})`;
  return { error: `expected an ${ADMISSION_API_VERSION} AdmissionReview with a request${first}`, details };
}
