import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import * as v from 'valibot';
import { parseAllDocuments } from 'yaml';
import { CronJobSchema, NamespaceSchema, StoredPodSchema, TemplatedSchema, WebhookConfigurationSchema } from '../src/check/cluster-objects.js';
import type { Scope } from '../src/check/cluster-reader.js';
import type { ClusterSource } from '../src/check/collect.js';
import { alignColumns } from '../src/check/report.js';
import { selection, podWebhooks, type WebhookConfiguration } from '../src/check/webhook.js';
import { check, EXIT } from '../src/commands/check.js';
import { makeInjectionConfig, type ConfigInput } from '../src/core/config.js';
import { ROOT } from './support/process.js';

/**
 * `probe-injector check`'s decisions over a small cluster kept as fixtures (test/fixtures/check):
 * the same collect-and-decide code as against a live API server (test/e2e/check.e2e.ts), fed by a
 * source that serves the fixture objects through the same edge schemas, a page at a time.
 */

const NOW = Date.parse('2024-05-01T12:00:00Z');

function fixtureObjects(file = 'cluster.yaml'): any[] {
  const text = readFileSync(path.join(ROOT, 'test/fixtures/check', file), 'utf8');
  return parseAllDocuments(text).map((document) => document.toJS());
}

/** The fixtures as the cluster reader would yield them: filtered by scope, each checked by its schema. */
function fixtureSource(objects: readonly any[], options: { version?: string; cronJobVersions?: string[] } = {}): ClusterSource & { calls: string[] } {
  const calls: string[] = [];
  const of = <S extends v.GenericSchema>(kind: string, scope: Scope | undefined, schema: S): AsyncIterable<v.InferOutput<S>> =>
    (async function* () {
      calls.push(`${kind}${scope === undefined ? '' : 'namespace' in scope ? ` -n ${scope.namespace}` : ' -A'}`);
      for (const object of objects) {
        if (object.kind !== kind) continue;
        if (scope !== undefined && 'namespace' in scope && object.metadata.namespace !== scope.namespace) continue;
        yield v.parse(schema, structuredClone(object));
      }
    })();
  return {
    calls,
    version: async () => ({ major: '1', minor: options.version ?? '30', gitVersion: `v1.${options.version ?? '30'}.0` }),
    webhookConfigurations: () => of('MutatingWebhookConfiguration', undefined, WebhookConfigurationSchema),
    namespace: async (name) => {
      const found = objects.find((object) => object.kind === 'Namespace' && object.metadata.name === name);
      if (!found) throw new Error(`namespace ${name} not found`);
      return v.parse(NamespaceSchema, found);
    },
    namespaces: () => of('Namespace', undefined, NamespaceSchema),
    deployments: (scope) => of('Deployment', scope, TemplatedSchema),
    statefulSets: (scope) => of('StatefulSet', scope, TemplatedSchema),
    daemonSets: (scope) => of('DaemonSet', scope, TemplatedSchema),
    replicaSets: (scope) => of('ReplicaSet', scope, TemplatedSchema),
    replicationControllers: (scope) => of('ReplicationController', scope, TemplatedSchema),
    jobs: (scope) => of('Job', scope, TemplatedSchema),
    cronJobs: (scope, version) => {
      calls.push(`cronjobs batch/${version}`);
      return of('CronJob', scope, CronJobSchema);
    },
    pods: (scope) => of('Pod', scope, StoredPodSchema),
  };
}

async function run(scope: Scope, options: { objects?: any[]; config?: ConfigInput; output?: 'table' | 'json'; version?: string } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let text = '';
  stdout.on('data', (chunk) => (text += chunk));
  const source = fixtureSource(options.objects ?? fixtureObjects(), { ...(options.version !== undefined && { version: options.version }) });
  const code = await check(source, scope, makeInjectionConfig(options.config), options.output ?? 'json', { stdout, stderr }, () => NOW);
  return { code, text, json: options.output === 'table' ? undefined : JSON.parse(text), calls: source.calls };
}

const row = (json: any, id: string) => {
  const [kind, name] = id.split('/');
  const found = json.items.filter((item: any) => item.kind.toLowerCase() === kind && item.name === name);
  if (found.length !== 1) throw new Error(`expected one row ${id}, found ${found.length}: ${json.items.map((i: any) => `${i.kind}/${i.name}`).join(', ')}`);
  return found[0];
};

