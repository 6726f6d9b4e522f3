/**
 * The gate controller's smaller parts: reading pods at the edge (list-shaped with Dates, watch-
 * shaped with strings, hostile values), the keyed work queue (client-go semantics: dedupe, never
 * twice at once, re-run when added while running, backoff on failure), the polling plan, the
 * status patch and Event bodies, the token bucket, the Lease settings, and the HTTP port.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { startEndpoints } from '../src/controller/endpoints.js';
import { viewPod } from '../src/controller/gated-pod.js';
import { createControllerMetrics } from '../src/controller/metrics.js';
import { podEvent } from '../src/controller/pod-event.js';
import { gateStatusPatch, kubeTime } from '../src/controller/status-patch.js';
import { TokenBucket } from '../src/controller/token-bucket.js';
import { WaitingRoom } from '../src/controller/waiting-room.js';
import { WorkQueue } from '../src/controller/work-queue.js';
import { leaseSettings } from '../src/commands/controller.js';
import { gatedPod, ManualClock, T0, type Json } from './controller-support.js';

const GATE = 'nacos.io/registered';

/** The view of a pod that must be readable. */
function read(value: unknown, conditionType = GATE) {
  const view = viewPod(value, conditionType);
  if (!view.ok) throw new Error(`unreadable: ${view.reason}`);
  return view.pod;
}

describe('reading a pod (gated-pod.ts)', () => {
  const stored = (): Json => ({ ...gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.7', readyAt: T0 }), metadata: { ...gatedPod({ name: 'orders-1', service: 'orders' }).metadata, resourceVersion: '7' } });

  it('a watch event (times as strings)', () => {
    const view = viewPod(stored(), GATE);
    expect(view.ok && view.pod).toEqual(
      expect.objectContaining({ key: 'shop/orders-1', uid: 'uid-orders-1', resourceVersion: '7', labelled: true, gated: true, over: false, ips: ['10.1.0.7'], containersReady: true, containersReadyAt: T0, gate: undefined }),
    );
  });

  it('a listed pod as @kubernetes/client-node deserialises it (times as Dates)', () => {
    const pod = stored();
    for (const condition of pod.status.conditions) if (condition.lastTransitionTime) condition.lastTransitionTime = new Date(condition.lastTransitionTime) as never;
    pod.status.conditions.push({ type: GATE, status: 'False', reason: 'InstanceNotFound', lastTransitionTime: new Date(T0 + 1000) as never });
    const view = viewPod(pod, GATE);
    expect(view.ok && view.pod.containersReadyAt).toBe(T0);
    expect(view.ok && view.pod.gate).toEqual({ status: 'False', reason: 'InstanceNotFound', message: undefined, lastTransitionTime: T0 + 1000 });
    // A time the client could not parse (an Invalid Date) is unknown, not a reason to skip the pod.
    pod.status.conditions[1]!.lastTransitionTime = new Date('garbage') as never;
    const unknown = viewPod(pod, GATE);
    expect(unknown.ok && unknown.pod.containersReady).toBe(true);
    expect(unknown.ok && unknown.pod.containersReadyAt).toBeUndefined();
  });

  it('podIPs (dual stack, canonical), else podIP; no IP at all', () => {
    const pod = stored();
    pod.status.podIPs = [{ ip: '10.1.0.7' }, { ip: 'FD00::7' }];
    expect(read(pod).ips).toEqual(['10.1.0.7', 'fd00::7']);
    delete (pod.status as Record<string, unknown>).podIPs;
    expect(read(pod).ips).toEqual(['10.1.0.7']);
    delete (pod.status as Record<string, unknown>).podIP;
    expect(read(pod).ips).toEqual([]);
  });

  it('another condition type configured: the pod is not gated for it', () => {
    const view = viewPod(stored(), 'example.com/other');
    expect(view.ok && view.pod.gated).toBe(false);
  });

  it('a pod being deleted, or finished, is over', () => {
    const deleting = stored();
    (deleting.metadata as Record<string, unknown>).deletionTimestamp = new Date(T0).toISOString();
    expect(read(deleting).over).toBe(true);
    const done = stored();
    done.status.phase = 'Succeeded';
    expect(read(done).over).toBe(true);
  });

  it('what cannot be read says where, bounded, and never throws', () => {
    expect(viewPod({ ...stored(), status: { podIPs: [{ ip: 7 }] } }, GATE)).toEqual({ ok: false, key: 'shop/orders-1', reason: expect.stringContaining('status.podIPs.0.ip') });
    expect(viewPod({ metadata: { name: 'x'.repeat(5000), namespace: 'n' } }, GATE)).toEqual({ ok: false, key: expect.any(String), reason: expect.any(String) });
    expect((viewPod({ metadata: { name: 'x'.repeat(5000), namespace: 'n' } }, GATE) as { key: string }).key.length).toBeLessThanOrEqual(400);
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const view = viewPod(value, GATE);
        if (!view.ok) expect(view.reason.length).toBeLessThanOrEqual(300);
      }),
    );
  });
});

