import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ALL_PROBES, execHook, http } from './support/expect.js';
import { admit, basePod, clone, reviewOf, startTestWebhook, type TestWebhook } from './support/webhook.js';

const P = 'probe-injector.io/';
const optedIn = () => basePod({ [`${P}inject`]: 'true', [`${P}readiness-gates`]: 'example.com/ready' });

describe('scope, dry-run and reinvocation', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  it.each([
    ['UPDATE of a pod', { operation: 'UPDATE', oldObject: optedIn() }],
    ['DELETE of a pod (object: null)', { operation: 'DELETE', object: null, oldObject: optedIn() }],
    ['CONNECT (exec into a pod)', { operation: 'CONNECT', subResource: 'exec', object: { kind: 'PodExecOptions' } }],
    ['a subresource: pods/ephemeralcontainers', { operation: 'CREATE', subResource: 'ephemeralcontainers' }],
    ['a subresource: pods/binding', { operation: 'CREATE', subResource: 'binding', object: { kind: 'Binding' } }],
    ['another resource: deployments', { resource: { group: 'apps', version: 'v1', resource: 'deployments' }, object: { kind: 'Deployment' } }],
    ['another group with resource "pods"', { resource: { group: 'metrics.k8s.io', version: 'v1beta1', resource: 'pods' } }],
  ])('%s is allowed untouched', async (_name, request) => {
    const review = reviewOf(optedIn(), request);
    const result = await hook.post(review);
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
  });

  it('dry-run is handled exactly like a real request', async () => {
    const real = await admit(hook, optedIn());
    const dry = await admit(hook, optedIn(), { dryRun: true });
    expect(dry.patch).toEqual(real.patch);
    expect(dry.patch.length).toBeGreaterThan(0);
  });

  it('the namespace comes from the request; the pod needs neither name nor namespace', async () => {
    const pod = optedIn();
    delete pod.metadata.name;
    delete pod.metadata.namespace;
    const { patch } = await admit(hook, pod, { name: '', namespace: 'team-a' });
    expect(patch.length).toBeGreaterThan(0);
    const line = hook.logs.filter((l) => l.message === 'admission').at(-1);
    expect(line?.fields).toMatchObject({ namespace: 'team-a', outcome: 'patched', operations: patch.length });
  });

  it('reinvocation after another webhook inserted a container at index 0: targets stay put, no patch', async () => {
    const first = await admit(hook, optedIn());
    const reinvoked = clone(first.pod);
    reinvoked.spec.containers.unshift({ name: 'istio-proxy', image: 'proxy', ports: [{ containerPort: 15001 }] });
    const again = await admit(hook, reinvoked);
    expect(again.patch).toEqual([]);
    expect(again.warnings).toEqual([]);
  });

  it('reinvocation after another webhook removed a probe we added: only that one is added back, status merged', async () => {
    const first = await admit(hook, optedIn());
    const changed = clone(first.pod);
    delete changed.spec.containers[0].livenessProbe;
    const again = await admit(hook, changed);
    expect(again.patch.map((op: any) => `${op.op} ${op.path}`)).toEqual(['add /spec/containers/0/livenessProbe', `add /metadata/annotations/probe-injector.io~1status`]);
    expect(again.pod).toEqual(first.pod);
  });

  it('SPEC "Done when": spring-boot + Nacos hook + gate, then the patched pod again yields no patch', async () => {
    const pod = basePod({
      [`${P}inject`]: 'true',
      [`${P}profile`]: 'spring-boot',
      [`${P}nacos-deregister`]: 'true',
      [`${P}readiness-gates`]: 'nacos.io/registered',
      [`${P}nacos-service`]: 'orders',
    });
    const { pod: stored, response } = await admit(hook, pod);
    const app = stored.spec.containers[0];
    expect(app.startupProbe).toEqual(http('startup', '/actuator/health/liveness'));
    expect(app.readinessProbe).toEqual(http('readiness', '/actuator/health/readiness'));
    expect(app.livenessProbe).toEqual(http('liveness', '/actuator/health/liveness'));
    expect(app.lifecycle).toEqual({ preStop: execHook(8080) });
    expect(stored.spec.readinessGates).toEqual([{ conditionType: 'nacos.io/registered' }]);
    expect(stored.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(48);
    expect(stored.metadata.labels[`${P}nacos-gate`]).toBe('true');
    expect(JSON.parse(stored.metadata.annotations[`${P}status`])).toEqual({
      containers: { app: [...ALL_PROBES, 'preStop'] },
      readinessGates: ['nacos.io/registered'],
      labels: [`${P}nacos-gate`],
      terminationGracePeriodSeconds: 48,
    });
    expect(response.warnings).toHaveLength(1);
    const again = await admit(hook, stored);
    expect(again.patch).toEqual([]);
    expect(again.response).toEqual({ uid: expect.any(String), allowed: true, auditAnnotations: { outcome: 'unchanged' } });
  });

  it('the patch holds only add operations and one replace for the grace period', async () => {
    const { patch } = await admit(hook, basePod({ [`${P}inject`]: 'true', [`${P}nacos-deregister`]: 'true' }));
    expect(patch.filter((op: any) => op.op !== 'add')).toEqual([{ op: 'replace', path: '/spec/terminationGracePeriodSeconds', value: 48 }]);
  });
});

describe('reinvocation stays silent', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  it('a default-container that names no container warns once, not again when only gates were added', async () => {
    const pod = basePod({
      'probe-injector.io/inject': 'true',
      'probe-injector.io/readiness': 'false',
      'probe-injector.io/liveness': 'false',
      'probe-injector.io/startup': 'false',
      'probe-injector.io/readiness-gates': 'example.com/ready',
      'kubectl.kubernetes.io/default-container': 'gone',
    });
    const first = await admit(hook, pod);
    expect(first.warnings).toEqual([expect.stringMatching(/default-container "gone" names no container/)]);
    expect(JSON.parse(first.pod.metadata.annotations['probe-injector.io/status'])).toEqual({ containers: {}, readinessGates: ['example.com/ready'] });
    const again = await admit(hook, first.pod);
    expect(again.patch).toEqual([]);
    expect(again.warnings).toEqual([]);
  });
});
