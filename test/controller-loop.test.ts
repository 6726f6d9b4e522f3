/**
 * The gate controller's loop (src/controller/gate-controller.ts) on a manual clock: which pods it
 * waits for, when and how often it asks Nacos (one call per service per pollSeconds, only while a
 * pod waits; 100 pods of one service cost one call), what it writes to pods/status (with the
 * resourceVersion precondition, retried on 409), the Events, the leader-only rule, the timeout
 * policies through the loop, and pods it cannot read or identify. Nacos is an injected lister
 * here (the real client against the Nacos test server is in controller-nacos.test.ts); the
 * identity is the core's resolveNacosIdentity; the API server is the faithful in-memory double of
 * controller-support.ts (the real one: test/e2e/controller.e2e.ts).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { GateController, type ControllerSettings } from '../src/controller/gate-controller.js';
import { createControllerMetrics } from '../src/controller/metrics.js';
import { serviceKey, type NacosInstance, type NacosServiceRef } from '../src/controller/nacos-lister.js';
import { makeInjectionConfig, type ConfigInput } from '../src/core/config.js';
import { resolveNacosIdentity } from '../src/core/nacos-identity.js';
import { FakeApiServer, gatedPod, ManualClock, recordingLogger, T0, type Json } from './controller-support.js';

const ref = (service: string, namespace = 'public', group = 'DEFAULT_GROUP'): NacosServiceRef => ({ namespace, group, service });
const instance = (ip: string, fields: Partial<NacosInstance> = {}): NacosInstance => ({ ip, port: 8080, healthy: true, enabled: true, weight: 1, clusterName: 'DEFAULT', ...fields });

function harness(options: { config?: ConfigInput; leader?: boolean; events?: { perSecond?: number; burst?: number } } = {}) {
  const clock = new ManualClock();
  const api = new FakeApiServer();
  const logger = recordingLogger();
  const metrics = createControllerMetrics({ processMetrics: false });
  let config = makeInjectionConfig(options.config ?? {});
  const settings = (): ControllerSettings => ({ gate: config.nacos.gate, identify: (pod) => resolveNacosIdentity(pod, config) });
  const registry = new Map<string, NacosInstance[]>();
  const calls: { ref: NacosServiceRef; at: number; clusters?: readonly string[] | undefined }[] = [];
  let down: Error | undefined;
  const nacos = {
    async listInstances({ clusters, ...service }: NacosServiceRef & { clusters?: readonly string[] }) {
      calls.push({ ref: service, at: clock.now(), ...(clusters && { clusters }) });
      await Promise.resolve();
      if (down) throw down;
      return registry.get(serviceKey(service)) ?? [];
    },
  };
  const controller = new GateController({ settings, nacos, api, clock, logger, metrics, instance: 'controller-0', random: () => 0.5, events: options.events });
  if (options.leader ?? true) controller.setLeader(true);
  const h = {
    clock,
    api,
    logger,
    metrics,
    controller,
    calls,
    register(service: string, ...hosts: NacosInstance[]) {
      registry.set(serviceKey(ref(service)), hosts);
    },
    setDown(error: Error | undefined) {
      down = error;
    },
    setConfig(input: ConfigInput) {
      config = makeInjectionConfig(input);
    },
    /** Stores the pod and feeds it to the controller as the informer would. */
    async add(pod: Json) {
      controller.upsert(api.put(pod));
      await controller.settled();
    },
    /** Another writer (the kubelet) changes the pod; the informer delivers it. */
    async change(key: string, mutate: (pod: Json) => void) {
      controller.upsert(api.change(key, mutate));
      await controller.settled();
    },
    /** Time passes in steps of `stepMs`; the controller's timer ticks at each. */
    async advance(ms: number, stepMs = 100) {
      for (let left = ms; left > 0; left -= stepMs) {
        clock.advance(Math.min(stepMs, left));
        controller.tick();
        await controller.settled();
      }
    },
    /** A sample's value (summed over label sets matching `labels`); `_count`/`_sum` of histograms too. */
    async metric(name: string, labels: Record<string, string> = {}) {
      const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name || m.name === name.replace(/_(count|sum)$/, ''));
      if (!metric) throw new Error(`no metric ${name}`);
      const values = metric.values as { value: number; labels: Record<string, unknown>; metricName?: string }[];
      return values.filter((v) => (v.metricName ?? metric.name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
    },
  };
  return h;
}

