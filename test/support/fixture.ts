import { readFileSync } from 'node:fs';
import { clone, type Pod } from './pod.js';

/** The shape of a real request: an AdmissionReview exactly as kube-apiserver v1.20.2 sent it. */
export const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/admission/admissionreview-v1-pod-create.json', import.meta.url), 'utf8'));

/** The fixture's pod, as kube-apiserver defaulted it, with a named TCP port and the given annotations. */
export function basePod(annotations: Record<string, string> = {}, changes: (pod: Pod) => void = () => {}): Pod {
  const pod = clone(FIXTURE.request.object);
  pod.metadata.name = 'app';
  pod.metadata.annotations = annotations;
  pod.spec.containers[0].name = 'app';
  pod.spec.containers[0].ports = [{ name: 'http', containerPort: 8080, protocol: 'TCP' }];
  changes(pod);
  return pod;
}

/** The fixture's AdmissionReview around `pod`, with request fields overridden. */
export function reviewOf(pod: unknown, request: Record<string, unknown> = {}): Record<string, any> {
  const review = clone(FIXTURE);
  review.request.object = pod;
  Object.assign(review.request, request);
  return review;
}