describe('check: each workload and bare pod of the fixture cluster (namespace shop)', () => {
  // [row, opted in, why, webhook selected, pods, injected, would get, problem codes, waiting]
  const table: [string, boolean, string, boolean, number, number, string, string[], number][] = [
    ['deployment/orders', true, 'annotation', true, 2, 2, 'patched', [], 0],
    ['deployment/typo', true, 'annotation', true, 0, 0, 'denied', ['invalid-annotations'], 0],
    ['deployment/legacy', false, 'no-annotation', true, 0, 0, 'skipped', [], 0],
    ['statefulset/db', false, 'opted-out', true, 0, 0, 'skipped', [], 0],
    ['daemonset/agent', true, 'annotation', true, 0, 0, 'denied', ['invalid-annotations'], 0],
    ['replicaset/standalone', true, 'annotation', true, 0, 0, 'patched', [], 0],
    ['job/migrate', true, 'annotation', true, 1, 0, 'patched', ['not-injected'], 0],
    ['cronjob/nightly', false, 'misspelt-key', true, 1, 0, 'skipped', ['misspelt-key'], 0],
    ['pod/gated', true, 'annotation', true, 1, 1, 'unchanged', ['gate-slow'], 1],
    ['pod/gated-by-hand', false, 'no-annotation', true, 1, 0, 'skipped', ['gate-unlabelled'], 1],
    ['pod/registered', true, 'annotation', true, 1, 1, 'unchanged', [], 0],
    ['pod/plain', false, 'no-annotation', true, 1, 0, 'skipped', [], 0],
  ];
  let result: Awaited<ReturnType<typeof run>>;
  it('reads the namespace and exits 1: problems were found', async () => {
    result = await run({ namespace: 'shop' });
    expect(result.code).toBe(EXIT.problem);
    expect(result.json.items).toHaveLength(table.length); // nothing else: owned ReplicaSets and Jobs, the mirror pod
    expect(result.json.problems).toBe(table.reduce((sum, entry) => sum + entry[7].length, 0));
  });
  it.each(table)('%s: opted in %s (%s), selected %s, %i pods / %i injected, would get %s, problems %j, waiting %i', (id, optedIn, why, selected, pods, injected, outcome, codes, waiting) => {
    const item = row(result.json, id);
    expect(item.optedIn).toBe(optedIn);
    expect(item.optIn.why).toBe(why);
    expect(item.webhook.selected).toBe(selected);
    expect(item.injected.pods).toBe(pods);
    expect(item.injected.injected).toBe(injected);
    expect(item.wouldGet.outcome).toBe(outcome);
    expect(item.problems.map((problem: any) => problem.code)).toEqual(codes);
    expect(item.gate.waiting).toBe(waiting);
  });

  it('says what the pods got (their status annotation) and what the template would get now', () => {
    const orders = row(result.json, 'deployment/orders');
    expect(orders.webhook.by).toEqual(['probe-injector/pods.probe-injector.io']);
    expect(orders.injected.added).toEqual({ containers: { app: ['startupProbe', 'readinessProbe', 'livenessProbe'] }, readinessGates: [], labels: [], terminationGracePeriodSeconds: null });
    expect(orders.wouldGet).toEqual({ outcome: 'patched', containers: { app: ['startupProbe', 'readinessProbe', 'livenessProbe'] }, readinessGates: [], labels: [], terminationGracePeriodSeconds: null });
  });

  it('the denial is the message kubectl apply would show, with the template path', () => {
    expect(row(result.json, 'deployment/typo').problems[0].message).toBe(
      "probe-injector: 1 problem with the pod's annotations (in spec.template): probe-injector.io/readyness-path: unknown annotation; did you mean probe-injector.io/readiness-path?",
    );
    expect(row(result.json, 'daemonset/agent').problems[0].message).toMatch(/^probe-injector: .*\(in spec\.template\): probe-injector\.io\/nacos-service: .*nacos\.io\/registered/);
  });

  it('a misspelt inject key is why a CronJob is not opted in, and its Job and pod count as its own', () => {
    const nightly = row(result.json, 'cronjob/nightly');
    expect(nightly.optIn.text).toContain('did you mean probe-injector.io/inject?');
    expect(nightly.problems[0].message).toContain('probe-injector.io/injcet');
  });

  it('a pod waiting on the gate: since when (lastTransitionTime), for how long, the reason and message', () => {
    const gated = row(result.json, 'pod/gated');
    expect(gated.gate.pods).toEqual([
      {
        pod: 'gated',
        status: 'False',
        reason: 'InstanceNotFound',
        message: 'gated@DEFAULT_GROUP 10.1.0.7:8080 is not in Nacos \u001b[31m',
        since: '2024-05-01T11:50:00.000Z',
        seconds: 600,
        containersReady: true,
        labelled: true,
      },
    ]);
    expect(gated.problems[0].message).toContain('longer than nacos.gate.warnAfterSeconds (120s)');
    const byHand = row(result.json, 'pod/gated-by-hand');
    expect(byHand.gate.pods[0]).toMatchObject({ status: 'absent', since: '2024-05-01T11:58:00.000Z', seconds: 120, containersReady: false, labelled: false });
    expect(byHand.problems[0].message).toContain('without the label probe-injector.io/nacos-gate: "true"');
  });

  it('a waiting pod is not slow before nacos.gate.warnAfterSeconds', async () => {
    const relaxed = await run({ namespace: 'shop' }, { config: { nacos: { gate: { warnAfterSeconds: 900 } } } });
    expect(row(relaxed.json, 'pod/gated').problems).toEqual([]);
  });

  it('the gate condition type comes from the config', async () => {
    const other = await run({ namespace: 'shop' }, { config: { nacos: { gate: { conditionType: 'example.com/other' } } } });
    expect(row(other.json, 'pod/gated').gate.waiting).toBe(0);
    expect(row(other.json, 'pod/gated-by-hand').problems).toEqual([]);
    expect(other.json.conditionType).toBe('example.com/other');
  });
});

