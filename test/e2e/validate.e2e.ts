/**
 * Apply-time validation (SPEC §9) against the real kube-apiserver, seen through the cluster's own
 * kubectl: the built `serve` answers `POST /validate` for a ValidatingWebhookConfiguration with the
 * rules of manifests/ (minus matchConditions, which v1.20 lacks). A Deployment with a typo is
 * refused at `kubectl apply` with our message; a valid one is stored unchanged and kubectl prints our
 * warnings; `kubectl scale` and a relabelling of a Deployment created before the webhook existed
 * are not blocked (a new image is); and the API server's audit log records what both webhooks did.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import https from 'node:https';
import { stringify } from 'yaml';
import {
  auditEvents,
  createAndGetPod,
  deleteValidatingWebhook,
  kube,
  kubectl,
  kubectlPath,
  objectsPath,
  ok,
  registerValidatingWebhook,
  validatingWebhookConfiguration,
  waitUntil,
  type Json,
} from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';

const suite = useRegisteredWebhook('validate', { failurePolicy: 'Fail' });
const NS = suite.namespace;
const CONFIG_NAME = 'e2e-validate-workloads';
const DEPLOYMENTS = () => objectsPath('apps/v1', 'deployments', NS);
const KUBECTL = kubectlPath() ? { it, why: '' } : { it: it.skip, why: ' [skipped: no kubectl among the cluster binaries]' };

const TYPO_MESSAGE =
  "probe-injector: 1 problem with the pod's annotations (in spec.template): probe-injector.io/readyness-path: unknown annotation; did you mean probe-injector.io/readiness-path?";

function deployment(name: string, annotations: Record<string, string>, container: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }], ...container }] },
      },
    },
  };
}

const TYPO = { 'probe-injector.io/inject': 'true', 'probe-injector.io/readyness-path': '/ready' };

/** POSTs an AdmissionReview straight to the served webhook: is `/validate` there at all? */
function postToWebhook(port: number, path: string, body: Json): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', rejectUnauthorized: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  // Created before the validating webhook exists: a typo the pod webhook refuses, stored anyway.
  await ok(kube('POST', DEPLOYMENTS(), deployment('before', TYPO)), 'create Deployment before');

  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-0000-0000-000000000001',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      operation: 'CREATE',
      namespace: NS,
      object: deployment('probe', {}),
    },
  };
  const status = await postToWebhook(suite.hook.port, '/validate', review);
  if (status !== 200) throw new Error(`the served webhook answers POST /validate with HTTP ${status}: serve has no /validate route (SPEC §9), so nothing here can pass`);

  // The served webhook's certificate is from the CA the mutating registration trusts: the same caBundle.
  const mutating = await ok(kube('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${suite.configName}`));
  const caBundle: string = mutating.webhooks[0].clientConfig.caBundle;
  await registerValidatingWebhook(
    validatingWebhookConfiguration(CONFIG_NAME, { url: `https://127.0.0.1:${suite.hook.port}/validate`, caBundle, namespaceLabels: suite.labels, failurePolicy: 'Fail' }),
  );
  await waitUntil(`the validating webhook to refuse a typo in ${NS}`, async () => {
    const res = await kube('POST', `${DEPLOYMENTS()}?dryRun=All`, deployment('effect-check', TYPO));
    return res.status === 400 && String(res.body?.message).includes(TYPO_MESSAGE);
  });
});

afterAll(async () => {
  await deleteValidatingWebhook(CONFIG_NAME);
});

