import * as v from 'valibot';
import type { PatchOperation } from './patch.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** The part of an `admission.k8s.io/v1` AdmissionReview request the webhook reads. */
const GroupVersionResource = v.looseObject({ group: v.string(), version: v.string(), resource: v.string() });
export const AdmissionRequestSchema = v.looseObject({
  uid: v.pipe(v.string(), v.minLength(1, 'must be a non-empty string')),
  resource: GroupVersionResource,
  subResource: v.nullish(v.string()),
  operation: v.string(),
  namespace: v.nullish(v.string()),
  name: v.nullish(v.string()),
  dryRun: v.nullish(v.boolean()),
  object: v.nullish(v.unknown()),
});
export const AdmissionReviewSchema = v.looseObject({
  apiVersion: v.literal(ADMISSION_API_VERSION),
  kind: v.literal('AdmissionReview'),
  request: AdmissionRequestSchema,
});
export type AdmissionRequest = v.InferInput<typeof AdmissionRequestSchema>;

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

// One constructor per kind of answer, as controller-runtime's response.go does.

export function allowed(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return { uid, allowed: true, ...withWarnings(warnings) };
}

/** Allowed with a patch; with no operations it is just `allowed` (the patch is omitted). */
export function patched(uid: string, operations: readonly PatchOperation[], warnings: readonly string[] = []): AdmissionResponse {
  if (operations.length === 0) return allowed(uid, warnings);
  return {
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(operations)).toString('base64'),
    ...withWarnings(warnings),
  };
}

export function denied(uid: string, message: string, code = 400): AdmissionResponse {
  return { uid, allowed: false, status: { code, message } };
}

/**
 * The webhook failed on a well-formed request (a bug): admit the pod unchanged and say so, as
 * `failurePolicy: Ignore` would — an optional injector must not block workloads.
 */
export function errored(uid: string, message: string): AdmissionResponse {
  return allowed(uid, [`probe-injector: internal error, pod admitted unchanged: ${message}`.slice(0, 200)]);
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

function withWarnings(warnings: readonly string[]): { warnings?: readonly string[] } {
  return warnings.length > 0 ? { warnings } : {};
}