describe('work queue (work-queue.ts)', () => {
  const deferred = () => {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };

  it('dedupes, never runs a key twice at once, runs it again when added while running', async () => {
    const clock = new ManualClock();
    const runs: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
      },
      { concurrency: 2, clock, backoff: { baseMs: 100, maxMs: 1000 }, onError: () => {} },
    );
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('c');
    expect(runs).toEqual(['a', 'b']);
    queue.add('a'); // while running: once more afterwards
    queue.add('a');
    gates.get('a')!.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual(['a', 'b', 'c']);
    gates.get('b')!.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual(['a', 'b', 'c', 'a']);
    gates.get('c')!.resolve();
    gates.get('a')!.resolve();
    await queue.idle();
    expect(runs).toEqual(['a', 'b', 'c', 'a']);
  });

  it('retries a failed key with exponential backoff, reset by a success; forget cancels a retry', async () => {
    const clock = new ManualClock();
    const runs: number[] = [];
    let failures = 3;
    const errors: number[] = [];
    const queue = new WorkQueue(
      async () => {
        runs.push(clock.now() - T0);
        if (failures-- > 0) throw new Error('boom');
      },
      { concurrency: 1, clock, backoff: { baseMs: 100, maxMs: 1000 }, random: () => 1, onError: (_key, _error, attempt) => errors.push(attempt) },
    );
    queue.add('k');
    await queue.idle();
    for (let i = 0; i < 20; i++) {
      clock.advance(50);
      await queue.idle();
    }
    expect(runs).toEqual([0, 100, 300, 700]);
    expect(errors).toEqual([1, 2, 3]);
    failures = 1;
    queue.add('k');
    await queue.idle();
    expect(clock.pendingTimers).toBe(1);
    queue.forget('k');
    expect(clock.pendingTimers).toBe(0);
    expect(queue.size).toBe(0);
  });

  it('clear and stop drop what waits; idle resolves', async () => {
    const clock = new ManualClock();
    const runs: string[] = [];
    const gate = deferred();
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        await gate.promise;
      },
      { concurrency: 1, clock, backoff: { baseMs: 100, maxMs: 1000 }, onError: () => {} },
    );
    queue.add('a');
    queue.add('b');
    queue.clear();
    gate.resolve();
    await queue.idle();
    expect(runs).toEqual(['a']);
    queue.stop();
    queue.add('c');
    await queue.idle();
    expect(runs).toEqual(['a']);
  });
});

describe('polling plan (waiting-room.ts)', () => {
  const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };

  it('a service is due when a pod waits and its last call started a period ago; one entry however many pods', () => {
    const room = new WaitingRoom();
    for (let i = 0; i < 100; i++) room.wait(`shop/p${i}`, ref);
    expect(room.due(T0, 2000)).toHaveLength(1);
    room.started(room.due(T0, 2000)[0]!.key, T0);
    expect(room.due(T0 + 1999, 2000)).toEqual([]); // in flight, and too soon
    expect(room.answered('no such service', { ok: true, hosts: [], at: T0 })).toEqual([]);
    const key = 'public\u0000DEFAULT_GROUP\u0000orders';
    expect(room.answered(key, { ok: true, hosts: [], at: T0 + 100 })).toHaveLength(100);
    expect(room.due(T0 + 1999, 2000)).toEqual([]);
    expect(room.nextDueAt(2000)).toBe(T0 + 2000);
    expect(room.due(T0 + 2000, 2000)).toEqual([{ key, ref, clusters: undefined }]);
    expect(room.waitingCount).toBe(100);
    expect(room.servicesWaiting).toBe(1);
  });

  it('a pod moves between services when its identity changes', () => {
    const room = new WaitingRoom();
    room.wait('shop/p', ref);
    room.wait('shop/p', { ...ref, service: 'payments' });
    expect(room.servicesWaiting).toBe(1);
    expect(room.due(T0, 2000).map((d) => d.ref.service)).toEqual(['payments']);
  });
});

