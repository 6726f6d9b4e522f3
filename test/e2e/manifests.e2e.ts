/**
 * manifests/overlays/k8s-1.21 against a real kube-apiserver (v1.20.2 here, the oldest the suite
 * has): what it renders is accepted by the API server, and its two webhook configurations —
 * exactly as rendered, only pointed at a test webhook by URL with its caBundle instead of the
 * in-cluster Service — are accepted and work: an opted-in pod is injected, a pod that did not opt
 * in is sent (no matchConditions) and left alone.
 *
 * Rendered with kustomize (test/support/kustomize.ts), applied with the cluster's own kubectl.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { kustomize, type K8sObject } from '../support/kustomize.js';
import { STATUS, on, podOf } from './support/expect.js';
import {
  VALIDATING_WEBHOOK_CONFIGS,
  WEBHOOK_CONFIGS,
  closeClient,
  createAndGetPod,
  createNamespace,
  env,
  kube,
  kubectl,
  kubectlPath,
  ok,
  waitForInjection,
  waitUntil,
  type Json,
} from './support/kube.js';
import { makeTls, runDirPath, serveWebhook, type ServedWebhook } from './support/webhook-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OVERLAY = kustomize(path.join(ROOT, 'manifests/overlays/k8s-1.21')).objects;
const DEFAULT = kustomize(path.join(ROOT, 'manifests')).objects;
const NAMESPACE = 'probe-injector';
const TEST_NAMESPACE = 'e2e-manifests';
const CONFIG_PATHS: Record<string, string> = { MutatingWebhookConfiguration: WEBHOOK_CONFIGS, ValidatingWebhookConfiguration: VALIDATING_WEBHOOK_CONFIGS };

const one = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((object) => object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0]!;
};
const WEBHOOK_CONFIGURATIONS = [one(OVERLAY, 'MutatingWebhookConfiguration'), one(OVERLAY, 'ValidatingWebhookConfiguration')];

const KUBECTL = kubectlPath() ? { it, why: '' } : { it: it.skip, why: ' [skipped: no kubectl among the cluster binaries]' };

/** Writes objects as a YAML stream into the run dir, for kubectl -f. */
function yamlFile(name: string, objects: Json[]): string {
  const file = runDirPath('manifests', name);
  writeFileSync(file, objects.map((object) => stringify(object)).join('---\n'));
  return file;
}

/** Which group/version/kind this API server serves (discovery). */
async function served(object: K8sObject): Promise<boolean> {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const res = await kube('GET', group ? `/apis/${group}/${version}` : `/api/${version}`);
  if (res.status === 404) return false;
  const list = await ok(res, `discovery of ${object.apiVersion}`);
  return (list.resources as any[]).some((resource) => resource.kind === object.kind && !resource.name.includes('/'));
}

beforeAll(async () => {
  // The namespace everything else is in must exist for a dry run of the rest: applied for real
  // (with kubectl when there is one, so that the dry run finds its last-applied annotation).
  const namespace = one(OVERLAY, 'Namespace');
  if (kubectlPath()) {
    const result = await kubectl(['apply', '-f', yamlFile('namespace.yaml', [namespace])]);
    if (result.code !== 0) throw new Error(`kubectl apply namespace ${NAMESPACE}: ${result.stderr}`);
  } else {
    const res = await kube('POST', '/api/v1/namespaces', namespace);
    if (res.status !== 201 && res.status !== 409) throw new Error(`create namespace ${NAMESPACE}: HTTP ${res.status}: ${res.body?.message}`);
  }
});

afterAll(async () => {
  await kube('DELETE', `/api/v1/namespaces/${NAMESPACE}`);
  await closeClient();
});

