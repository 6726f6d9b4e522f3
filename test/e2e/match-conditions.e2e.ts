/**
 * matchConditions: manifests/ register the webhook with one that sends only opted-in pods. They
 * exist from 1.27 (alpha; on by default from 1.28). On this suite's v1.20 the field is dropped
 * silently; docs/deploy.md says the result is then the same, only with more webhook calls — that
 * is checked here. With envtest binaries >= 1.28 (KUBEBUILDER_ASSETS) the real cases run instead.
 */
import { describe, expect, it } from '@jest/globals';
import { STATUS, on, podOf } from './support/expect.js';
import {
  WEBHOOK_CONFIGS,
  createAndGetPod,
  kube,
  ok,
  since,
} from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';

const MATCH_CONDITIONS = since(28, 'matchConditions', '1.27+');

/** The condition of manifests/base: any probe-injector.io/ key, in any case. */
const HAS_KEY = {
  name: 'has-probe-injector-annotations',
  expression: "has(object.metadata.annotations) && object.metadata.annotations.exists(key, key.lowerAscii().startsWith('probe-injector.io/'))",
};

const suite = useRegisteredWebhook('match-conditions', { failurePolicy: 'Fail', matchConditions: [HAS_KEY] });

/** Creates the pods, then an opted-in sentinel: once the sentinel's log line is there, the earlier pods' would be too. */
async function sentToWebhook(names: string[]): Promise<string[]> {
  await createAndGetPod(suite.namespace, podOf(on(), () => {}, 'sentinel'));
  await suite.hook.admission({ pod: 'sentinel' });
  return suite.hook.admissions().map((line) => line.pod).filter((name) => names.includes(name));
}

describe('matchConditions', () => {
  (MATCH_CONDITIONS.supported ? it.skip : it)(
    `without matchConditions (${MATCH_CONDITIONS.supported ? 'not this apiserver' : 'this apiserver'}): the field is dropped, every pod of the namespace is sent, and the webhook leaves the ones not opted in alone`,
    async () => {
      const config = await ok(kube('GET', `${WEBHOOK_CONFIGS}/${suite.configName}`));
      expect(config.webhooks[0].matchConditions).toBeUndefined();
      const plain = await createAndGetPod(suite.namespace, podOf({}, () => {}, 'plain'));
      const optedOut = await createAndGetPod(suite.namespace, podOf({ 'probe-injector.io/inject': 'false' }, () => {}, 'opted-out'));
      expect(await sentToWebhook(['plain', 'opted-out'])).toEqual(['plain', 'opted-out']);
      expect(suite.hook.admissions().filter((line) => line.pod === 'plain' || line.pod === 'opted-out').map((line) => line.outcome)).toEqual(['skipped', 'skipped']);
      expect(plain.stored.metadata.annotations ?? {}).toEqual({});
      expect(plain.stored.spec.containers[0].readinessProbe).toBeUndefined();
      expect(optedOut.stored.metadata.annotations).toEqual({ 'probe-injector.io/inject': 'false' });
    },
  );

  MATCH_CONDITIONS.it(MATCH_CONDITIONS.name('an opted-in pod is sent to the webhook and mutated'), async () => {
    const { stored } = await createAndGetPod(suite.namespace, podOf(on(), () => {}, 'opted-in'));
    expect(stored.metadata.annotations[STATUS]).toBeDefined();
    await suite.hook.admission({ pod: 'opted-in', outcome: 'patched' });
  });

  MATCH_CONDITIONS.it(MATCH_CONDITIONS.name('pods without a probe-injector.io/ key are not sent at all'), async () => {
    await createAndGetPod(suite.namespace, podOf({}, () => {}, 'no-annotation'));
    await createAndGetPod(suite.namespace, podOf({ 'app.kubernetes.io/name': 'x' }, () => {}, 'other-annotation'));
    expect(await sentToWebhook(['no-annotation', 'other-annotation'])).toEqual([]);
  });

  // With the condition (any key under the prefix) and without (every pod is sent): answered either way.
  it('a misspelt key is sent, admitted untouched, and the user is told which key was meant', async () => {
    const { stored, warnings } = await createAndGetPod(suite.namespace, podOf({ 'Probe-Injector.io/inject': 'true' }, () => {}, 'misspelt'));
    expect(stored.metadata.annotations).toEqual({ 'Probe-Injector.io/inject': 'true' });
    expect(warnings).toEqual([expect.stringContaining('unknown annotation Probe-Injector.io/inject; did you mean probe-injector.io/inject?')]);
  });

  MATCH_CONDITIONS.it(MATCH_CONDITIONS.name('the webhook stopped with failurePolicy Fail: pods that do not opt in are still admitted'), async () => {
    await suite.hook.stop();
    const { stored } = await createAndGetPod(suite.namespace, podOf({}, () => {}, 'while-down'));
    expect(stored.metadata.annotations ?? {}).toEqual({});
  });
});
