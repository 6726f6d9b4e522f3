/**
 * matchConditions: manifests/ register the webhook with one that sends only opted-in pods. They
 * exist from 1.27 (alpha; on by default from 1.28). On this suite's v1.20 the field is dropped
 * silently; docs/deploy.md says the result is then the same, only with more webhook calls — that
 * is checked here. With envtest binaries >= 1.28 (KUBEBUILDER_ASSETS) the real cases run instead.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { STATUS, on, podOf } from './support/expect.js';
import {
  WEBHOOK_CONFIGS,
  closeClient,
  createAndGetPod,
  createNamespace,
  deleteWebhook,
  kube,
  ok,
  registerWebhook,
  since,
  waitForInjection,
  webhookConfiguration,
} from './support/kube.js';
import { makeTls, serveWebhook, type ServedWebhook } from './support/webhook-process.js';

const MATCH_CONDITIONS = since(28, 'matchConditions', '1.27+');
const NAMESPACE = 'e2e-match-conditions';
const LABELS = { 'probe-injector-e2e': 'match-conditions' };
const CONFIG_NAME = 'e2e-match-conditions';

/** The condition of manifests/base (opted in). */
const OPTED_IN = {
  name: 'opted-in',
  expression:
    "has(object.metadata.annotations) && 'probe-injector.io/inject' in object.metadata.annotations && object.metadata.annotations['probe-injector.io/inject'] == 'true'",
};

let hook: ServedWebhook;

beforeAll(async () => {
  const tls = await makeTls(['127.0.0.1']);
  hook = await serveWebhook({ name: 'match-conditions', serving: tls.serving });
  await createNamespace(NAMESPACE, LABELS);
  await registerWebhook(
    webhookConfiguration(CONFIG_NAME, {
      url: `https://127.0.0.1:${hook.port}/mutate`,
      caBundle: tls.caBundle,
      failurePolicy: 'Fail',
      namespaceLabels: LABELS,
      matchConditions: [OPTED_IN],
    }),
  );
  await waitForInjection(NAMESPACE);
});

afterAll(async () => {
  await deleteWebhook(CONFIG_NAME);
  await hook?.stop();
  await closeClient();
});

/** Creates the pods, then an opted-in sentinel: once the sentinel's log line is there, the earlier pods' would be too. */
async function sentToWebhook(names: string[]): Promise<string[]> {
  await createAndGetPod(NAMESPACE, podOf(on(), () => {}, 'sentinel'));
  await hook.admission({ pod: 'sentinel' });
  return hook.admissions().map((line) => line.pod).filter((name) => names.includes(name));
}

describe('matchConditions', () => {
  (MATCH_CONDITIONS.supported ? it.skip : it)(
    `without matchConditions (${MATCH_CONDITIONS.supported ? 'not this apiserver' : 'this apiserver'}): the field is dropped, every pod of the namespace is sent, and the webhook leaves the ones not opted in alone`,
    async () => {
      const config = await ok(kube('GET', `${WEBHOOK_CONFIGS}/${CONFIG_NAME}`));
      expect(config.webhooks[0].matchConditions).toBeUndefined();
      const plain = await createAndGetPod(NAMESPACE, podOf({}, () => {}, 'plain'));
      const optedOut = await createAndGetPod(NAMESPACE, podOf({ 'probe-injector.io/inject': 'false' }, () => {}, 'opted-out'));
      expect(await sentToWebhook(['plain', 'opted-out'])).toEqual(['plain', 'opted-out']);
      expect(hook.admissions().filter((line) => line.pod === 'plain' || line.pod === 'opted-out').map((line) => line.outcome)).toEqual(['skipped', 'skipped']);
      expect(plain.stored.metadata.annotations ?? {}).toEqual({});
      expect(plain.stored.spec.containers[0].readinessProbe).toBeUndefined();
      expect(optedOut.stored.metadata.annotations).toEqual({ 'probe-injector.io/inject': 'false' });
    },
  );

  MATCH_CONDITIONS.it(MATCH_CONDITIONS.name('an opted-in pod is sent to the webhook and mutated'), async () => {
    const { stored } = await createAndGetPod(NAMESPACE, podOf(on(), () => {}, 'opted-in'));
    expect(stored.metadata.annotations[STATUS]).toBeDefined();
    await hook.admission({ pod: 'opted-in', outcome: 'patched' });
  });

  MATCH_CONDITIONS.it(MATCH_CONDITIONS.name('pods without the annotation, or with inject "false", are not sent at all'), async () => {
    await createAndGetPod(NAMESPACE, podOf({}, () => {}, 'no-annotation'));
    await createAndGetPod(NAMESPACE, podOf({ 'probe-injector.io/inject': 'false' }, () => {}, 'opted-out-2'));
    expect(await sentToWebhook(['no-annotation', 'opted-out-2'])).toEqual([]);
  });

  MATCH_CONDITIONS.it(MATCH_CONDITIONS.name('the webhook stopped with failurePolicy Fail: pods that do not opt in are still admitted'), async () => {
    await hook.stop();
    const { stored } = await createAndGetPod(NAMESPACE, podOf({}, () => {}, 'while-down'));
    expect(stored.metadata.annotations ?? {}).toEqual({});
  });
});
