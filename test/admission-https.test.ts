import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeInjectionConfig } from '../src/core/config.js';
import { inject } from './support/core.js';
import { expected, on, P } from './support/expect.js';
import { INJECTION_CASES } from './support/injection-cases.js';
import { admit, basePod, reviewOf, startTestWebhook, type TestWebhook } from './support/webhook.js';

/**
 * A slice of the SPEC tables through the real HTTPS server, with a real certificate and the real
 * AdmissionReview shape: the edge says exactly what the core decided (the tables themselves run
 * against the core in injection.test.ts and denial.test.ts).
 */
describe("the core's answers through the real HTTPS server", () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  const slice = INJECTION_CASES.filter((c) => /nacos-deregister: exec hook|the gate nacos.io\/registered|default-container naming no container|injectByDefault: a pod with no annotations/.test(c.name));

  it('the slice is not empty', () => expect(slice.length).toBe(4));

  it.each(slice.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    hook.config = makeInjectionConfig(c.config);
    const pod = c.pod(basePod);
    const result = await admit(hook, pod);
    expect(result.response.allowed).toBe(true);
    expect(result.pod).toEqual(c.expect ? expected(pod, c.expect) : pod);
    expect(result.warnings).toEqual(inject(pod, c.config).warnings);
    expect(result.response.auditAnnotations).toMatchObject({ outcome: c.expect ? 'patched' : 'unchanged' });
    const again = await admit(hook, result.pod);
    expect(again.patch).toEqual([]);
  });

  it("a denial: allowed false, code 400, the core's message", async () => {
    hook.config = makeInjectionConfig();
    const pod = basePod(on({ profile: 'grcp', port: 'grpc' }));
    const { response, patch } = await admit(hook, pod);
    expect(response.allowed).toBe(false);
    expect(patch).toEqual([]);
    expect(response.status).toEqual({ code: 400, message: inject(pod).denial });
    expect(response.auditAnnotations).toEqual({ outcome: 'denied' });
  });

  it('errorPolicy warn: allowed unchanged, the problems as warnings', async () => {
    hook.config = makeInjectionConfig({ errorPolicy: 'warn' });
    try {
      const { response, warnings } = await admit(hook, basePod(on({ type: 'udp' })));
      expect(response.allowed).toBe(true);
      expect(warnings).toEqual([`probe-injector: ${P}type="udp": expected one of "http", "tcp", "grpc", "exec"`]);
    } finally {
      hook.config = makeInjectionConfig();
    }
  });

  it('audit annotations say what was injected, within bounds', async () => {
    hook.config = makeInjectionConfig();
    const { response } = await admit(hook, basePod(on({ 'nacos-deregister': 'true' })));
    expect(response.auditAnnotations).toEqual({
      outcome: 'patched',
      injected: 'app=startupProbe+readinessProbe+livenessProbe+preStop;terminationGracePeriodSeconds=48',
    });
  });
});

describe('POST /validate is served next to /mutate', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  it('a Deployment with a typo in its template is denied with the template path; GET /validate is 405', async () => {
    const pod = basePod(on({ 'readines-path': '/r' }));
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orders' }, spec: { template: { metadata: pod.metadata, spec: pod.spec } } };
    const review = reviewOf(deployment, { resource: { group: 'apps', version: 'v1', resource: 'deployments' }, kind: { group: 'apps', version: 'v1', kind: 'Deployment' } });
    const result = await hook.post(review, { 'Content-Type': 'application/json' }, '/validate?timeout=5s');
    expect(result.status).toBe(200);
    expect(result.json.response).toMatchObject({ allowed: false, status: { code: 400 } });
    expect(result.json.response.status.message).toContain('(in spec.template): probe-injector.io/readines-path: unknown annotation');
    expect(result.json.response.patch).toBeUndefined();
    expect((await hook.request('GET', '/validate')).status).toBe(405);
  });
});
