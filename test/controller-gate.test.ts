/**
 * The functional core of the Nacos gate controller (src/controller/gate.ts, registration.ts):
 * SPEC §8's match rule, every reason, the message, the timeout policies, warnAfterSeconds, the
 * rate-limited Nacos-error Warning, and "never flips back from True" — pure functions, no I/O.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decideGate, REASONS, UNAVAILABLE_EVENT_INTERVAL_MS, type GateInput, type GateSettings, type NacosAnswer } from '../src/controller/gate.js';
import { canonicalIp } from '../src/controller/ip-address.js';
import type { NacosInstance } from '../src/controller/nacos-lister.js';
import { findRegistration, REGISTRATION } from '../src/controller/registration.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const SETTINGS: GateSettings = { conditionType: 'nacos.io/registered', pollSeconds: 2, warnAfterSeconds: 120, timeoutSeconds: 0, onTimeout: 'wait' };
const IDENTITY = { service: 'orders', group: 'DEFAULT_GROUP', namespace: 'public', port: 8080 };

const host = (fields: Partial<NacosInstance> = {}): NacosInstance => ({ ip: '10.1.2.3', port: 8080, healthy: true, enabled: true, weight: 1, clusterName: 'DEFAULT', ...fields });
const ok = (hosts: NacosInstance[], at = T0): NacosAnswer => ({ ok: true, hosts, at });
const input = (fields: Partial<GateInput> = {}): GateInput => ({
  ips: ['10.1.2.3'],
  readySince: T0,
  identity: IDENTITY,
  answer: ok([host()]),
  memory: {},
  settings: SETTINGS,
  now: T0 + 1500,
  ...fields,
});

describe('match rule (SPEC §8: ip is a pod IP, port is the resolved port, cluster when set; healthy, enabled, weight > 0)', () => {
  const target = { ips: ['10.1.2.3'], port: 8080 };
  it.each([
    ['the instance, healthy and enabled', [host()], REGISTRATION.registered],
    ['no host at all', [], REGISTRATION.notFound],
    ['another IP', [host({ ip: '10.1.2.4' })], REGISTRATION.notFound],
    ['another port on the pod IP', [host({ port: 9090 })], REGISTRATION.notFound],
    ['unhealthy', [host({ healthy: false })], REGISTRATION.unhealthy],
    ['disabled', [host({ enabled: false })], REGISTRATION.disabled],
    ['weight 0', [host({ weight: 0 })], REGISTRATION.disabled],
    ['a negative weight', [host({ weight: -1 })], REGISTRATION.disabled],
    ['a NaN weight', [host({ weight: Number.NaN })], REGISTRATION.disabled],
    ['disabled and unhealthy: disabled is said first', [host({ enabled: false, healthy: false })], REGISTRATION.disabled],
    ['one unhealthy entry and one usable entry (two clusters)', [host({ healthy: false, clusterName: 'A' }), host({ clusterName: 'B' })], REGISTRATION.registered],
  ])('%s', (_name, hosts, state) => {
    expect(findRegistration(hosts, target).state).toBe(state);
  });

  it('with a cluster, only instances of that cluster count', () => {
    expect(findRegistration([host({ clusterName: 'DEFAULT' })], { ...target, cluster: 'east' })).toEqual({ state: REGISTRATION.notFound, near: '10.1.2.3:8080 in cluster DEFAULT' });
    expect(findRegistration([host({ clusterName: 'east' })], { ...target, cluster: 'east' }).state).toBe(REGISTRATION.registered);
    expect(findRegistration([host({ clusterName: 'east', healthy: false })], { ...target, cluster: 'east' }).state).toBe(REGISTRATION.unhealthy);
  });

  it('any of a dual-stack pod\'s IPs, in any spelling of IPv6', () => {
    const dual = { ips: ['10.1.2.3', 'fd00::a:5'], port: 8080 };
    expect(findRegistration([host({ ip: 'FD00:0:0:0:0:0:A:5' })], dual).state).toBe(REGISTRATION.registered);
    expect(findRegistration([host({ ip: '10.1.2.3' })], dual).state).toBe(REGISTRATION.registered);
    expect(canonicalIp('010.001.002.003')).toBe('10.1.2.3');
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('::ffff:10.1.2.3')).toBe('::ffff:a01:203');
    expect(canonicalIp('orders-7d9c.example')).toBe('orders-7d9c.example');
    expect(canonicalIp('1.2.3.999')).toBe('1.2.3.999');
  });

  it('says which hosts on the pod IP did not match (the usual mistake: another port)', () => {
    const result = findRegistration([host({ port: 9090 }), host({ port: 9091 }), host({ port: 9092 }), host({ port: 9093 })], target);
    expect(result).toEqual({ state: REGISTRATION.notFound, near: '10.1.2.3:9090, 10.1.2.3:9091, 10.1.2.3:9092 and 1 more' });
  });

  it('property: registered exactly when some host matches ip, port and cluster and is usable', () => {
    const arbHost = fc.record({
      ip: fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1', 'FD00:0::1'),
      port: fc.constantFrom(8080, 9090),
      healthy: fc.boolean(),
      enabled: fc.boolean(),
      weight: fc.constantFrom(0, 0.5, 1, 100, -1),
      clusterName: fc.constantFrom('DEFAULT', 'east'),
    });
    fc.assert(
      fc.property(fc.array(arbHost, { maxLength: 8 }), fc.subarray(['10.0.0.1', 'fd00::1']), fc.option(fc.constantFrom('DEFAULT', 'east'), { nil: undefined }), (hosts, ips, cluster) => {
        const result = findRegistration(hosts, { ips, port: 8080, cluster });
        const usable = hosts.some(
          (h) => ips.includes(canonicalIp(h.ip)) && h.port === 8080 && (cluster === undefined || h.clusterName === cluster) && h.healthy && h.enabled && h.weight > 0,
        );
        expect(result.state === REGISTRATION.registered).toBe(usable);
        if (result.state === REGISTRATION.registered) expect(result.host!.healthy && result.host!.enabled && result.host!.weight > 0).toBe(true);
      }),
    );
  });
});

describe('decision', () => {
  it('registered: True with reason NacosRegistered, SPEC\'s message, a Normal event, done', () => {
    const decision = decideGate(input());
    expect(decision.write).toEqual({ status: 'True', reason: 'NacosRegistered', message: 'orders@DEFAULT_GROUP 10.1.2.3:8080 is healthy and enabled in Nacos', lastTransitionTime: T0 + 1500 });
    expect(decision.events).toEqual([{ type: 'Normal', reason: 'NacosRegistered', message: 'orders@DEFAULT_GROUP 10.1.2.3:8080 is healthy and enabled in Nacos (after 1.5 s)' }]);
    expect(decision.done).toBe(true);
    expect(decision.waitedSeconds).toBe(1.5);
  });

  it('an IPv6 instance is written [ip]:port', () => {
    const decision = decideGate(input({ ips: ['fd00::5'], answer: ok([host({ ip: 'fd00::5' })]) }));
    expect(decision.write?.message).toBe('orders@DEFAULT_GROUP [fd00::5]:8080 is healthy and enabled in Nacos');
  });

  it.each([
    ['not listed', ok([]), REASONS.notFound, 'orders@DEFAULT_GROUP 10.1.2.3:8080 is not listed in Nacos'],
    ['listed on another port', ok([host({ port: 9090 })]), REASONS.notFound, "orders@DEFAULT_GROUP 10.1.2.3:8080 is not listed in Nacos; on the pod's IP it lists 10.1.2.3:9090"],
    ['unhealthy', ok([host({ healthy: false })]), REASONS.unhealthy, 'orders@DEFAULT_GROUP 10.1.2.3:8080 is in Nacos but not healthy'],
    ['disabled', ok([host({ enabled: false })]), REASONS.disabled, 'orders@DEFAULT_GROUP 10.1.2.3:8080 is in Nacos but disabled (enabled: false, weight: 1)'],
    ['weight 0', ok([host({ weight: 0 })]), REASONS.disabled, 'orders@DEFAULT_GROUP 10.1.2.3:8080 is in Nacos but disabled (enabled: true, weight: 0)'],
    ['Nacos unavailable', { ok: false, error: 'connect ECONNREFUSED 10.9.9.9:8848', at: T0 } as NacosAnswer, REASONS.unavailable, 'cannot ask Nacos about orders@DEFAULT_GROUP 10.1.2.3:8080: connect ECONNREFUSED 10.9.9.9:8848'],
  ])('%s: False with its reason, not done', (_name, answer, reason, message) => {
    const decision = decideGate(input({ answer }));
    expect(decision.write).toEqual({ status: 'False', reason, message, lastTransitionTime: T0 + 1500 });
    expect(decision.done).toBe(false);
  });

  it('names the namespace (outside public) and the cluster in messages', () => {
    const decision = decideGate(input({ identity: { ...IDENTITY, namespace: 'dev', cluster: 'east' }, answer: ok([]) }));
    expect(decision.write?.message).toBe('orders@DEFAULT_GROUP in namespace dev 10.1.2.3:8080 (cluster east) is not listed in Nacos');
    const dual = decideGate(input({ ips: ['10.1.2.3', 'fd00::5'], answer: ok([]) }));
    expect(dual.write?.message).toBe('orders@DEFAULT_GROUP {10.1.2.3, [fd00::5]}:8080 is not listed in Nacos');
  });

  it('writes False only when the reason changes, keeping lastTransitionTime while the status stays False', () => {
    const current = { status: 'False', reason: REASONS.notFound, lastTransitionTime: T0 };
    expect(decideGate(input({ answer: ok([]), current })).write).toBeUndefined();
    expect(decideGate(input({ answer: ok([host({ healthy: false })]), current })).write).toEqual(
      expect.objectContaining({ status: 'False', reason: REASONS.unhealthy, lastTransitionTime: T0 }),
    );
    // Unknown (someone else's value) is not False: written.
    expect(decideGate(input({ answer: ok([]), current: { status: 'Unknown', reason: REASONS.notFound } })).write?.reason).toBe(REASONS.notFound);
  });

  it('never flips back from True: a True gate is done, whatever Nacos says', () => {
    for (const answer of [ok([]), ok([host({ healthy: false })]), { ok: false, error: 'down', at: T0 } as NacosAnswer]) {
      const decision = decideGate(input({ answer, current: { status: 'True', reason: REASONS.registered } }));
      expect(decision).toEqual({ events: [], memory: {}, done: true, waitedSeconds: 1.5 });
    }
  });

  it('property: never writes False over True, and a write is True only with NacosRegistered or NacosTimeout', () => {
    const arbAnswer: fc.Arbitrary<NacosAnswer> = fc.oneof(
      fc.record({ ok: fc.constant(true as const), hosts: fc.array(fc.record({ ip: fc.constantFrom('10.1.2.3', '10.1.2.4'), port: fc.constantFrom(8080, 1), healthy: fc.boolean(), enabled: fc.boolean(), weight: fc.constantFrom(0, 1), clusterName: fc.constant('DEFAULT') }), { maxLength: 4 }), at: fc.constant(T0) }),
      fc.record({ ok: fc.constant(false as const), error: fc.string(), at: fc.constant(T0) }),
    );
    fc.assert(
      fc.property(
        arbAnswer,
        fc.option(fc.record({ status: fc.constantFrom('True', 'False', 'Unknown'), reason: fc.constantFrom(...Object.values(REASONS)) }), { nil: undefined }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.record({ timeoutSeconds: fc.constantFrom(0, 1, 300), onTimeout: fc.constantFrom('wait' as const, 'ready' as const), warnAfterSeconds: fc.constantFrom(0, 60) }),
        (answer, current, waited, timing) => {
          const decision = decideGate(input({ answer, current, now: T0 + waited, settings: { ...SETTINGS, ...timing } }));
          if (current?.status === 'True') expect(decision.write).toBeUndefined();
          if (decision.write?.status === 'True') expect([REASONS.registered, REASONS.timeout]).toContain(decision.write.reason);
          expect(decision.done).toBe(current?.status === 'True' || decision.write?.status === 'True');
          for (const event of decision.events) expect(event.message).not.toMatch(/[\n\r]/);
        },
      ),
    );
  });
});

describe('warnAfterSeconds, timeout policies, Nacos-error Warnings', () => {
  const waiting = { answer: ok([]) };

  it('NacosRegistrationSlow once, after warnAfterSeconds', () => {
    expect(decideGate(input({ ...waiting, now: T0 + 119_000 })).events).toEqual([]);
    const slow = decideGate(input({ ...waiting, now: T0 + 120_000 }));
    expect(slow.events).toEqual([{ type: 'Warning', reason: 'NacosRegistrationSlow', message: 'not registered in Nacos after 120 s: orders@DEFAULT_GROUP 10.1.2.3:8080 is not listed in Nacos' }]);
    expect(slow.memory).toEqual({ slowWarned: true });
    expect(decideGate(input({ ...waiting, now: T0 + 500_000, memory: slow.memory })).events).toEqual([]);
  });

  it('warnAfterSeconds 0 never warns', () => {
    expect(decideGate(input({ ...waiting, now: T0 + 10_000_000, settings: { ...SETTINGS, warnAfterSeconds: 0 } })).events).toEqual([]);
  });

  it('timeoutSeconds 0 waits forever: no timeout, however long', () => {
    const decision = decideGate(input({ ...waiting, now: T0 + 86_400_000 * 30, memory: { slowWarned: true } }));
    expect(decision.done).toBe(false);
    expect(decision.events).toEqual([]);
  });

  it('onTimeout ready: True with reason NacosTimeout and a Warning, at timeoutSeconds', () => {
    const settings = { ...SETTINGS, timeoutSeconds: 300, onTimeout: 'ready' as const };
    expect(decideGate(input({ ...waiting, settings, now: T0 + 299_000, memory: { slowWarned: true } })).done).toBe(false);
    const decision = decideGate(input({ ...waiting, settings, now: T0 + 300_000, memory: { slowWarned: true } }));
    const message = 'not registered in Nacos after 300 s (InstanceNotFound: orders@DEFAULT_GROUP 10.1.2.3:8080 is not listed in Nacos); set True by nacos.gate.onTimeout: ready';
    expect(decision.write).toEqual({ status: 'True', reason: 'NacosTimeout', message, lastTransitionTime: T0 + 300_000 });
    expect(decision.events).toEqual([{ type: 'Warning', reason: 'NacosTimeout', message }]);
    expect(decision.done).toBe(true);
  });

  it('onTimeout ready while Nacos is down: True (availability first), with the Nacos error in the message', () => {
    const settings = { ...SETTINGS, timeoutSeconds: 60, onTimeout: 'ready' as const };
    const decision = decideGate(input({ answer: { ok: false, error: 'timed out after 3 s', at: T0 }, settings, now: T0 + 61_000, memory: { unavailableWarnedAt: T0 + 60_000 } }));
    expect(decision.write?.status).toBe('True');
    expect(decision.write?.reason).toBe('NacosTimeout');
    expect(decision.write?.message).toContain('NacosUnavailable: cannot ask Nacos about orders@DEFAULT_GROUP 10.1.2.3:8080: timed out after 3 s');
  });

  it('registered beats the timeout', () => {
    const decision = decideGate(input({ settings: { ...SETTINGS, timeoutSeconds: 1, onTimeout: 'ready' }, now: T0 + 999_000 }));
    expect(decision.write?.reason).toBe('NacosRegistered');
  });

  it('onTimeout wait: keeps waiting and says so once (a Warning NacosTimeout), no slow warning after it', () => {
    const settings = { ...SETTINGS, timeoutSeconds: 60, onTimeout: 'wait' as const };
    const first = decideGate(input({ ...waiting, settings, now: T0 + 60_000, current: { status: 'False', reason: REASONS.notFound } }));
    expect(first.write).toBeUndefined();
    expect(first.done).toBe(false);
    expect(first.events).toEqual([
      { type: 'Warning', reason: 'NacosTimeout', message: 'not registered in Nacos after 60 s (InstanceNotFound: orders@DEFAULT_GROUP 10.1.2.3:8080 is not listed in Nacos); still waiting (nacos.gate.onTimeout: wait)' },
    ]);
    const later = decideGate(input({ ...waiting, settings, now: T0 + 200_000, memory: first.memory, current: { status: 'False', reason: REASONS.notFound } }));
    expect(later.events).toEqual([]);
  });

  it('a Warning on Nacos errors at most every 5 minutes per pod', () => {
    const down: NacosAnswer = { ok: false, error: 'HTTP 503 from every address', at: T0 };
    const settings = { ...SETTINGS, warnAfterSeconds: 0 };
    const first = decideGate(input({ answer: down, settings }));
    expect(first.events).toEqual([{ type: 'Warning', reason: 'NacosUnavailable', message: 'cannot ask Nacos about orders@DEFAULT_GROUP 10.1.2.3:8080: HTTP 503 from every address' }]);
    const soon = decideGate(input({ answer: down, settings, memory: first.memory, now: T0 + 1500 + UNAVAILABLE_EVENT_INTERVAL_MS - 1 }));
    expect(soon.events).toEqual([]);
    const later = decideGate(input({ answer: down, settings, memory: first.memory, now: T0 + 1500 + UNAVAILABLE_EVENT_INTERVAL_MS }));
    expect(later.events.map((event) => event.reason)).toEqual(['NacosUnavailable']);
  });

  it('text from Nacos cannot break a message: control characters replaced, length bounded', () => {
    const decision = decideGate(input({ answer: { ok: false, error: `evil\n\u001b[31mred\u2028${'x'.repeat(1000)}`, at: T0 } }));
    expect(decision.write!.message).not.toMatch(/[\n\u001b\u2028]/);
    expect(decision.write!.message.length).toBeLessThan(400);
  });
});