describe('a pod whose instance is in Nacos', () => {
  it('is set True with reason NacosRegistered within the same second, with a Normal event, a log line and the wait measured', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 - 2500 }));
    expect(h.calls).toEqual([{ ref: ref('orders'), at: T0 }]);
    expect(h.api.condition('shop/orders-1')).toEqual({
      type: 'nacos.io/registered',
      status: 'True',
      reason: 'NacosRegistered',
      message: 'orders@DEFAULT_GROUP 10.1.0.7:8080 is healthy and enabled in Nacos',
      lastTransitionTime: '2026-03-01T10:00:00Z',
    });
    // The kubelet's conditions are untouched.
    expect(h.api.get('shop/orders-1')!.status.conditions.map((c: Json) => `${c.type}=${c.status}`)).toEqual(['Initialized=True', 'ContainersReady=True', 'Ready=False', 'nacos.io/registered=True']);
    expect(h.api.events).toEqual([
      expect.objectContaining({
        type: 'Normal',
        reason: 'NacosRegistered',
        message: 'orders@DEFAULT_GROUP 10.1.0.7:8080 is healthy and enabled in Nacos (after 2.5 s)',
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'orders-1', uid: 'uid-orders-1', resourceVersion: expect.any(String) },
        source: { component: 'probe-injector-controller' },
        reportingInstance: 'controller-0',
        count: 1,
      }),
    ]);
    expect(h.logger.lines.filter((line) => line.msg === 'gate changed')).toEqual([
      expect.objectContaining({ level: 'info', pod: 'shop/orders-1', status: 'True', reason: 'NacosRegistered', nacos: 'orders@DEFAULT_GROUP', port: 8080, waitedSeconds: 2.5 }),
    ]);
    expect(await h.metric('probe_injector_gate_wait_seconds_count', { reason: 'NacosRegistered' })).toBe(1);
    expect(await h.metric('probe_injector_gate_wait_seconds_sum', { reason: 'NacosRegistered' })).toBe(2.5);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(0);
    expect(await h.metric('probe_injector_gate_nacos_lists_total', { outcome: 'success' })).toBe(1);
    // Nothing more happens: no pod waits, so Nacos is not asked again.
    await h.advance(20_000, 500);
    expect(h.calls).toHaveLength(1);
    expect(h.api.writes()).toHaveLength(1);
  });

  it('the patch carries the resourceVersion it was decided on and only our condition', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    const stored = h.api.put(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    h.controller.upsert(stored);
    await h.controller.settled();
    expect(h.api.patches[0]!.patch).toEqual({
      metadata: { resourceVersion: stored.metadata.resourceVersion },
      status: { conditions: [{ type: 'nacos.io/registered', status: 'True', reason: 'NacosRegistered', message: expect.any(String), lastTransitionTime: '2026-03-01T10:00:00Z', lastProbeTime: null }] },
    });
  });
});

