/**
 * `probe-injector check` against the real kube-apiserver, run as the built `dist/cli.js check
 * --kubeconfig …`: one namespace the webhook selects (an injected Deployment whose pods the
 * ReplicaSet controller made through the webhook, a Deployment with a typo, a pod waiting on its
 * Nacos gate, a gated pod without the label) and one it does not (an opted-in Deployment, CronJob
 * and bare pod). Each is reported as it is, and the run exits 1.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { ClusterReader, makeCheckApis } from '../../src/check/cluster-reader.js';
import { CLI, ROOT } from '../support/process.js';
import { createAndGetPod, createNamespace, createPod, env, kube, objectsPath, ok, patchPodStatus, podsPath, waitUntil, type Json } from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';

const hook = useRegisteredWebhook('check', { failurePolicy: 'Fail' });
const SELECTED = hook.namespace;
const OTHER = 'e2e-check-unselected';
const CRONJOB_API = env.kubeMinor < 21 ? 'batch/v1beta1' : 'batch/v1';
const TEN_MINUTES_AGO = new Date(Date.now() - 10 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

function container(name = 'app'): Json {
  return { name, image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] };
}

function deployment(name: string, annotations: Record<string, string>, replicas = 2): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [container()] } },
    },
  };
}

function cronJob(name: string, annotations: Record<string, string>): Json {
  return {
    apiVersion: CRONJOB_API,
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '0 1 * * *',
      jobTemplate: { spec: { template: { metadata: { annotations }, spec: { restartPolicy: 'Never', containers: [container('task')] } } } },
    },
  };
}

function pod(name: string, annotations: Record<string, string>, extra: { labels?: Record<string, string>; readinessGates?: Json[] } = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations, labels: { app: name, ...extra.labels } },
    spec: { containers: [container()], ...(extra.readinessGates && { readinessGates: extra.readinessGates }) },
  };
}

async function create(namespace: string, object: Json, resource: string): Promise<void> {
  await ok(kube('POST', objectsPath(object.apiVersion, resource, namespace), object), `create ${object.kind} ${namespace}/${object.metadata.name}`);
}

async function podsOf(namespace: string, app: string): Promise<Json[]> {
  return (await ok(kube('GET', `${podsPath(namespace)}?labelSelector=app%3D${app}`))).items;
}

function runCheck(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'check', '--kubeconfig', env.kubeconfig, ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

const OPTED_IN = { 'probe-injector.io/inject': 'true' };

beforeAll(async () => {
  await createNamespace(OTHER, {});
  // The selected namespace: through the webhook.
  await create(SELECTED, deployment('injected', OPTED_IN), 'deployments');
  await create(SELECTED, deployment('typo', { ...OPTED_IN, 'probe-injector.io/readyness-path': '/ready' }), 'deployments');
  const gated = await createAndGetPod(
    SELECTED,
    pod('gated', { ...OPTED_IN, 'probe-injector.io/readiness-gates': 'nacos.io/registered', 'probe-injector.io/nacos-service': 'orders' }),
  );
  expect(gated.stored.metadata.labels['probe-injector.io/nacos-gate']).toBe('true'); // the webhook labelled it
  // The kubelet's part (there is no node): an IP, containers ready, and the controller's "not yet".
  await patchPodStatus(SELECTED, 'gated', {
    podIP: '10.1.0.7',
    podIPs: [{ ip: '10.1.0.7' }],
    conditions: [
      { type: 'ContainersReady', status: 'True', lastTransitionTime: TEN_MINUTES_AGO },
      { type: 'nacos.io/registered', status: 'False', reason: 'InstanceNotFound', message: 'orders@DEFAULT_GROUP 10.1.0.7:8080 is not in Nacos', lastTransitionTime: TEN_MINUTES_AGO },
    ],
  });
  const byHand = await createPod(SELECTED, pod('gated-by-hand', {}, { readinessGates: [{ conditionType: 'nacos.io/registered' }] }));
  expect(byHand.status).toBe(201);
  // The namespace no webhook selects: stored as written.
  await create(OTHER, deployment('orders', OPTED_IN, 1), 'deployments');
  await create(OTHER, cronJob('nightly', OPTED_IN), 'cronjobs');
  await create(OTHER, deployment('plain', {}, 1), 'deployments');
  expect((await createPod(OTHER, pod('bare', OPTED_IN))).status).toBe(201);
  if (env.controllerManager) {
    await waitUntil('the ReplicaSet controller to create the injected Deployment\'s pods', async () => (await podsOf(SELECTED, 'injected')).length === 2);
    await waitUntil('the ReplicaSet controller to create the unselected Deployment\'s pod', async () => (await podsOf(OTHER, 'orders')).length === 1);
    await waitUntil('the ReplicaSet controller to report the typo\'s denial', async () => {
      const sets = (await ok(kube('GET', `${objectsPath('apps/v1', 'replicasets', SELECTED)}?labelSelector=app%3Dtypo`))).items;
      return sets.some((set: Json) => (set.status?.conditions ?? []).some((c: Json) => c.type === 'ReplicaFailure'));
    });
  }
});

afterAll(async () => {
  await kube('DELETE', `/api/v1/namespaces/${OTHER}`);
});

const item = (json: Json, namespace: string, kind: string, name: string): Json => {
  const found = json.items.find((i: Json) => i.namespace === namespace && i.kind === kind && i.name === name);
  if (!found) throw new Error(`no row ${kind} ${namespace}/${name} in ${json.items.map((i: Json) => `${i.kind} ${i.namespace}/${i.name}`).join(', ')}`);
  return found;
};
const codes = (row: Json) => row.problems.map((problem: Json) => problem.code);

describe('probe-injector check against kube-apiserver', () => {
  let selected: { code: number | null; json: Json; stderr: string };
  let other: { code: number | null; json: Json; stderr: string };
  beforeAll(async () => {
    const [a, b] = await Promise.all([runCheck(['-n', SELECTED, '-o', 'json']), runCheck(['-n', OTHER, '-o', 'json'])]);
    selected = { code: a.code, json: JSON.parse(a.stdout), stderr: a.stderr };
    other = { code: b.code, json: JSON.parse(b.stdout), stderr: b.stderr };
  });

  it('-o json parses, names the cluster version and our webhook, and exits 1 (problems found)', () => {
    expect(selected.stderr).toBe('');
    expect(selected.code).toBe(1);
    expect(other.code).toBe(1);
    expect(selected.json).toMatchObject({ kind: 'ProbeInjectorCheck', version: 1, namespace: SELECTED, conditionType: 'nacos.io/registered' });
    expect(selected.json.kubernetesVersion).toBe(`1.${env.kubeMinor}`);
    expect(selected.json.webhooks.map((w: Json) => w.id)).toContain(`${hook.configName}/pods.probe-injector.io`);
    expect(selected.json.namespaces).toEqual([{ name: SELECTED, webhook: { selected: true, by: [`${hook.configName}/pods.probe-injector.io`] } }]);
    expect(other.json.namespaces).toEqual([{ name: OTHER, webhook: expect.objectContaining({ selected: false, why: 'namespace-not-selected' }) }]);
  });

  it('the injected Deployment: opted in, selected, its pods carry what the template would get, no problem', () => {
    const row = item(selected.json, SELECTED, 'Deployment', 'injected');
    const added = { containers: { app: ['startupProbe', 'readinessProbe', 'livenessProbe'] }, readinessGates: [], labels: [], terminationGracePeriodSeconds: null };
    expect(row).toMatchObject({ optedIn: true, webhook: { selected: true }, wouldGet: { outcome: 'patched', ...added }, problems: [] });
    if (env.controllerManager) expect(row.injected).toEqual({ pods: 2, injected: 2, added });
  });

  it('the Deployment with a typo: the denial kubectl apply would show, with the template path', () => {
    const row = item(selected.json, SELECTED, 'Deployment', 'typo');
    expect(row.wouldGet.outcome).toBe('denied');
    expect(codes(row)).toEqual(['invalid-annotations']);
    expect(row.problems[0].message).toBe(
      "probe-injector: 1 problem with the pod's annotations (in spec.template): probe-injector.io/readyness-path: unknown annotation; did you mean probe-injector.io/readiness-path?",
    );
    expect(row.injected.pods).toBe(0); // the pod webhook refused every pod
  });

  it('the pod waiting on its gate: since when, how long, the reason; waiting past warnAfterSeconds is a problem', () => {
    const row = item(selected.json, SELECTED, 'Pod', 'gated');
    expect(row.injected.injected).toBe(1);
    expect(row.wouldGet.outcome).toBe('unchanged'); // injected already: nothing more to add
    expect(row.gate.pods).toEqual([
      {
        pod: 'gated',
        status: 'False',
        reason: 'InstanceNotFound',
        message: 'orders@DEFAULT_GROUP 10.1.0.7:8080 is not in Nacos',
        since: new Date(TEN_MINUTES_AGO).toISOString(),
        seconds: expect.any(Number),
        containersReady: true,
        labelled: true,
      },
    ]);
    expect(row.gate.pods[0].seconds).toBeGreaterThanOrEqual(600);
    expect(codes(row)).toEqual(['gate-slow']);
  });

  it('a gated pod without the label is a problem (the controller never sees it)', () => {
    const row = item(selected.json, SELECTED, 'Pod', 'gated-by-hand');
    expect(row.optedIn).toBe(false);
    expect(row.gate).toMatchObject({ waiting: 1, unlabelled: 1 });
    expect(codes(row)).toEqual(['gate-unlabelled']);
  });

  it('a Deployment, a CronJob and a bare pod in a namespace no webhook selects: opted in, not sent, a problem each', () => {
    for (const [kind, name] of [
      ['Deployment', 'orders'],
      ['CronJob', 'nightly'],
      ['Pod', 'bare'],
    ] as const) {
      const row = item(other.json, OTHER, kind, name);
      expect(row.optedIn).toBe(true);
      expect(row.webhook).toEqual({ selected: false, why: 'namespace-not-selected', text: `namespace ${OTHER} is not selected by the namespaceSelector of ${hook.configName}/pods.probe-injector.io` });
      expect(codes(row)).toEqual(['not-selected']);
      expect(row.wouldGet.outcome).toBe('patched');
    }
    if (env.controllerManager) expect(item(other.json, OTHER, 'Deployment', 'orders').injected).toMatchObject({ pods: 1, injected: 0 });
    const plain = item(other.json, OTHER, 'Deployment', 'plain');
    expect(plain).toMatchObject({ optedIn: false, optIn: { why: 'no-annotation' }, problems: [] });
  });

  it('the table: one row per object, the problems in full, exit 1', async () => {
    const { code, stdout, stderr } = await runCheck(['-n', SELECTED]);
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(stdout).toMatch(/\nNAMESPACE +NAME +OPTED IN +WEBHOOK +INJECTED +WOULD GET +GATE +PROBLEMS\n/);
    expect(stdout).toMatch(new RegExp(`\\n${SELECTED} +deployment/typo +yes +yes +no pods +denied +- +1\\n`));
    expect(stdout).toMatch(new RegExp(`\\n${SELECTED} +pod/gated +yes +yes +yes: app: startup,readiness,liveness; 1 gate +nothing more +1 waiting +1\\n`));
    expect(stdout).toContain(`Waiting on the readiness gate nacos.io/registered:\n`);
    expect(stdout).toContain(`  ${SELECTED} pod/gated: False InstanceNotFound since ${new Date(TEN_MINUTES_AGO).toISOString()}`);
    expect(stdout).toContain(`  ${SELECTED} deployment/typo: probe-injector: 1 problem with the pod's annotations (in spec.template)`);
  });

  it('-A reads every namespace: both of ours are in it', async () => {
    const { code, stdout } = await runCheck(['-A', '-o', 'json']);
    expect(code).toBe(1);
    const json = JSON.parse(stdout);
    expect(json.namespace).toBeNull();
    expect(json.namespaces.map((n: Json) => n.name)).toEqual(expect.arrayContaining([SELECTED, OTHER, 'kube-system', 'default']));
    item(json, SELECTED, 'Deployment', 'typo');
    item(json, OTHER, 'CronJob', 'nightly');
  });

  it('lists are read a page at a time: with limit 1 the API server hands out continue tokens, and every object is read once', async () => {
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromFile(env.kubeconfig);
    const pages: number[] = [];
    const paged = new ClusterReader(makeCheckApis(k8s, kubeConfig), { pageSize: 1, onPage: (what, items) => what.startsWith('list pods') && pages.push(items) });
    const whole = new ClusterReader(makeCheckApis(k8s, kubeConfig));
    const names = async (reader: ClusterReader) => {
      const out: string[] = [];
      for await (const pod of reader.pods({ namespace: SELECTED })) out.push(pod.metadata.name);
      return out;
    };
    const [one, all] = [await names(paged), await names(whole)];
    expect(one).toEqual(all);
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(pages.length).toBeGreaterThanOrEqual(all.length); // one pod a page (a last, empty page may follow)
    expect(Math.max(...pages)).toBe(1);
  });

  it('a kubeconfig that cannot be read: exit 2 and one line', async () => {
    const { code, stdout, stderr } = await runCheck(['--kubeconfig', `${env.runDir}/no-such-kubeconfig`]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^probe-injector check: cannot load the Kubernetes configuration \(--kubeconfig .*no-such-kubeconfig\): .*\n$/);
  });

  it('a namespace that does not exist: exit 2 and one line naming the call', async () => {
    const { code, stdout, stderr } = await runCheck(['-n', 'e2e-check-no-such-namespace']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^probe-injector check: get namespace e2e-check-no-such-namespace: HTTP 404: namespaces "e2e-check-no-such-namespace" not found\n$/);
  });
});
