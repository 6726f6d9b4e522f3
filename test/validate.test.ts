import { describe, expect, it } from '@jest/globals';
import { isRejection, type AdmissionAnswer } from '../src/admission/admit.js';
import { validate } from '../src/admission/validate.js';
import { makeInjectionConfig, type ConfigInput } from '../src/core/config.js';
import { on, P } from './support/expect.js';
import { basePod, reviewOf } from './support/fixture.js';
import { clone } from './support/pod.js';

/** A workload whose pod template is the fixture's pod with these annotations. */
function workload(kind: 'Deployment' | 'CronJob', annotations: Record<string, string>, change: (template: any) => void = () => {}): any {
  const pod = basePod(annotations);
  const template = { metadata: { labels: { app: 'orders' }, annotations: pod.metadata.annotations }, spec: pod.spec };
  change(template);
  if (kind === 'CronJob') {
    return { apiVersion: 'batch/v1', kind, metadata: { name: 'nightly', namespace: 'shop' }, spec: { schedule: '0 1 * * *', jobTemplate: { spec: { template } } } };
  }
  return { apiVersion: 'apps/v1', kind, metadata: { name: 'orders', namespace: 'shop', annotations: { 'deployment.kubernetes.io/revision': '1' } }, spec: { replicas: 2, template } };
}

const RESOURCES = {
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
} as const;

function review(object: any, request: Record<string, unknown> = {}): any {
  const kind = object?.kind === 'CronJob' ? 'CronJob' : 'Deployment';
  return reviewOf(object, { resource: RESOURCES[kind], kind: { ...RESOURCES[kind], kind }, name: object?.metadata?.name, namespace: 'shop', operation: 'CREATE', ...request });
}

function answer(body: unknown, config: ConfigInput = {}): AdmissionAnswer {
  const result = validate(body, makeInjectionConfig(config));
  if (isRejection(result)) throw new Error(`rejected: ${result.error}`);
  expect(result.review.response.patch).toBeUndefined(); // never a patch: templates are not rewritten
  expect(result.review.response.patchType).toBeUndefined();
  return result;
}