describe('which pods wait, and when Nacos is asked', () => {
  it('only once the pod has an IP and ContainersReady is True; the first check at once', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    await h.add(gatedPod({ name: 'orders-1', service: 'orders' })); // no IP, not ready
    await h.advance(5000);
    await h.change('shop/orders-1', (pod) => (pod.status.podIPs = [{ ip: '10.1.0.7' }])); // IP, not ready
    await h.advance(5000);
    expect(h.calls).toHaveLength(0);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(0);
    await h.change('shop/orders-1', (pod) => {
      const ready = pod.status.conditions.find((c: Json) => c.type === 'ContainersReady');
      ready.status = 'True';
      ready.lastTransitionTime = new Date(T0 + 10_000).toISOString();
    });
    expect(h.calls.map((call) => call.at)).toEqual([T0 + 10_000]);
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
  });

  it('pods without the label, without the readiness gate, terminating or finished are left alone', async () => {
    const h = harness();
    const unlabelled = gatedPod({ name: 'a', service: 'orders', ip: '10.1.0.1', readyAt: T0 });
    delete unlabelled.metadata.labels['probe-injector.io/nacos-gate'];
    await h.add(unlabelled);
    await h.add(gatedPod({ name: 'b', service: 'orders', ip: '10.1.0.2', readyAt: T0, gate: false }));
    await h.add({ ...gatedPod({ name: 'c', service: 'orders', ip: '10.1.0.3', readyAt: T0 }), metadata: { ...gatedPod({ name: 'c', service: 'orders' }).metadata, deletionTimestamp: new Date(T0).toISOString() } });
    const finished = gatedPod({ name: 'd', service: 'orders', ip: '10.1.0.4', readyAt: T0 });
    finished.status.phase = 'Failed';
    await h.add(finished);
    await h.add(gatedPod({ name: 'e', service: 'orders', ip: '10.1.0.5', readyAt: T0, labels: { 'probe-injector.io/nacos-gate': 'false' } }));
    await h.advance(10_000, 1000);
    expect(h.calls).toHaveLength(0);
    expect(h.api.patches).toHaveLength(0);
  });

  it('a pod whose gate is already True is never touched', async () => {
    const h = harness();
    const pod = gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 });
    pod.status.conditions.push({ type: 'nacos.io/registered', status: 'True', reason: 'Manual' });
    await h.add(pod);
    await h.advance(10_000, 1000);
    expect(h.calls).toHaveLength(0);
    expect(h.api.patches).toHaveLength(0);
  });

  it('asks only for services that have pods waiting, once per pollSeconds each', async () => {
    const h = harness();
    h.register('payments', instance('10.2.0.1'));
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    await h.add(gatedPod({ name: 'payments-1', service: 'payments', ip: '10.2.0.1', readyAt: T0 }));
    await h.add(gatedPod({ name: 'stock-1', service: 'stock', ip: '10.3.0.1' })); // not ready: its service is never asked
    await h.advance(10_000);
    const byService = (service: string) => h.calls.filter((call) => call.ref.service === service).map((call) => call.at - T0);
    expect(byService('payments')).toEqual([0]); // registered at once: never asked again
    expect(byService('orders')).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
    expect(byService('stock')).toEqual([]);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(1);
    expect(await h.metric('probe_injector_gate_services_waiting')).toBe(1);
  });

  it('100 pods of one service cost one call per period; all are set when the instances appear', async () => {
    const h = harness();
    for (let i = 0; i < 100; i++) await h.add(gatedPod({ name: `orders-${i}`, service: 'orders', ip: `10.1.${i >> 8}.${i & 255}`, readyAt: T0 }));
    expect(h.calls).toHaveLength(1);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(100);
    await h.advance(9_999, 50);
    expect(h.calls.map((call) => call.at - T0)).toEqual([0, 2000, 4000, 6000, 8000]);
    // Every pod was told why it waits, once.
    expect(h.api.writes().map((w) => w.patch.status.conditions[0].reason)).toEqual(Array(100).fill('InstanceNotFound'));
    h.register('orders', ...Array.from({ length: 100 }, (_, i) => instance(`10.1.${i >> 8}.${i & 255}`)));
    await h.advance(1, 1);
    expect(h.calls).toHaveLength(6);
    expect(h.api.writes().filter((w) => w.patch.status.conditions[0].status === 'True')).toHaveLength(100);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(0);
    await h.advance(10_000, 500);
    expect(h.calls).toHaveLength(6);
  });

  it('a pod that starts waiting just after its service was asked is checked at once against that answer, without a second call in the period', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.2'));
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    await h.advance(1000);
    // The answer of T0 lists 10.1.0.2; the next call is due at T0+2000.
    await h.add(gatedPod({ name: 'orders-2', service: 'orders', ip: '10.1.0.2', readyAt: T0 + 1000 }));
    expect(h.calls).toHaveLength(1);
    expect(h.api.condition('shop/orders-2')?.status).toBe('True');
    // One that is not in that answer is not told InstanceNotFound from an answer older than its readiness.
    await h.add(gatedPod({ name: 'orders-3', service: 'orders', ip: '10.1.0.3', readyAt: T0 + 1000 }));
    expect(h.api.condition('shop/orders-3')).toBeUndefined();
    await h.advance(1000);
    expect(h.calls).toHaveLength(2);
    expect(h.api.condition('shop/orders-3')?.reason).toBe('InstanceNotFound');
    expect(h.api.condition('shop/orders-1')?.reason).toBe('InstanceNotFound');
  });

  it('a service nobody waits for any more is not asked again early when a pod comes back', async () => {
    const h = harness();
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    h.controller.remove(h.api.get('shop/orders-1'));
    await h.advance(500);
    await h.add(gatedPod({ name: 'orders-2', service: 'orders', ip: '10.1.0.2', readyAt: T0 }));
    await h.advance(1400);
    expect(h.calls.map((call) => call.at - T0)).toEqual([0]);
    await h.advance(200);
    expect(h.calls.map((call) => call.at - T0)).toEqual([0, 2000]);
  });

  it('a deleted pod stops the polling of its service', async () => {
    const h = harness();
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    await h.advance(2000);
    h.controller.remove(h.api.get('shop/orders-1'));
    await h.advance(10_000);
    expect(h.calls).toHaveLength(2);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(0);
  });

  it('pods of different Nacos namespaces and groups are different services', async () => {
    const h = harness({ config: { nacos: { namespace: 'dev', group: 'SHOP' } } });
    await h.add(gatedPod({ name: 'a', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    await h.add(gatedPod({ name: 'b', service: 'orders', ip: '10.1.0.2', readyAt: T0, annotations: { 'probe-injector.io/nacos-group': 'OTHER' } }));
    await h.add(gatedPod({ name: 'c', service: 'orders', ip: '10.1.0.3', readyAt: T0, annotations: { 'probe-injector.io/nacos-namespace': 'public' } }));
    expect(h.calls.map((call) => call.ref)).toEqual([ref('orders', 'dev', 'SHOP'), ref('orders', 'dev', 'OTHER'), ref('orders', 'public', 'SHOP')]);
  });

  it('asks Nacos for the clusters the pods name when all of them name one; for every cluster otherwise', async () => {
    const h = harness({ config: { nacos: { gate: { pollSeconds: 1 } } } });
    h.register('orders', instance('10.1.0.1', { clusterName: 'east' }), instance('10.1.0.2', { clusterName: 'DEFAULT' }));
    await h.add(gatedPod({ name: 'a', service: 'orders', ip: '10.1.0.1', readyAt: T0, annotations: { 'probe-injector.io/nacos-cluster': 'west' } }));
    await h.add(gatedPod({ name: 'b', service: 'orders', ip: '10.1.0.3', readyAt: T0, annotations: { 'probe-injector.io/nacos-cluster': 'east' } }));
    await h.advance(1000);
    await h.add(gatedPod({ name: 'c', service: 'orders', ip: '10.1.0.4', readyAt: T0 }));
    await h.advance(1000);
    expect(h.calls.map((call) => call.clusters)).toEqual([['west'], ['east', 'west'], undefined]);
    // A pod of cluster west is not registered by an instance of cluster east on its IP.
    expect(h.api.condition('shop/a')).toEqual(expect.objectContaining({ reason: 'InstanceNotFound', message: "orders@DEFAULT_GROUP 10.1.0.1:8080 (cluster west) is not listed in Nacos; on the pod's IP it lists 10.1.0.1:8080 in cluster east" }));
  });

  it('the configured pollSeconds, read at every tick (a reloaded config applies at once)', async () => {
    const h = harness({ config: { nacos: { gate: { pollSeconds: 5 } } } });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    await h.advance(10_000);
    expect(h.calls.map((call) => call.at - T0)).toEqual([0, 5000, 10_000]);
    h.setConfig({ nacos: { gate: { pollSeconds: 1 } } });
    await h.advance(3000);
    expect(h.calls.map((call) => call.at - T0)).toEqual([0, 5000, 10_000, 11_000, 12_000, 13_000]);
  });
});

describe('reasons while waiting, and never back from True', () => {
  it('InstanceNotFound → InstanceUnhealthy → InstanceDisabled → True, each written once; then nothing, whatever Nacos says', async () => {
    const h = harness();
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    await h.advance(4000);
    h.register('orders', instance('10.1.0.7', { healthy: false }));
    await h.advance(4000);
    h.register('orders', instance('10.1.0.7', { weight: 0 }));
    await h.advance(4000);
    h.register('orders', instance('10.1.0.7', { port: 9090 }));
    await h.advance(4000);
    expect(h.api.writes().map((w) => w.patch.status.conditions[0].reason)).toEqual(['InstanceNotFound', 'InstanceUnhealthy', 'InstanceDisabled', 'InstanceNotFound']);
    expect(h.api.condition('shop/orders-1')).toEqual(
      expect.objectContaining({ status: 'False', reason: 'InstanceNotFound', message: "orders@DEFAULT_GROUP 10.1.0.7:8080 is not listed in Nacos; on the pod's IP it lists 10.1.0.7:9090", lastTransitionTime: '2026-03-01T10:00:00Z' }),
    );
    h.register('orders', instance('10.1.0.7'));
    await h.advance(2000);
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    h.register('orders');
    h.setDown(new Error('connection refused'));
    await h.advance(20_000, 1000);
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    expect(h.api.writes()).toHaveLength(5);
    // Even a stale copy of the pod from before the write (a lagging informer) does not bring it back.
    h.controller.upsert({ ...h.api.get('shop/orders-1'), status: gatedPod({ name: 'x', ip: '10.1.0.7', readyAt: T0 }).status, metadata: { ...h.api.get('shop/orders-1')!.metadata, resourceVersion: '1' } });
    await h.advance(4000);
    expect(h.api.writes()).toHaveLength(5);
  });

  it('a pod the kubelet restarts (ContainersReady False, then True again) waits again only if its gate is not True', async () => {
    const h = harness();
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    await h.change('shop/orders-1', (pod) => (pod.status.conditions[1].status = 'False'));
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(0);
    await h.advance(6000);
    expect(h.calls).toHaveLength(1);
    h.register('orders', instance('10.1.0.7'));
    await h.change('shop/orders-1', (pod) => {
      pod.status.conditions[1].status = 'True';
      pod.status.conditions[1].lastTransitionTime = new Date(T0 + 6000).toISOString();
    });
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    expect(await h.metric('probe_injector_gate_wait_seconds_sum')).toBe(0); // measured from the latest ContainersReady
  });
});

describe('Nacos unavailable', () => {
  it('pods keep waiting with NacosUnavailable, errors are counted, one Warning per pod, one log line per service per minute; back when Nacos is', async () => {
    const h = harness();
    h.setDown(new Error('every address failed: connect ECONNREFUSED 127.0.0.1:8848'));
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    await h.add(gatedPod({ name: 'orders-2', service: 'orders', ip: '10.1.0.8', readyAt: T0 }));
    await h.advance(10_000);
    expect(await h.metric('probe_injector_gate_nacos_lists_total', { outcome: 'error' })).toBe(6);
    expect(h.api.condition('shop/orders-1')).toEqual(
      expect.objectContaining({ status: 'False', reason: 'NacosUnavailable', message: 'cannot ask Nacos about orders@DEFAULT_GROUP 10.1.0.7:8080: every address failed: connect ECONNREFUSED 127.0.0.1:8848' }),
    );
    expect(h.api.writes()).toHaveLength(2);
    expect(h.api.events.map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['orders-1 Warning NacosUnavailable', 'orders-2 Warning NacosUnavailable']);
    expect(h.logger.lines.filter((line) => line.msg?.startsWith('Nacos instance list failed'))).toHaveLength(1);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(2);
    h.setDown(undefined);
    h.register('orders', instance('10.1.0.7'), instance('10.1.0.8'));
    await h.advance(2000);
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    expect(h.api.condition('shop/orders-2')?.status).toBe('True');
  });
});

describe('timeout policies through the loop', () => {
  it('onTimeout ready: True with NacosTimeout at timeoutSeconds after ContainersReady, a Warning, and the slow Warning before it', async () => {
    const h = harness({ config: { nacos: { gate: { timeoutSeconds: 30, onTimeout: 'ready', warnAfterSeconds: 10 } } } });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 - 5000 }));
    await h.advance(24_000, 500);
    expect(h.api.condition('shop/orders-1')?.reason).toBe('InstanceNotFound');
    await h.advance(2000, 500);
    expect(h.api.condition('shop/orders-1')).toEqual(expect.objectContaining({ status: 'True', reason: 'NacosTimeout' }));
    expect(h.api.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning NacosRegistrationSlow', 'Warning NacosTimeout']);
    expect(await h.metric('probe_injector_gate_wait_seconds_count', { reason: 'NacosTimeout' })).toBe(1);
    const calls = h.calls.length;
    await h.advance(10_000, 1000);
    expect(h.calls).toHaveLength(calls);
  });

  it('onTimeout wait: keeps waiting and asking, says so once', async () => {
    const h = harness({ config: { nacos: { gate: { timeoutSeconds: 10, onTimeout: 'wait', warnAfterSeconds: 0 } } } });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    await h.advance(60_000, 1000);
    expect(h.api.condition('shop/orders-1')).toEqual(expect.objectContaining({ status: 'False', reason: 'InstanceNotFound' }));
    expect(h.api.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning NacosTimeout']);
    expect(h.calls).toHaveLength(31);
  });
});

