/**
 * Reinvocation: a second webhook (written here, HTTPS too) inserts a sidecar container at index 0
 * after ours has run. Because that changed the pod, kube-apiserver calls ours again
 * (reinvocationPolicy: IfNeeded). The stored pod must still be right: probes and hook on `app`
 * (now at index 1), none on the sidecar, the gate once, the status annotation unchanged.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { validatePod } from '../support/kube-validation.js';
import { ALL_PROBES, STATUS, execHook, expected, http, on, podOf, setProbes } from './support/expect.js';
import {
  closeClient,
  createAndGetPod,
  createNamespace,
  deleteWebhook,
  env,
  injectedView,
  kube,
  ok,
  podsPath,
  registerWebhook,
  waitForInjection,
  waitUntil,
  webhookConfiguration,
  type Json,
} from './support/kube.js';
import { makeTls, serveWebhook, type ServedWebhook } from './support/webhook-process.js';

const NAMESPACE = 'e2e-reinvocation';
const LABELS = { 'probe-injector-e2e': 'reinvocation' };
// kube-apiserver calls webhooks in the order of their configurations' names: ours first.
const OURS = 'e2e-reinvocation-1-probe-injector';
const SIDECAR = 'e2e-reinvocation-2-sidecar';

const SIDECAR_CONTAINER = { name: 'mesh-proxy', image: 'registry.example/proxy:1', ports: [{ name: 'proxy', containerPort: 15001, protocol: 'TCP' }] };

/** A minimal sidecar injector: adds `mesh-proxy` at index 0 unless it is there, and counts calls. */
async function startSidecarWebhook(serving: { cert: string; key: string }) {
  const calls: { name: string; containers: string[] }[] = [];
  const server = https.createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const pod = review.request.object;
      const containers: string[] = pod.spec.containers.map((c: Json) => c.name);
      calls.push({ name: pod.metadata.name ?? `${pod.metadata.generateName}*`, containers });
      const response: Json = { uid: review.request.uid, allowed: true };
      if (!containers.includes(SIDECAR_CONTAINER.name)) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/spec/containers/0', value: SIDECAR_CONTAINER }])).toString('base64');
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

let hook: ServedWebhook;
let sidecar: Awaited<ReturnType<typeof startSidecarWebhook>>;

beforeAll(async () => {
  const tls = await makeTls(['127.0.0.1']);
  hook = await serveWebhook({ name: 'reinvocation', serving: tls.serving });
  sidecar = await startSidecarWebhook(tls.serving);
  await createNamespace(NAMESPACE, LABELS);
  await registerWebhook(
    webhookConfiguration(OURS, { url: `https://127.0.0.1:${hook.port}/mutate`, caBundle: tls.caBundle, failurePolicy: 'Fail', reinvocationPolicy: 'IfNeeded', namespaceLabels: LABELS }),
  );
  await registerWebhook(
    webhookConfiguration(SIDECAR, {
      webhookName: 'sidecar.e2e.example.com',
      url: `https://127.0.0.1:${sidecar.port}/inject`,
      caBundle: tls.caBundle,
      failurePolicy: 'Fail',
      reinvocationPolicy: 'Never',
      namespaceLabels: LABELS,
    }),
  );
  await waitForInjection(NAMESPACE);
  // And the sidecar webhook too: both configurations in effect.
  await waitUntil('the sidecar webhook to be called', async () => {
    const res = await kube('POST', `${podsPath(NAMESPACE)}?dryRun=All`, podOf(on()));
    return res.status === 201 && res.body.spec.containers[0].name === SIDECAR_CONTAINER.name;
  });
});

afterAll(async () => {
  await deleteWebhook(SIDECAR);
  await deleteWebhook(OURS);
  await hook?.stop();
  await sidecar?.close();
  await closeClient();
});

const annotations = on({ profile: 'spring-boot', 'nacos-deregister': 'true', 'readiness-gates': 'nacos.io/registered', 'nacos-service': 'orders' });
const STATUS_VALUE = JSON.stringify({
  containers: { app: [...ALL_PROBES, 'preStop'] },
  readinessGates: ['nacos.io/registered'],
  labels: ['probe-injector.io/nacos-gate'],
  terminationGracePeriodSeconds: 48,
});

/** The pod as it must be stored: the sidecar first, untouched; `app` second with everything. */
function wanted(submitted: Json): Json {
  return expected(submitted, (pod) => {
    pod.spec.containers.unshift(structuredClone(SIDECAR_CONTAINER));
    setProbes(
      pod,
      {
        startup: http('startup', '/actuator/health/liveness'),
        readiness: http('readiness', '/actuator/health/readiness'),
        liveness: http('liveness', '/actuator/health/liveness'),
      },
      1,
    );
    pod.spec.containers[1].lifecycle = { preStop: execHook(8080) };
    pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
    pod.spec.terminationGracePeriodSeconds = 48;
    pod.metadata.annotations[STATUS] = STATUS_VALUE;
    pod.metadata.labels = { ...pod.metadata.labels, 'probe-injector.io/nacos-gate': 'true' };
  });
}

describe('reinvocation: a second webhook inserts a container at index 0 after ours', () => {
  it('ours is called again, and the stored pod is still right and not duplicated', async () => {
    const pod = podOf(annotations, () => {}, 'orders');
    const { stored } = await createAndGetPod(NAMESPACE, pod);

    // Called twice by kube-apiserver: first it patched, then (reinvoked) it had nothing to add.
    await hook.admission({ pod: 'orders', outcome: 'unchanged' });
    const ours = hook.admissions().filter((line) => line.pod === 'orders');
    expect(ours.map((line) => [line.outcome, line.operations > 0])).toEqual([
      ['patched', true],
      ['unchanged', false],
    ]);
    // The sidecar webhook ran once, between the two, and saw our result (app only).
    expect(sidecar.calls.filter((call) => call.name === 'orders')).toEqual([{ name: 'orders', containers: ['app'] }]);

    expect(stored.spec.containers.map((c: Json) => c.name)).toEqual(['mesh-proxy', 'app']);
    expect(injectedView(stored)).toEqual(injectedView(wanted(pod), { expected: true }));
    expect(stored.spec.containers[0].readinessProbe).toBeUndefined();
    expect(stored.spec.containers[0].lifecycle).toBeUndefined();
    expect(stored.spec.readinessGates).toEqual([{ conditionType: 'nacos.io/registered' }]);
    expect(stored.metadata.annotations[STATUS]).toBe(STATUS_VALUE);
    expect(validatePod(stored)).toEqual([]);
  });

  it('the same with an explicit containers annotation and a default-container naming the sidecar', async () => {
    // default-container names the sidecar, which does not exist yet on the first call: ours falls
    // back to the first container (app) with a warning, and on reinvocation must keep to the
    // status' containers rather than follow default-container to the sidecar.
    const pod = podOf({ ...annotations, 'kubectl.kubernetes.io/default-container': 'mesh-proxy' }, () => {}, 'orders-default-container');
    const { stored, warnings } = await createAndGetPod(NAMESPACE, pod);
    expect(injectedView(stored)).toEqual(injectedView(wanted(pod), { expected: true }));
    expect(warnings).toContainEqual(expect.stringMatching(/default-container "mesh-proxy" names no container; injecting into "app"/));
    await hook.admission({ pod: 'orders-default-container', outcome: 'unchanged' });
    expect(hook.admissions().filter((line) => line.pod === 'orders-default-container').map((line) => line.outcome)).toEqual(['patched', 'unchanged']);
  });

  (env.controllerManager ? it : it.skip)(
    `Deployment pods go through both webhooks the same way${env.controllerManager ? '' : ' [skipped: no kube-controller-manager in the binaries (envtest)]'}`,
    async () => {
      const template = podOf(annotations, (p) => (p.metadata.labels = { app: 'reinvoked' }));
      delete template.metadata.generateName;
      await ok(
        kube('POST', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`, {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'reinvoked' },
          spec: { replicas: 1, selector: { matchLabels: { app: 'reinvoked' } }, template },
        }),
      );
      const stored: Json = await waitUntil(
        'the ReplicaSet controller to create the pod',
        async () => (await ok(kube('GET', `${podsPath(NAMESPACE)}?labelSelector=app%3Dreinvoked`))).items[0],
        60_000,
        200,
      );
      expect(injectedView(stored)).toEqual(injectedView(wanted(podOf(annotations, (p) => (p.metadata.labels = { app: 'reinvoked' }))), { expected: true }));
      expect(validatePod(stored)).toEqual([]);
      const calls = await waitUntil('2 admission log lines', async () => {
        const lines = hook.admissions().filter((line) => /^reinvoked-[a-z0-9]+-\*$/.test(line.pod ?? ''));
        return lines.length >= 2 ? lines : undefined;
      }, 5_000);
      expect(calls.map((line) => line.outcome)).toEqual(['patched', 'unchanged']);
    },
  );
});