describe('bodies sent to the API server', () => {
  it('the status patch: strategic merge of our condition only, with the resourceVersion precondition', () => {
    expect(gateStatusPatch(GATE, { status: 'True', reason: 'NacosRegistered', message: 'm', lastTransitionTime: T0 + 1234 }, '42')).toEqual({
      metadata: { resourceVersion: '42' },
      status: { conditions: [{ type: GATE, status: 'True', reason: 'NacosRegistered', message: 'm', lastTransitionTime: '2026-03-01T10:00:01Z', lastProbeTime: null }] },
    });
    expect(kubeTime(T0)).toBe('2026-03-01T10:00:00Z');
  });

  it('an Event: named like client-go names them, bounded', () => {
    const event = podEvent({ namespace: 'shop', name: 'p'.repeat(253), uid: 'u' }, { type: 'Warning', reason: 'NacosUnavailable', message: 'x'.repeat(5000) }, T0, 'controller-0', 'abc');
    expect(event.metadata.name.length).toBeLessThanOrEqual(253);
    expect(event.metadata.name.endsWith('.abc')).toBe(true);
    expect(event.message.length).toBeLessThanOrEqual(1024);
    expect(event).toEqual(expect.objectContaining({ type: 'Warning', reason: 'NacosUnavailable', count: 1, firstTimestamp: '2026-03-01T10:00:00Z', source: { component: 'probe-injector-controller' } }));
  });

  it('the token bucket: burst, then the rate', () => {
    const bucket = new TokenBucket(2, 3);
    expect([1, 2, 3, 4].map(() => bucket.take(T0))).toEqual([true, true, true, false]);
    expect(bucket.take(T0 + 499)).toBe(false);
    expect(bucket.take(T0 + 500)).toBe(true);
  });
});

describe('the Lease (SPEC §8)', () => {
  it('namespace: --lease-namespace, else $POD_NAMESPACE, else probe-injector; identity: --identity, else $POD_NAME, else host and pid', () => {
    expect(leaseSettings({ leaseNamespace: 'ops', identity: 'me' }, { POD_NAMESPACE: 'x', POD_NAME: 'y' }, 'host', 7)).toEqual({ namespace: 'ops', identity: 'me' });
    expect(leaseSettings({}, { POD_NAMESPACE: 'gate', POD_NAME: 'gate-7d9c-abc' }, 'host', 7)).toEqual({ namespace: 'gate', identity: 'gate-7d9c-abc' });
    expect(leaseSettings({}, {}, 'laptop', 4242)).toEqual({ namespace: 'probe-injector', identity: 'laptop_4242' });
  });
});

describe('the HTTP port (endpoints.ts)', () => {
  it('/healthz, /readyz (503 with the reason until synced), /metrics; 404 and 405 in JSON', async () => {
    let reason: string | undefined = 'the pod watch has not synced yet';
    const metrics = createControllerMetrics({ processMetrics: false });
    const endpoints = await startEndpoints({ port: 0, host: '127.0.0.1', registry: metrics.registry, notReady: () => reason });
    const call = async (path: string, method = 'GET') => {
      const res = await fetch(`http://127.0.0.1:${endpoints.port}${path}`, { method });
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    };
    try {
      expect(await call('/healthz')).toEqual({ status: 200, type: 'application/json', text: '{"status":"ok"}\n' });
      expect(await call('/readyz')).toEqual({ status: 503, type: 'application/json', text: '{"status":"not ready","reason":"the pod watch has not synced yet"}\n' });
      reason = undefined;
      expect((await call('/readyz?verbose')).status).toBe(200);
      const scraped = await call('/metrics');
      expect(scraped.status).toBe(200);
      for (const name of ['probe_injector_gate_pending_pods', 'probe_injector_gate_wait_seconds', 'probe_injector_nacos_requests_total', 'probe_injector_leader']) expect(scraped.text).toContain(`# TYPE ${name} `);
      expect((await call('/nope')).status).toBe(404);
      expect(JSON.parse((await call('/nope')).text).error).toMatch(/^no route for GET "\/nope"/);
      expect((await call('/metrics', 'POST')).status).toBe(405);
    } finally {
      await endpoints.close();
    }
  });
});
