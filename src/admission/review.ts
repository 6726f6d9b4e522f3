import * as v from 'valibot';
import { bounded } from '../core/text.js';

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
  oldObject: v.nullish(v.unknown()),
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
  /** Recorded in the API server's audit log under `<webhook name>/<key>`. */
  readonly auditAnnotations?: Readonly<Record<string, string>>;
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

/** Allowed with a patch (its JSON); with none it is just `allowed` (the patch is omitted). */
export function patched(uid: string, patchJson: string, warnings: readonly string[] = []): AdmissionResponse {
  if (patchJson === '' || patchJson === '[]') return allowed(uid, warnings);
  return { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(patchJson).toString('base64'), ...withWarnings(warnings) };
}

export function denied(uid: string, message: string, code = 400): AdmissionResponse {
  return { uid, allowed: false, status: { code, message } };
}

/**
 * The webhook failed on a well-formed request (a bug): admit the pod unchanged and say so, as
 * `failurePolicy: Ignore` would — an optional injector must not block workloads.
 */
export function errored(uid: string, message: string): AdmissionResponse {
  return allowed(uid, [bounded(`probe-injector: internal error, admitted unchanged: ${message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')}`, 200)]);
}

/** The same answer, with audit annotations (SPEC §9: both endpoints record what they did). */
export function withAudit(response: AdmissionResponse, annotations: Readonly<Record<string, string>>): AdmissionResponse {
  return Object.keys(annotations).length === 0 ? response : { ...response, auditAnnotations: annotations };
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

function withWarnings(warnings: readonly string[]): { warnings?: readonly string[] } {
  return warnings.length > 0 ? { warnings } : {};
}