describe('leader only', () => {
  it('a follower never asks Nacos nor writes, but knows what waits; as leader it starts at once', async () => {
    const h = harness({ leader: false });
    h.register('orders', instance('10.1.0.7'));
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    await h.add(gatedPod({ name: 'nameless', ip: '10.1.0.9', readyAt: T0 })); // no service: a Warning, from the leader only
    await h.advance(10_000, 1000);
    expect(h.calls).toHaveLength(0);
    expect(h.api.patches).toHaveLength(0);
    expect(h.api.events).toHaveLength(0);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(1);
    expect(await h.metric('probe_injector_leader')).toBe(0);
    h.controller.setLeader(true);
    await h.controller.settled();
    expect(await h.metric('probe_injector_leader')).toBe(1);
    expect(h.calls).toHaveLength(1);
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    expect(h.api.events.map((e) => e.reason).sort()).toEqual(['NacosIdentityUnresolved', 'NacosRegistered']);
  });

  it('losing leadership stops asking and writing', async () => {
    const h = harness();
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    h.controller.setLeader(false);
    h.register('orders', instance('10.1.0.7'));
    await h.advance(10_000);
    expect(h.calls).toHaveLength(1);
    expect(h.api.condition('shop/orders-1')?.reason).toBe('InstanceNotFound');
  });
});