describe('check: namespaces and webhooks', () => {
  it('-A: an opted-in Deployment in a namespace the namespaceSelector excludes is a problem', async () => {
    const result = await run({ all: true });
    const old = row(result.json, 'deployment/old');
    expect(old.webhook).toEqual({
      selected: false,
      why: 'namespace-not-selected',
      text: 'namespace legacy is not selected by the namespaceSelector of probe-injector/pods.probe-injector.io',
    });
    expect(old.problems.map((p: any) => p.code)).toEqual(['not-selected']);
    expect(result.json.namespaces).toEqual([
      { name: 'shop', webhook: { selected: true, by: ['probe-injector/pods.probe-injector.io'] } },
      { name: 'legacy', webhook: expect.objectContaining({ selected: false, why: 'namespace-not-selected' }) },
    ]);
    expect(result.json.items.map((item: any) => item.namespace)).toEqual([...result.json.items.map((item: any) => item.namespace)].sort());
  });

  it('no webhook configuration at all: opted-in objects are problems, the others are not', async () => {
    const objects = fixtureObjects().filter((object) => object.metadata.name !== 'probe-injector');
    const result = await run({ namespace: 'shop' }, { objects });
    expect(result.json.webhooks).toEqual([]);
    expect(row(result.json, 'deployment/orders').webhook).toMatchObject({ selected: false, why: 'no-webhook' });
    expect(row(result.json, 'deployment/orders').problems.map((p: any) => p.code)).toEqual(['not-selected']);
    expect(row(result.json, 'deployment/legacy').problems).toEqual([]);
  });

  it('a clean namespace exits 0', async () => {
    const objects = fixtureObjects().filter((object) => ['MutatingWebhookConfiguration', 'Namespace'].includes(object.kind) || ['orders', 'orders-5d9', 'orders-5d9-a', 'legacy', 'db', 'registered', 'plain'].includes(object.metadata.name));
    const result = await run({ namespace: 'shop' }, { objects });
    expect(result.json.problems).toBe(0);
    expect(result.code).toBe(EXIT.ok);
  });

  it('before Kubernetes 1.21 CronJobs are read as batch/v1beta1', async () => {
    expect((await run({ namespace: 'shop' }, { version: '20' })).calls).toContain('cronjobs batch/v1beta1');
    expect((await run({ namespace: 'shop' }, { version: '21' })).calls).toContain('cronjobs batch/v1');
  });

  const webhook = (overrides: Record<string, unknown>): WebhookConfiguration => ({
    name: 'cfg',
    webhooks: [{ name: 'pods.probe-injector.io', clientConfig: { url: 'https://h/mutate' }, rules: [{ operations: ['CREATE'], apiGroups: [''], resources: ['pods'] }], ...overrides }],
  });
  it.each<[string, WebhookConfiguration[], Record<string, unknown>]>([
    ['no configuration', [], { selected: false, why: 'no-webhook' }],
    ['selector absent: everything', [webhook({})], { selected: true, by: ['cfg/pods.probe-injector.io'] }],
    ['matchLabels on the namespace', [webhook({ namespaceSelector: { matchLabels: { team: 'shop' } } })], { selected: true }],
    ['matchLabels not met', [webhook({ namespaceSelector: { matchLabels: { team: 'other' } } })], { selected: false, why: 'namespace-not-selected' }],
    ['objectSelector not met by the pod', [webhook({ objectSelector: { matchLabels: { inject: 'yes' } } })], { selected: false, why: 'object-not-selected' }],
    ['rules without pods', [webhook({ rules: [{ operations: ['CREATE'], apiGroups: ['apps'], resources: ['deployments'] }] })], { selected: false, why: 'no-pod-rule' }],
    ['rules with * operations and */*', [webhook({ rules: [{ operations: ['*'], apiGroups: ['*'], resources: ['*/*'] }] })], { selected: true }],
    ['found by its /mutate path under another name', [{ name: 'x', webhooks: [{ ...webhook({}).webhooks[0]!, name: 'renamed.example' }] }], { selected: true, by: ['x/renamed.example'] }],
    ['another path and name is not ours', [{ name: 'x', webhooks: [{ ...webhook({}).webhooks[0]!, name: 'other', clientConfig: { url: 'https://h/inject' } }] }], { selected: false, why: 'no-webhook' }],
  ])('%s', (_name, configurations, expected) => {
    expect(selection(podWebhooks(configurations), 'shop', { team: 'shop' }, { app: 'orders' })).toMatchObject(expected);
  });
});