describe('POST /validate: workload templates at kubectl apply (SPEC §9)', () => {
  it('a Deployment with a typo is denied with the pod denial plus the template path', () => {
    const result = answer(review(workload('Deployment', on({ 'readines-path': '/r' }))));
    expect(result.outcome).toBe('denied');
    expect(result.review.response).toMatchObject({ allowed: false, status: { code: 400 } });
    expect(result.review.response.status?.message).toBe(
      `probe-injector: 1 problem with the pod's annotations (in spec.template): ${P}readines-path: unknown annotation; did you mean ${P}readiness-path?`,
    );
    expect(result.review.response.auditAnnotations).toEqual({ outcome: 'denied' });
  });

  it("a CronJob's template is spec.jobTemplate.spec.template", () => {
    const result = answer(review(workload('CronJob', on({ port: '0' }))));
    expect(result.review.response.status?.message).toContain('(in spec.jobTemplate.spec.template): ');
    expect(result.review.response.status?.message).toContain(`${P}port="0"`);
  });

  it('a batch/v1beta1 CronJob (the only one before Kubernetes 1.21) is checked too', () => {
    const body = review(workload('CronJob', on({ port: '0' })), { resource: { group: 'batch', version: 'v1beta1', resource: 'cronjobs' } });
    expect(answer(body).outcome).toBe('denied');
  });

  it('a valid template is allowed, with what the user should know as warnings and the audit annotations', () => {
    const result = answer(review(workload('Deployment', on({ 'nacos-deregister': 'true' }))));
    expect(result.outcome).toBe('patched');
    expect(result.review.response.allowed).toBe(true);
    expect(result.review.response.warnings).toEqual(['probe-injector: raised terminationGracePeriodSeconds from 30 to 48 (preStop: 3s call + 35s wait, then 10s shutdown)']);
    expect(result.review.response.auditAnnotations).toEqual({ outcome: 'patched', injected: 'app=startupProbe+readinessProbe+livenessProbe+preStop;terminationGracePeriodSeconds=48' });
  });

  it('a valid template with nothing worth saying: allowed, no warnings', () => {
    expect(answer(review(workload('Deployment', on()))).review.response).toEqual({ uid: expect.any(String), allowed: true, auditAnnotations: expect.any(Object) });
  });

  it('a template that is not opted in but carries a misspelt key: allowed, with a warning', () => {
    const result = answer(review(workload('Deployment', { [`${P}injcet`]: 'true' })));
    expect(result.review.response.allowed).toBe(true);
    expect(result.review.response.warnings).toEqual([expect.stringContaining(`unknown annotation ${P}injcet; did you mean ${P}inject?`)]);
  });

  it('errorPolicy warn: allowed, the problems as warnings', () => {
    const result = answer(review(workload('Deployment', on({ port: '0' }))), { errorPolicy: 'warn' });
    expect(result.review.response.allowed).toBe(true);
    expect(result.review.response.warnings).toEqual([expect.stringContaining(`${P}port="0"`)]);
  });

  describe('UPDATE', () => {
    const old = workload('Deployment', on({ 'readines-path': '/r' }));

    it('unchanged template annotations and containers (scale, relabel, annotate): allowed, the problems as warnings', () => {
      const updated = clone(old);
      updated.spec.replicas = 5;
      updated.metadata.labels = { team: 'shop' };
      updated.spec.template.metadata.labels = { app: 'orders', version: '2' };
      const result = answer(review(updated, { operation: 'UPDATE', oldObject: old }));
      expect(result.review.response.allowed).toBe(true);
      expect(result.review.response.warnings).toEqual([`probe-injector: ${P}readines-path: unknown annotation; did you mean ${P}readiness-path?`]);
    });

    it('a new image would roll out pods the pod webhook refuses: denied, with the same message', () => {
      const updated = clone(old);
      updated.spec.template.spec.containers[0].image = 'registry.example.com/orders:2.0';
      const result = answer(review(updated, { operation: 'UPDATE', oldObject: old }));
      expect(result.outcome).toBe('denied');
      expect(result.review.response.status?.message).toContain('(in spec.template)');
    });

    it('a changed annotation that is still wrong: denied', () => {
      const updated = clone(old);
      updated.spec.template.metadata.annotations[`${P}readines-path`] = '/ready';
      expect(answer(review(updated, { operation: 'UPDATE', oldObject: old })).outcome).toBe('denied');
    });
  });

  describe('scope: like /mutate, everything else is allowed untouched', () => {
    const typo = workload('Deployment', on({ 'readines-path': '/r' }));
    it.each([
      ['the scale subresource', { subResource: 'scale' }],
      ['DELETE', { operation: 'DELETE', object: null, oldObject: typo }],
      ['CONNECT', { operation: 'CONNECT' }],
      ['another resource (configmaps)', { resource: { group: '', version: 'v1', resource: 'configmaps' } }],
      ['another version (apps/v1beta2)', { resource: { group: 'apps', version: 'v1beta2', resource: 'deployments' } }],
      ['pods (the mutating endpoint is for them)', { resource: { group: '', version: 'v1', resource: 'pods' } }],
    ])('%s', (_name, request) => {
      const result = answer(review(typo, request));
      expect(result.outcome).toBe('skipped');
      expect(result.review.response).toEqual({ uid: expect.any(String), allowed: true });
    });

    it('a template that is not shaped like a pod: allowed (the API server validates workloads itself)', () => {
      const broken = workload('Deployment', on({ port: '0' }), (template) => (template.spec = { containers: 'nope' }));
      expect(answer(review(broken)).outcome).toBe('skipped');
    });
  });

  it('malformed requests are rejected (HTTP 400 at the edge)', () => {
    expect(isRejection(validate({ kind: 'AdmissionReview' }, makeInjectionConfig()))).toBe(true);
    expect(isRejection(validate(review(null), makeInjectionConfig()))).toBe(true);
  });
});