describe('writes: conflicts, errors, pods that go away', () => {
  it('a 409 (the kubelet wrote meanwhile) is re-read and written again; the kubelet\'s change is kept', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    let kubelet = true;
    h.api.beforePatch = (key) => {
      if (!kubelet) return;
      kubelet = false;
      h.api.change(key, (pod) => pod.status.conditions.push({ type: 'PodScheduled', status: 'True' }));
    };
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    expect(h.api.patches.map((p) => p.result)).toEqual(['conflict', 'applied']);
    expect(h.api.reads).toEqual(['shop/orders-1']);
    expect(h.api.get('shop/orders-1')!.status.conditions.map((c: Json) => c.type)).toEqual(['Initialized', 'ContainersReady', 'Ready', 'PodScheduled', 'nacos.io/registered']);
    expect(await h.metric('probe_injector_gate_status_writes_total', { result: 'conflict' })).toBe(1);
    expect(h.api.events.map((e) => e.reason)).toEqual(['NacosRegistered']);
  });

  it('a conflict after which the pod is True already (another leader wrote it) writes nothing more', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    h.api.beforePatch = (key) => {
      h.api.beforePatch = undefined;
      h.api.change(key, (pod) => pod.status.conditions.push({ type: 'nacos.io/registered', status: 'True', reason: 'NacosRegistered' }));
    };
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    expect(h.api.patches.map((p) => p.result)).toEqual(['conflict']);
    expect(h.api.events).toHaveLength(0);
  });

  it('a failed write is retried with backoff; the Event goes out only once it is written', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    h.api.failPatches(500, 2);
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    expect(h.api.events).toHaveLength(0);
    expect(h.api.condition('shop/orders-1')).toBeUndefined();
    // Backoff 200 ms, then 400 ms, with jitter in [1/2, 1] (0.5 here): 150 ms, then 300 ms.
    h.clock.advance(149);
    await h.controller.settled();
    expect(h.api.patches).toHaveLength(1);
    h.clock.advance(1);
    await h.controller.settled();
    expect(h.api.patches).toHaveLength(2);
    h.clock.advance(300);
    await h.controller.settled();
    expect(h.api.patches.map((p) => p.result)).toEqual(['error', 'error', 'applied']);
    expect(h.api.events.map((e) => e.reason)).toEqual(['NacosRegistered']);
    expect(h.logger.lines.filter((line) => line.msg === 'gate not written; retrying with backoff')).toHaveLength(2);
    expect(await h.metric('probe_injector_gate_status_writes_total', { result: 'error' })).toBe(2);
  });

  it('a pod deleted before its write (404) is forgotten', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    h.api.beforePatch = (key) => h.api.pods.delete(key);
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    expect(h.api.patches.map((p) => p.result)).toEqual(['not_found']);
    expect(await h.metric('probe_injector_gate_pending_pods')).toBe(0);
    await h.advance(10_000, 1000);
    expect(h.calls).toHaveLength(1);
  });

  it('a pod re-created under the same name is a new pod', async () => {
    const h = harness();
    h.register('orders', instance('10.1.0.7'));
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.8', readyAt: T0, uid: 'uid-2' }));
    await h.advance(2000);
    expect(h.api.condition('shop/orders-1')?.reason).toBe('InstanceNotFound');
  });
});