describe('check: the table', () => {
  it('one aligned row per object, then the waiting pods and every problem in full; nothing raw from the cluster', async () => {
    const { text, code } = await run({ namespace: 'shop' }, { output: 'table' });
    expect(code).toBe(EXIT.problem);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Webhook: probe-injector/pods.probe-injector.io -> service probe-injector/probe-injector:443/mutate');
    expect(lines[1]).toBe('Namespace shop: selected by probe-injector/pods.probe-injector.io');
    const header = lines.indexOf(lines.find((line) => line.startsWith('NAMESPACE'))!);
    const rows = lines.slice(header, header + 13);
    expect(rows.map((line) => line.split(/\s{2,}/)[1])).toEqual([
      'NAME',
      'deployment/legacy',
      'deployment/orders',
      'deployment/typo',
      'statefulset/db',
      'daemonset/agent',
      'replicaset/standalone',
      'job/migrate',
      'cronjob/nightly',
      'pod/gated',
      'pod/gated-by-hand',
      'pod/plain',
      'pod/registered',
    ]);
    for (const title of ['OPTED IN', 'WEBHOOK', 'INJECTED', 'WOULD GET', 'GATE', 'PROBLEMS']) {
      const column = rows[0]!.indexOf(title);
      for (const line of rows.slice(1)) expect(line[column - 1]).toBe(' '); // every cell starts at its column
    }
    expect(rows.find((line) => line.includes('deployment/orders'))).toMatch(/ yes +yes +2\/2 pods +app: startup,readiness,liveness +- +-$/);
    expect(rows.find((line) => line.includes('cronjob/nightly'))).toMatch(/ no \(misspelt key\) +yes +0\/1 pods +- +- +1$/);
    expect(rows.find((line) => line.includes('deployment/typo'))).toMatch(/ yes +yes +no pods +denied +- +1$/);
    expect(rows.find((line) => line.includes('pod/gated '))).toMatch(/ yes +yes +yes: app: startup,readiness,liveness; 1 gate +nothing more +1 waiting +1$/);
    expect(rows.find((line) => line.includes('pod/gated-by-hand'))).toMatch(/ no \(no annotation\) +yes +no +- +1 waiting, 1 unlabelled +1$/);
    expect(text).toContain('Waiting on the readiness gate nacos.io/registered:\n  shop pod/gated: False InstanceNotFound since 2024-05-01T11:50:00.000Z (10m0s): "gated@DEFAULT_GROUP 10.1.0.7:8080 is not in Nacos \\u001b[31m"\n');
    expect(text).toContain('  shop pod/gated-by-hand: no condition yet since 2024-05-01T11:58:00.000Z (2m0s) [containers not ready, no gate label]');
    expect(text).toMatch(/\nProblems \(6\):\n/);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/); // no control character but newlines
  });

  it('alignColumns pads every column but the last to its widest cell', () => {
    expect(alignColumns([['A', 'BB', 'C'], ['aaa', 'b', 'c']])).toBe('A    BB  C\naaa  b   c\n');
  });
});

