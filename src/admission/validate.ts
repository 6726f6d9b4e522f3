import * as v from 'valibot';
import type { InjectionConfig } from '../core/config.js';
import { isRecord, jsonEqual } from '../core/json.js';
import { mutatePod } from '../core/mutation.js';
import { memoizedMutatePod } from './memo.js';
import { isPod } from '../core/pod.js';
import { formatDenial, warningTexts } from '../messages.js';
import { answerOf, erroredAnswer, rejectBody, type AdmissionAnswer, type AdmissionRejection } from './admit.js';
import { AdmissionReviewSchema, allowed, denied, reviewResponse, type AdmissionRequest } from './review.js';

/**
 * `POST /validate` (SPEC §9): workload templates checked at `kubectl apply` with the same core as
 * the pods they will create, so a typo is refused where the user sees it, not as ReplicaSet events.
 * It never patches: templates are not rewritten, so GitOps tools see no drift.
 */

/** Where each workload keeps its pod template, by API group and resource. */
export const WORKLOAD_TEMPLATES: Readonly<Record<string, { readonly versions: readonly string[]; readonly path: readonly string[] }>> = {
  'apps/deployments': { versions: ['v1'], path: ['spec', 'template'] },
  'apps/statefulsets': { versions: ['v1'], path: ['spec', 'template'] },
  'apps/daemonsets': { versions: ['v1'], path: ['spec', 'template'] },
  'apps/replicasets': { versions: ['v1'], path: ['spec', 'template'] },
  'batch/jobs': { versions: ['v1'], path: ['spec', 'template'] },
  // batch/v1beta1 is the only CronJob before Kubernetes 1.21.
  'batch/cronjobs': { versions: ['v1', 'v1beta1'], path: ['spec', 'jobTemplate', 'spec', 'template'] },
  '/replicationcontrollers': { versions: ['v1'], path: ['spec', 'template'] },
};

function templatePathOf(request: AdmissionRequest): readonly string[] | undefined {
  const { group, version, resource } = request.resource;
  const entry = WORKLOAD_TEMPLATES[`${group}/${resource}`];
  return entry?.versions.includes(version) ? entry.path : undefined;
}

function at(object: unknown, path: readonly string[]): unknown {
  let value = object;
  for (const key of path) value = isRecord(value) ? value[key] : undefined;
  return value;
}

/** The pod a template stands for, as the webhook will see it (the template's metadata and spec). */
function podOf(template: unknown): unknown {
  return isRecord(template) ? { metadata: template['metadata'] ?? {}, spec: template['spec'] } : undefined;
}

/** What decides whether a template's pods could change: its annotations and its containers. */
function podSignature(template: unknown): unknown {
  const metadata = isRecord(template) ? template['metadata'] : undefined;
  const spec = isRecord(template) ? template['spec'] : undefined;
  return {
    annotations: isRecord(metadata) ? (metadata['annotations'] ?? {}) : {},
    containers: isRecord(spec) ? spec['containers'] : undefined,
    initContainers: isRecord(spec) ? (spec['initContainers'] ?? []) : [],
  };
}

/** The whole validating webhook minus HTTP. Never throws. */
export function validate(body: unknown, config: InjectionConfig): AdmissionAnswer | AdmissionRejection {
  if (!v.is(AdmissionReviewSchema, body)) return rejectBody(body);
  const request = body.request;
  const { uid } = request;
  const namespace = request.namespace ?? undefined;
  const skip = (reason: string): AdmissionAnswer => ({ review: reviewResponse(allowed(uid)), outcome: 'skipped', reason, uid, namespace, operations: 0 });
  const path = templatePathOf(request);
  if (path === undefined || request.subResource || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return skip('out of scope');
  if (request.object == null) return { error: `request.object is required for a workload ${request.operation}`, details: [] };
  const where = path.join('.');
  const name = `${request.resource.resource}/${request.name ?? '(unnamed)'}`;
  const pod = podOf(at(request.object, path));
  if (!isPod(pod)) return skip(`${where} is not a pod template`); // the API server validates workloads itself
  try {
    let mutation = memoizedMutatePod(pod, config);
    // Relabelling, annotating or scaling a workload created before the webhook is never blocked:
    // only a change to what its pods would be (annotations, containers) is refused. Such an UPDATE
    // is answered as `errorPolicy: warn` answers: allowed, the problems as warnings.
    if (mutation.outcome === 'denied' && request.operation === 'UPDATE' && request.oldObject != null) {
      if (jsonEqual(podSignature(at(request.oldObject, path)), podSignature(at(request.object, path)))) mutation = mutatePod(pod, { ...config, errorPolicy: 'warn' });
    }
    const response = mutation.outcome === 'denied' ? denied(uid, formatDenial(mutation.problems, where)) : allowed(uid, warningTexts(mutation.warnings));
    return answerOf(mutation, response, { uid, namespace, pod: name });
  } catch (cause) {
    return erroredAnswer(cause, { uid, namespace, pod: name });
  }
}
