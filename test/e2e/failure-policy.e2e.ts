/**
 * The webhook down: with `failurePolicy: Ignore` (the manifests' default) pods are still admitted,
 * unmutated; with `Fail` they are refused.
 */
import net from 'node:net';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { validatePod } from '../support/kube-validation.js';
import { STATUS, on, podOf } from './support/expect.js';
import {
  WEBHOOK_CONFIGS,
  createAndGetPod,
  createPod,
  kube,
  ok,
  podsPath,
  waitUntil,
} from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';

const suite = useRegisteredWebhook('failure-policy', { failurePolicy: 'Ignore', timeoutSeconds: 5 });

// In effect and working before it is stopped: what follows is the webhook being down, not a
// configuration that has not arrived yet.
beforeAll(() => suite.hook.stop());







const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => (socket.destroy(), resolve(false)));
    socket.on('error', () => resolve(true));
  });

describe('the webhook stopped', () => {
  it('failurePolicy Ignore: an opted-in pod is admitted, unmutated', async () => {
    expect(await refused(suite.hook.port)).toBe(true);
    const pod = podOf(on({ 'nacos-deregister': 'true' }), () => {}, 'while-down');
    const { stored } = await createAndGetPod(suite.namespace, pod);
    expect(stored.metadata.annotations).toEqual(pod.metadata.annotations);
    expect(stored.metadata.annotations[STATUS]).toBeUndefined();
    const app = stored.spec.containers[0];
    expect([app.startupProbe, app.readinessProbe, app.livenessProbe, app.lifecycle]).toEqual([undefined, undefined, undefined, undefined]);
    expect(stored.spec.terminationGracePeriodSeconds).toBe(30);
    expect(validatePod(stored)).toEqual([]);
  });

  it('failurePolicy Fail: the pod is refused, naming the webhook that could not be called', async () => {
    await ok(
      kube('PATCH', `${WEBHOOK_CONFIGS}/${suite.configName}`, [{ op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Fail' }], 'application/json-patch+json'),
      'patch failurePolicy',
    );
    // Poll until the changed configuration is in effect (~0.2-1 s).
    await waitUntil('failurePolicy Fail to take effect', async () => (await createPod(suite.namespace, podOf(on()), { dryRun: true })).status !== 201);
    const res = await createPod(suite.namespace, podOf(on(), () => {}, 'refused'));
    expect(res.status).toBe(500);
    // v1.20: `failed calling webhook "…": Post "https://127.0.0.1:PORT/mutate?timeout=5s": dial tcp
    // 127.0.0.1:PORT: connect: connection refused` (later versions add "failed to call webhook: ").
    expect(res.body.message).toMatch(/^Internal error occurred: failed calling webhook "pods\.probe-injector\.io": (failed to call webhook: )?Post "https:\/\/127\.0\.0\.1:\d+\/mutate\?timeout=5s": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/);
    expect((await kube('GET', podsPath(suite.namespace, 'refused'))).status).toBe(404);
    // A pod that does not opt in is refused too: the apiserver cannot know it would not be mutated
    // (that is what matchConditions are for, from 1.27).
    expect((await createPod(suite.namespace, podOf({}), { dryRun: true })).status).toBe(500);
  });
});