describe('apply-time validation of workload templates (SPEC §9)', () => {
  KUBECTL.it(`kubectl apply of a Deployment with a typo fails with our message, and nothing is stored${KUBECTL.why}`, async () => {
    const result = await kubectl(['apply', '-f', '-'], stringify(deployment('typo', TYPO)));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`admission webhook "workloads.probe-injector.io" denied the request: ${TYPO_MESSAGE}`);
    expect((await kube('GET', `${DEPLOYMENTS()}/typo`)).status).toBe(404);
  });

  KUBECTL.it(`kubectl apply of a valid Deployment succeeds, prints our warnings, and the template is stored as written${KUBECTL.why}`, async () => {
    const annotations = { 'probe-injector.io/inject': 'true', 'probe-injector.io/nacos-deregister': 'true', 'probe-injector.io/readiness-path': '/ready' };
    const written = deployment('valid', annotations, { readinessProbe: { tcpSocket: { port: 8080 } } });
    const result = await kubectl(['apply', '-f', '-'], stringify(written));
    expect(result.stderr).not.toContain('denied');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('deployment.apps/valid created');
    expect(result.stderr).toContain(`Warning: probe-injector: container "app" already has a readinessProbe; kept it and ignored probe-injector.io/readiness-path`);
    expect(result.stderr).toMatch(/Warning: probe-injector: raised terminationGracePeriodSeconds from 30 to 48 \(/);
    const stored = await ok(kube('GET', `${DEPLOYMENTS()}/valid`));
    expect(stored.spec.template.metadata.annotations).toEqual(annotations); // never a patch: no status annotation, no drift
    expect(stored.spec.template.spec.containers[0].livenessProbe).toBeUndefined();
    expect(stored.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
  });

  KUBECTL.it(`kubectl scale of a Deployment created before the webhook, with a typo in its template, is not blocked${KUBECTL.why}`, async () => {
    const result = await kubectl(['-n', NS, 'scale', 'deployment/before', '--replicas=3']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((await ok(kube('GET', `${DEPLOYMENTS()}/before`))).spec.replicas).toBe(3);
  });

  KUBECTL.it(`an unrelated UPDATE (a label) of that Deployment is allowed, with the problems as warnings${KUBECTL.why}`, async () => {
    const result = await kubectl(['-n', NS, 'label', 'deployment/before', 'team=shop']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Warning: probe-injector: probe-injector.io/readyness-path: unknown annotation; did you mean probe-injector.io/readiness-path?');
    expect((await ok(kube('GET', `${DEPLOYMENTS()}/before`))).metadata.labels).toEqual({ team: 'shop' });
  });

  KUBECTL.it(`an UPDATE that changes its containers (a new image) is denied with the same message${KUBECTL.why}`, async () => {
    const result = await kubectl(['-n', NS, 'set', 'image', 'deployment/before', 'app=registry.example/app:2']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`admission webhook "workloads.probe-injector.io" denied the request: ${TYPO_MESSAGE}`);
    expect((await ok(kube('GET', `${DEPLOYMENTS()}/before`))).spec.template.spec.containers[0].image).toBe('registry.example/app:1');
  });

  it('the audit log holds our audit annotations for a pod CREATE and for Deployments (allowed and denied)', async () => {
    const pod = await createAndGetPod(NS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'audited', annotations: { 'probe-injector.io/inject': 'true' } },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }] },
    });
    expect(pod.stored.metadata.annotations['probe-injector.io/status']).toBeDefined();
    await ok(kube('POST', DEPLOYMENTS(), deployment('audited', { 'probe-injector.io/inject': 'true' })), 'create Deployment audited');
    const denied = await kube('POST', DEPLOYMENTS(), deployment('audited-typo', TYPO));
    expect(denied.status).toBe(400);

    const find = (resource: string, name: string, annotation: string) =>
      auditEvents().find(
        (event) =>
          event.verb === 'create' &&
          event.stage === 'ResponseComplete' &&
          event.objectRef?.resource === resource &&
          event.objectRef?.namespace === NS &&
          event.objectRef?.name === name &&
          event.annotations?.[annotation] !== undefined,
      );
    const podEvent = await waitUntil('the pod CREATE in the audit log', async () => find('pods', 'audited', 'pods.probe-injector.io/outcome'), 15_000);
    expect(podEvent.annotations['pods.probe-injector.io/outcome']).toBe('patched');
    expect(podEvent.annotations['pods.probe-injector.io/injected']).toBe('app=startupProbe+readinessProbe+livenessProbe');

    const allowed = await waitUntil('the Deployment CREATE in the audit log', async () => find('deployments', 'audited', 'workloads.probe-injector.io/outcome'), 15_000);
    expect(allowed.annotations['workloads.probe-injector.io/outcome']).toBe('patched');
    expect(allowed.annotations['workloads.probe-injector.io/injected']).toBe('app=startupProbe+readinessProbe+livenessProbe');

    const refused = await waitUntil('the denied Deployment CREATE in the audit log', async () => find('deployments', 'audited-typo', 'workloads.probe-injector.io/outcome'), 15_000);
    expect(refused.annotations['workloads.probe-injector.io/outcome']).toBe('denied');
    expect(refused.responseStatus?.code).toBe(400);
  });
});