describe('everything manifests/overlays/k8s-1.21 renders, server-side dry run', () => {
  KUBECTL.it(`is accepted by kube-apiserver ${env.kubeVersion} where the kind exists (kubectl apply --dry-run=server)${KUBECTL.why}`, async () => {
    const skipped: K8sObject[] = [];
    const kept: K8sObject[] = [];
    for (const object of OVERLAY) ((await served(object)) ? kept : skipped).push(object);
    // policy/v1 PodDisruptionBudget and batch/v1 CronJob came in 1.21: nothing else may be missing.
    expect(skipped.map((object) => `${object.apiVersion} ${object.kind}`).sort()).toEqual(env.kubeMinor < 21 ? ['batch/v1 CronJob', 'policy/v1 PodDisruptionBudget'] : []);
    const result = await kubectl(['apply', '--dry-run=server', '-f', yamlFile('k8s-1.21.yaml', kept)]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(kept.length);
    for (const line of lines) expect(line).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
  });

  const oldServer = env.kubeMinor < 28;
  KUBECTL.it(
    `control: the default's webhook configurations (with matchConditions) are ${oldServer ? 'refused' : 'accepted'} on this ${env.kubeVersion} server${KUBECTL.why}`,
    async () => {
      const configurations = DEFAULT.filter((object) => object.kind.endsWith('WebhookConfiguration'));
      expect(configurations.every((object) => object.webhooks[0].matchConditions)).toBe(true);
      const result = await kubectl(['apply', '--dry-run=server', '-f', yamlFile('default-webhook-configurations.yaml', configurations)]);
      if (oldServer) {
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain('unknown field "matchConditions"');
      } else {
        expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      }
    },
  );
});

describe('its webhook configurations, as rendered, pointed at a test webhook', () => {
  let hook: ServedWebhook | undefined;
  const registered: Json[] = [];

  /** The rendered configuration with `clientConfig.service` replaced by a URL to the test webhook, and its CA. */
  function pointedAt(configuration: K8sObject, port: number, caBundle: string): Json {
    const copy = structuredClone(configuration) as Json;
    for (const webhook of copy.webhooks) {
      const { service, ...rest } = webhook.clientConfig;
      expect(rest).toEqual({}); // the manifests carry no caBundle
      webhook.clientConfig = { url: `https://127.0.0.1:${port}${service.path}`, caBundle };
    }
    return copy;
  }

  beforeAll(async () => {
    const tls = await makeTls(['127.0.0.1']);
    // The webhook runs with the config file the overlay ships.
    hook = await serveWebhook({ name: 'manifests', serving: tls.serving, config: one(OVERLAY, 'ConfigMap').data['config.yaml'] });
    for (const configuration of WEBHOOK_CONFIGURATIONS) {
      const body = pointedAt(configuration, hook.port, tls.caBundle);
      await ok(kube('POST', CONFIG_PATHS[configuration.kind]!, body), `create ${configuration.kind} ${configuration.metadata.name}`);
      registered.push(body);
    }
    await createNamespace(TEST_NAMESPACE, { 'probe-injector-e2e': 'manifests' });
    await waitForInjection(TEST_NAMESPACE);
  });

  afterAll(async () => {
    for (const body of registered) await kube('DELETE', `${CONFIG_PATHS[body.kind]}/${body.metadata.name}`);
    await hook?.stop();
  });

  it.each(WEBHOOK_CONFIGURATIONS.map((configuration) => [configuration.kind, configuration] as const))('%s: accepted and stored with every rendered field', async (kind, configuration) => {
    const stored = await ok(kube('GET', `${CONFIG_PATHS[kind]}/${configuration.metadata.name}`));
    const sent = registered.find((body) => body.kind === kind)!;
    expect(stored.metadata.labels).toEqual(configuration.metadata.labels);
    expect(stored.webhooks).toHaveLength(sent.webhooks.length);
    // Everything sent is stored as sent (the server only adds its defaults, e.g. objectSelector: {}).
    expect(stored.webhooks).toMatchObject(sent.webhooks);
    for (const webhook of stored.webhooks) expect(webhook.matchConditions).toBeUndefined();
  });

  it('the mutating one injects an opted-in pod', async () => {
    const { stored } = await createAndGetPod(TEST_NAMESPACE, podOf(on(), () => {}, 'opted-in'));
    expect(stored.metadata.annotations[STATUS]).toBeDefined();
    const [container] = stored.spec.containers;
    expect(container.readinessProbe).toBeDefined();
    expect(container.livenessProbe).toBeDefined();
    expect(container.startupProbe).toBeDefined();
    await hook!.admission({ pod: 'opted-in', outcome: 'patched' });
  });

  it('without matchConditions a pod that did not opt in is sent too, and the webhook leaves it alone', async () => {
    const { stored } = await createAndGetPod(TEST_NAMESPACE, podOf({}, () => {}, 'not-opted-in'));
    expect(stored.metadata.annotations ?? {}).toEqual({});
    expect(stored.spec.containers[0].readinessProbe).toBeUndefined();
    const line = await hook!.admission({ pod: 'not-opted-in' });
    expect(line.outcome).toBe('skipped');
  });

  it('the validating one lets a Deployment with an opted-in template through (failurePolicy Ignore, no patch)', async () => {
    const template = podOf(on(), () => {});
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'opted-in' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'opted-in' } },
        template: { metadata: { labels: { app: 'opted-in' }, annotations: template.metadata.annotations }, spec: template.spec },
      },
    };
    const created = await kube('POST', `/apis/apps/v1/namespaces/${TEST_NAMESPACE}/deployments`, deployment);
    expect([created.status, created.body?.message]).toEqual([201, undefined]);
    // The template is stored as written: a validating webhook never patches.
    expect(created.body.spec.template.metadata.annotations).toEqual(template.metadata.annotations);
    expect(created.body.spec.template.spec.containers[0].readinessProbe).toBeUndefined();
    if (env.controllerManager) {
      // and its pods still get injected by the mutating one
      const pod = await waitUntil('a pod of the Deployment', async () => {
        const pods = await ok(kube('GET', `/api/v1/namespaces/${TEST_NAMESPACE}/pods?labelSelector=app%3Dopted-in`));
        return pods.items[0];
      });
      expect(pod.metadata.annotations[STATUS]).toBeDefined();
    }
  });
});