describe('pods it cannot identify or read', () => {
  it('a labelled pod whose Nacos identity does not resolve gets one Warning and is left alone', async () => {
    const h = harness();
    await h.add(gatedPod({ name: 'nameless', ip: '10.1.0.9', readyAt: T0 }));
    await h.add(gatedPod({ name: 'badport', service: 'orders', ip: '10.1.0.8', readyAt: T0, annotations: { 'probe-injector.io/nacos-port': 'nosuchport' } }));
    await h.change('shop/nameless', (pod) => (pod.metadata.annotations.touched = 'yes'));
    await h.advance(10_000, 1000);
    expect(h.calls).toHaveLength(0);
    expect(h.api.patches).toHaveLength(0);
    expect(h.api.events.map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['nameless Warning NacosIdentityUnresolved', 'badport Warning NacosIdentityUnresolved']);
    expect(h.api.events[0]!.message).toMatch(/^cannot tell which Nacos instance this pod is, so its gate is left alone: nacos-service: .*app\.kubernetes\.io\/name or app/);
    expect(h.api.events[1]!.message).toContain('nacos-port');
  });

  it('hostile or malformed objects from the API server are skipped and counted, never thrown', async () => {
    const h = harness();
    const base = h.api.put(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }));
    const hostile: unknown[] = [
      null,
      undefined,
      42,
      'pod',
      [],
      {},
      { metadata: null },
      { ...base, metadata: { ...base.metadata, name: 7 } },
      { ...base, metadata: { ...base.metadata, resourceVersion: undefined } },
      { ...base, spec: { containers: 'app' } },
      { ...base, status: { podIPs: 'x' } },
      { ...base, status: { conditions: [{ type: 'ContainersReady' }] } },
      { ...base, status: { conditions: [{ type: 'ContainersReady', status: 'True', lastTransitionTime: 'not a time' }], podIPs: [{ ip: '10.1.0.7' }] } },
      { ...base, metadata: { ...base.metadata, labels: { 'probe-injector.io/nacos-gate': 1 } } },
    ];
    for (const value of hostile) expect(() => h.controller.upsert(value)).not.toThrow();
    for (const value of hostile) expect(() => h.controller.remove(value)).not.toThrow();
    await h.controller.settled();
    expect(await h.metric('probe_injector_gate_invalid_pods_total')).toBe(13);
    // The unreadable time is not an error: the controller's own clock stands in for it.
    expect(h.calls).toHaveLength(1);
  });

  it('property: any JSON value as a pod never throws', () => {
    const h = harness();
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (value, status) => {
        h.controller.upsert(value);
        h.controller.upsert({ ...gatedPod({ name: 'p', service: 'orders' }), status });
        h.controller.remove(value);
      }),
    );
  });
});

describe('Events are rate-limited', () => {
  it('over the burst, Events are dropped and counted; the gates are still written', async () => {
    const h = harness({ events: { perSecond: 1, burst: 3 } });
    h.register('orders', ...Array.from({ length: 10 }, (_, i) => instance(`10.1.0.${i}`)));
    for (let i = 0; i < 10; i++) h.controller.upsert(h.api.put(gatedPod({ name: `orders-${i}`, service: 'orders', ip: `10.1.0.${i}`, readyAt: T0 })));
    await h.controller.settled();
    expect(h.api.writes()).toHaveLength(10);
    expect(h.api.events).toHaveLength(3);
    expect(await h.metric('probe_injector_gate_events_total', { result: 'dropped' })).toBe(7);
  });
});