describe('check: any cluster content (fast-check)', () => {
  const text = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('\u001b[2J', 'a\nb', '\u2028', '\u0085', 'true', 'false', '__proto__'));
  const name = fc.oneof(fc.constantFrom('app', 'web', '__proto__', 'constructor'), text.filter((s) => s.length > 0));
  const annotations = fc.dictionary(
    fc.oneof(fc.constantFrom('probe-injector.io/inject', 'probe-injector.io/injcet', 'Probe-Injector.io/inject', 'probe-injector.io/readiness-gates', 'probe-injector.io/status', 'probe-injector.io/port'), text),
    fc.oneof(fc.constantFrom('true', 'false', 'nacos.io/registered', '{"containers":{"app":["readinessProbe"]}}', '8080'), text),
    { maxKeys: 4 },
  );
  const container = fc.record({ name, image: fc.constant('x'), ports: fc.option(fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 2 }), { nil: undefined }) });
  const condition = fc.record({
    type: fc.constantFrom('nacos.io/registered', 'ContainersReady', 'Ready'),
    status: fc.constantFrom('True', 'False', 'Unknown'),
    reason: fc.option(text, { nil: undefined }),
    message: fc.option(text, { nil: undefined }),
    lastTransitionTime: fc.option(fc.constantFrom('2024-05-01T11:00:00Z', 'not a time', '9999-12-31T23:59:59Z'), { nil: undefined }),
  });
  const owner = fc.option(fc.record({ kind: fc.constantFrom('ReplicaSet', 'Job', 'StatefulSet', 'Node'), name: fc.constant('o'), uid: fc.constantFrom('u1', 'u2', 'u3'), controller: fc.boolean() }), { nil: undefined });
  const template = fc.record({ metadata: fc.record({ labels: fc.dictionary(text, text, { maxKeys: 2 }), annotations }), spec: fc.record({ containers: fc.array(container, { minLength: 1, maxLength: 2 }) }) });
  const workload = fc.record({
    kind: fc.constantFrom('Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController'),
    metadata: fc.record({ name, namespace: fc.constant('shop'), uid: fc.constantFrom('u1', 'u2', 'u3', 'u4'), ownerReferences: fc.option(fc.array(owner.filter((o) => o !== undefined), { maxLength: 1 }), { nil: undefined }) }),
    spec: fc.record({ template }),
  });
  const pod = fc.record({
    kind: fc.constant('Pod'),
    metadata: fc.record({
      name,
      namespace: fc.constant('shop'),
      uid: fc.string({ minLength: 1, maxLength: 5 }),
      labels: fc.dictionary(fc.constantFrom('app', 'probe-injector.io/nacos-gate'), fc.constantFrom('true', 'x'), { maxKeys: 2 }),
      annotations,
      ownerReferences: fc.option(fc.array(owner.filter((o) => o !== undefined), { maxLength: 1 }), { nil: undefined }),
      creationTimestamp: fc.option(fc.constant('2024-05-01T11:00:00Z'), { nil: undefined }),
    }),
    spec: fc.record({ containers: fc.array(container, { minLength: 1, maxLength: 2 }), readinessGates: fc.option(fc.constant([{ conditionType: 'nacos.io/registered' }]), { nil: undefined }) }),
    status: fc.record({ conditions: fc.array(condition, { maxLength: 3 }) }),
  });
  const base = fixtureObjects().filter((object) => ['MutatingWebhookConfiguration', 'Namespace'].includes(object.kind));

  it('never throws; exit 0 or 1; the JSON parses; the table has no control character and one row per item', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(workload, pod), { maxLength: 8 }), async (objects) => {
        const json = await run({ namespace: 'shop' }, { objects: [...base, ...objects] });
        expect([EXIT.ok, EXIT.problem]).toContain(json.code);
        expect(json.code).toBe(json.json.problems > 0 ? EXIT.problem : EXIT.ok);
        const table = await run({ namespace: 'shop' }, { objects: [...base, ...objects], output: 'table' });
        expect(table.text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
        const rows = table.text.split('\n').filter((line) => line.startsWith('shop  ') || /^shop +\S+\//.test(line));
        expect(rows).toHaveLength(json.json.items.length);
      }),
      { numRuns: 150 },
    );
  });
});
