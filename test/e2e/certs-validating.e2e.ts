/**
 * `probe-injector certs --validating-webhook-config`: the ValidatingWebhookConfiguration (SPEC §9)
 * trusts the same CA as the mutating one; a name that does not exist is skipped, not an error.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../support/process.js';
import {
  WEBHOOK_CONFIGS,
  closeClient,
  createNamespace,
  deleteValidatingWebhook,
  deleteWebhook,
  env,
  kube,
  ok,
  registerValidatingWebhook,
  registerWebhook,
  validatingWebhookConfiguration,
  webhookConfiguration,
} from './support/kube.js';

const NAMESPACE = 'e2e-certs-validating';
const NAME = 'e2e-certs-validating';
const labels = { 'probe-injector-e2e': 'certs-validating' };

afterAll(async () => {
  await deleteWebhook(NAME);
  await deleteValidatingWebhook(NAME);
  await kube('DELETE', `/api/v1/namespaces/${NAMESPACE}`);
  await closeClient();
});

async function certs(validating: string): Promise<any[]> {
  const run = runCli(['certs', '--service', 'probe-injector', '--namespace', NAMESPACE, '--secret', 'probe-injector-tls', '--webhook-config', NAME, '--validating-webhook-config', validating, '--kubeconfig', env.kubeconfig]);
  const exit = await run.exited;
  if (exit.code !== 0) throw new Error(`certs exited ${JSON.stringify(exit)}: ${run.stderr.join('')}`);
  return run.lines;
}

describe('certs and the ValidatingWebhookConfiguration', () => {
  it('patches its caBundle with the CA of the Secret, like the mutating one; an absent one is skipped', async () => {
    await createNamespace(NAMESPACE, labels);
    await registerWebhook(webhookConfiguration(NAME, { url: 'https://127.0.0.1:1/mutate', namespaceLabels: labels }));
    const absent = await certs('no-such-configuration');
    expect(absent.some((line) => line.msg === 'certs: no ValidatingWebhookConfiguration no-such-configuration; skipped')).toBe(true);

    await registerValidatingWebhook(validatingWebhookConfiguration(NAME, { url: 'https://127.0.0.1:1/validate', namespaceLabels: labels }));
    const lines = await certs(NAME);
    expect(lines.filter((line) => line.msg === 'certs: patched the caBundle').map((line) => line.kind)).toEqual(['ValidatingWebhookConfiguration']);
    const secret = await ok(kube('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/probe-injector-tls`));
    const ca = Buffer.from(secret.data['ca.crt'], 'base64').toString('utf8');
    const mutating = await ok(kube('GET', `${WEBHOOK_CONFIGS}/${NAME}`));
    const validating = await ok(kube('GET', `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${NAME}`));
    const print = (bundle: string) => new X509Certificate(Buffer.from(bundle, 'base64').toString('utf8')).fingerprint256;
    expect(print(validating.webhooks[0].clientConfig.caBundle)).toBe(new X509Certificate(ca).fingerprint256);
    expect(print(mutating.webhooks[0].clientConfig.caBundle)).toBe(new X509Certificate(ca).fingerprint256);

    const again = await certs(NAME);
    expect(again.filter((line) => line.msg === 'certs: caBundle already trusts the CA').map((line) => line.kind)).toEqual(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
  });
});
