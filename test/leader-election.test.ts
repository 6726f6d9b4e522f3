/**
 * The decisions of leader election (src/kube/election.ts, src/kube/lease-record.ts) as pure
 * functions over Lease records and our own clock: client-go's `TestTryAcquireOrRenew` table, its
 * timing validation, the renew deadline, release, clock skew, and hostile Lease answers. The I/O
 * (the real Lease API, processes killed and stopped, a cut connection) is tested against the real
 * kube-apiserver in test/e2e/leader-election.e2e.ts.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  DEFAULT_TIMING,
  JITTER_FACTOR,
  afterFailedRenewal,
  decide,
  isLeaseValid,
  jitteredRetry,
  observe,
  release,
  renewal,
  termHolds,
  timingProblems,
  written,
  type ElectionTiming,
  type Observation,
} from '../src/kube/election.js';
import { formatMicroTime, parseLease, type LeaseRecord } from '../src/kube/lease-record.js';
import { startLeaderElection, type LeaseApi } from '../src/kube/leader-election.js';

const ME = 'baz';
const OTHER = 'bing';
/** client-go's unit tests use LeaseDuration 10 s. */
const TIMING: ElectionTiming = { leaseDurationMs: 10_000, renewDeadlineMs: 5_000, retryPeriodMs: 2_000 };
const T0 = Date.parse('2024-05-01T12:00:00Z');
const HOUR = 3_600_000;

const record = (fields: Partial<LeaseRecord> = {}): LeaseRecord => ({ holderIdentity: '', leaseDurationSeconds: 0, leaseTransitions: 0, ...fields });
/** A Lease as @kubernetes/client-node hands it back (MicroTime fields stay strings). */
const leaseObject = (spec?: Record<string, unknown>) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'ns', resourceVersion: '42' }, ...(spec && { spec }) });
/** The record of a Lease object, through the same edge the shell uses. */
function read(value: unknown): LeaseRecord {
  const parsed = parseLease(value);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.lease.record;
}
const seen = (rec: LeaseRecord, at: number): Observation => observe(undefined, rec, at);

describe('timing validation (client-go NewLeaderElector)', () => {
  it.each([
    ['the defaults 15 s / 10 s / 2 s', DEFAULT_TIMING],
    ['client-go test values 3 s / 2 s / 0.5 s', { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 }],
    ['renewDeadline just above retryPeriod × 1.2', { leaseDurationMs: 3000, renewDeadlineMs: 2401, retryPeriodMs: 2000 }],
  ])('accepts %s', (_name, timing) => {
    expect(timingProblems(timing)).toEqual([]);
  });

  it.each([
    ['leaseDuration equal to renewDeadline', { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 }, 'leaseDuration (10000 ms) must be greater than renewDeadline (10000 ms)'],
    ['leaseDuration below renewDeadline', { leaseDurationMs: 5000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 }, 'leaseDuration (5000 ms) must be greater than renewDeadline (10000 ms)'],
    ['renewDeadline equal to retryPeriod × 1.2', { leaseDurationMs: 15_000, renewDeadlineMs: 2400, retryPeriodMs: 2000 }, 'renewDeadline (2400 ms) must be greater than retryPeriod*JitterFactor (2000 ms × 1.2)'],
    ['renewDeadline below retryPeriod', { leaseDurationMs: 15_000, renewDeadlineMs: 1000, retryPeriodMs: 2000 }, 'renewDeadline (1000 ms) must be greater than retryPeriod*JitterFactor (2000 ms × 1.2)'],
    ['a lease shorter than the Lease can store', { leaseDurationMs: 900, renewDeadlineMs: 600, retryPeriodMs: 100 }, 'leaseDuration (900 ms) must be at least 1000 ms: the Lease stores it in whole seconds'],
    ['a zero retryPeriod', { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }, 'retryPeriodMs must be a whole number of milliseconds greater than zero, got 0'],
    ['a negative leaseDuration', { leaseDurationMs: -1, renewDeadlineMs: 10_000, retryPeriodMs: 2000 }, 'leaseDurationMs must be a whole number of milliseconds greater than zero, got -1'],
    ['a fractional renewDeadline', { leaseDurationMs: 15_000, renewDeadlineMs: 2.5, retryPeriodMs: 2000 }, 'renewDeadlineMs must be a whole number of milliseconds greater than zero, got 2.5'],
    ['NaN', { leaseDurationMs: Number.NaN, renewDeadlineMs: 10_000, retryPeriodMs: 2000 }, 'leaseDurationMs must be a whole number of milliseconds greater than zero, got NaN'],
  ])('refuses %s', (_name, timing, message) => {
    expect(timingProblems(timing)).toContain(message);
  });

  it('startLeaderElection refuses invalid options synchronously, naming the Lease and every problem, before any API call', () => {
    const noApi = {} as LeaseApi; // never reached: validation comes first
    const base = { api: noApi, namespace: 'ns', name: 'lock', identity: ME, onStartedLeading() {}, onStoppedLeading() {} };
    expect(() => startLeaderElection({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      'leader election on Lease ns/lock: leaseDuration (10000 ms) must be greater than renewDeadline (10000 ms)',
    );
    expect(() => startLeaderElection({ ...base, identity: '', namespace: '' })).toThrow(
      'leader election on Lease /lock: namespace must be a non-empty string; identity must be a non-empty string',
    );
    expect(() => startLeaderElection({ ...base, requestTimeoutMs: 0 })).toThrow('requestTimeoutMs must be a whole number of milliseconds greater than zero, got 0');
  });
});

describe('tryAcquireOrRenew (client-go TestTryAcquireOrRenew, as decisions over records)', () => {
  it('acquire from no object: create it, holding it, with 0 transitions and acquireTime = renewTime = now', () => {
    const step = decide(undefined, undefined, T0, ME, TIMING);
    expect(step.decision).toEqual({
      kind: 'create',
      record: { holderIdentity: ME, leaseDurationSeconds: 10, acquireTime: '2024-05-01T12:00:00.000000Z', renewTime: '2024-05-01T12:00:00.000000Z', leaseTransitions: 0 },
    });
  });

  it('acquire from an object without a spec: take it over, 1 transition', () => {
    const step = decide(undefined, read(leaseObject()), T0, ME, TIMING);
    expect(step.decision).toMatchObject({ kind: 'update', takeover: true, record: { holderIdentity: ME, leaseTransitions: 1 } });
  });

  it('acquire from a led object with leaseDurationSeconds 3: not at first sight, then once it has not changed for 3 s by our clock', () => {
    const led = read(leaseObject({ holderIdentity: OTHER, leaseDurationSeconds: 3 }));
    const first = decide(undefined, led, T0, ME, TIMING);
    expect(first.decision).toEqual({ kind: 'wait', holder: OTHER, expiresAt: T0 + 3000 });
    const almost = decide(first.observed, led, T0 + 2999, ME, TIMING);
    expect(almost.decision.kind).toBe('wait');
    expect(almost.observed).toBe(first.observed); // unchanged record: the observation keeps its time
    const after = decide(almost.observed, led, T0 + 3000, ME, TIMING);
    expect(after.decision).toMatchObject({ kind: 'update', takeover: true, record: { holderIdentity: ME, leaseTransitions: 1 } });
  });

  it('acquire from an unled object (holderIdentity ""): at once, 1 transition', () => {
    const step = decide(undefined, read(leaseObject({ holderIdentity: '', leaseDurationSeconds: 15 })), T0, ME, TIMING);
    expect(step.decision).toMatchObject({ kind: 'update', takeover: true, record: { leaseTransitions: 1 } });
  });

  it('acquire from a led, unacked object: the same record observed long ago has expired', () => {
    const led = record({ holderIdentity: OTHER });
    const step = decide(seen(led, T0 - 1000 * HOUR), led, T0, ME, TIMING);
    expect(step.decision).toMatchObject({ kind: 'update', takeover: true, record: { holderIdentity: ME, leaseTransitions: 1 } });
  });

  it('acquire from an empty led, acked object (holder "", observed in the future): at once', () => {
    const free = record({ holderIdentity: '' });
    const step = decide(seen(free, T0 + 1000 * HOUR), free, T0, ME, TIMING);
    expect(step.decision).toMatchObject({ kind: 'update', takeover: true });
  });

  it("don't acquire from a led, acked object", () => {
    const led = record({ holderIdentity: OTHER });
    const step = decide(seen(led, T0 + 1000 * HOUR), led, T0, ME, TIMING);
    expect(step.decision).toEqual({ kind: 'wait', holder: OTHER, expiresAt: T0 + 1000 * HOUR });
  });

  it('renew an already acquired object: keeps acquireTime and leaseTransitions, renewTime = now', () => {
    const ours = record({ holderIdentity: ME, leaseDurationSeconds: 10, acquireTime: '2024-05-01T11:00:00.123456Z', renewTime: '2024-05-01T11:59:58.000000Z', leaseTransitions: 7 });
    const step = decide(seen(ours, T0 + 1000 * HOUR), ours, T0, ME, TIMING);
    expect(step.decision).toEqual({
      kind: 'update',
      takeover: false,
      record: { holderIdentity: ME, leaseDurationSeconds: 10, acquireTime: '2024-05-01T11:00:00.123456Z', renewTime: formatMicroTime(T0), leaseTransitions: 7 },
    });
  });

  it('a restarted process with the same identity renews its own lease at once (client-go: IsLeader after the read)', () => {
    const ours = record({ holderIdentity: ME, leaseDurationSeconds: 15, leaseTransitions: 3 });
    expect(decide(undefined, ours, T0, ME, TIMING).decision).toMatchObject({ kind: 'update', takeover: false, record: { leaseTransitions: 3 } });
  });

  it('a lease held with no leaseDurationSeconds counts as expired (client-go zero value)', () => {
    const step = decide(undefined, read(leaseObject({ holderIdentity: OTHER })), T0, ME, TIMING);
    expect(step.decision).toMatchObject({ kind: 'update', takeover: true });
  });

  it('leaseTransitions is counted from what the Lease says, and never beyond int32', () => {
    const led = record({ holderIdentity: OTHER, leaseDurationSeconds: 1, leaseTransitions: 2147483647 });
    const step = decide(seen(led, T0 - 5000), led, T0, ME, TIMING);
    expect(step.decision).toMatchObject({ kind: 'update', record: { leaseTransitions: 2147483647 } });
  });
});

describe('clock skew: only changes of the record count, by our own clock', () => {
  it('a holder whose renewTime is in the year 2100 but that stopped renewing is taken over after leaseDurationSeconds', () => {
    const stale = record({ holderIdentity: OTHER, leaseDurationSeconds: 15, renewTime: '2100-01-01T00:00:00.000000Z', acquireTime: '2100-01-01T00:00:00.000000Z' });
    let observed: Observation | undefined;
    for (let t = T0; t < T0 + 15_000; t += 2000) {
      const step = decide(observed, stale, t, ME, TIMING);
      expect(step.decision.kind).toBe('wait');
      observed = step.observed;
    }
    expect(decide(observed, stale, T0 + 15_000, ME, TIMING).decision).toMatchObject({ kind: 'update', takeover: true });
  });

  it('a holder whose renewTime is in 1970 but that keeps renewing is never taken over', () => {
    let observed: Observation | undefined;
    for (let i = 0; i < 100; i++) {
      const renewing = record({ holderIdentity: OTHER, leaseDurationSeconds: 15, renewTime: formatMicroTime(i * 1000) });
      const step = decide(observed, renewing, T0 + i * 10_000, ME, TIMING);
      expect(step.decision.kind).toBe('wait');
      observed = step.observed;
    }
  });
});

describe('the leader renewing (fast path, renew deadline)', () => {
  const mine = record({ holderIdentity: ME, leaseDurationSeconds: 10, acquireTime: formatMicroTime(T0 - 60_000), renewTime: formatMicroTime(T0), leaseTransitions: 4 });

  it('renews straight away while the lease is ours and valid by our clock, keeping acquireTime and transitions', () => {
    const observed = written(mine, T0);
    expect(renewal(observed, T0 + 2000, ME, TIMING)).toEqual({ ...mine, renewTime: formatMicroTime(T0 + 2000) });
  });

  it('takes the slow path (read first) once its own term has run out, or when the lease is not ours', () => {
    expect(renewal(written(mine, T0), T0 + 10_000, ME, TIMING)).toBeUndefined();
    expect(renewal(written({ ...mine, holderIdentity: OTHER }, T0), T0 + 1, ME, TIMING)).toBeUndefined();
    expect(renewal(undefined, T0, ME, TIMING)).toBeUndefined();
  });

  it('a failed renewal is retried every retryPeriod while that still fits before renewDeadline; then leadership is lost', () => {
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    expect(afterFailedRenewal(0, 0, timing)).toEqual({ kind: 'retry', at: 500 });
    expect(afterFailedRenewal(0, 1499, timing)).toEqual({ kind: 'retry', at: 1999 });
    expect(afterFailedRenewal(0, 1500, timing)).toEqual({ kind: 'lost' });
    expect(afterFailedRenewal(1000, 2500, timing)).toEqual({ kind: 'lost' });
    expect(afterFailedRenewal(0, 7999, DEFAULT_TIMING)).toEqual({ kind: 'retry', at: 9999 });
    expect(afterFailedRenewal(0, 8000, DEFAULT_TIMING)).toEqual({ kind: 'lost' });
  });

  it('the term holds for leaseDurationSeconds from the start of the last successful renewal', () => {
    expect(termHolds(T0, T0 + 9999, TIMING)).toBe(true);
    expect(termHolds(T0, T0 + 10_000, TIMING)).toBe(false);
    expect(termHolds(Number.NEGATIVE_INFINITY, T0, TIMING)).toBe(false);
  });

  it('loss is declared before any candidate could take over (renewDeadline + retryPeriod < leaseDuration for the defaults and the test values)', () => {
    for (const timing of [DEFAULT_TIMING, { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 }]) {
      // the last success began at 0; the next round starts retryPeriod later and gives up at the latest renewDeadline after that
      expect(timing.retryPeriodMs + timing.renewDeadlineMs).toBeLessThan(timing.leaseDurationMs);
    }
  });

  it('the acquire loop waits retryPeriod × [1, 1 + JitterFactor)', () => {
    expect(jitteredRetry(DEFAULT_TIMING, 0)).toBe(2000);
    expect(jitteredRetry(DEFAULT_TIMING, 0.5)).toBe(3200);
    expect(jitteredRetry(DEFAULT_TIMING, 0.999999)).toBeLessThan(2000 * (1 + JITTER_FACTOR));
    expect(jitteredRetry(DEFAULT_TIMING, 7)).toBe(2000 * (1 + JITTER_FACTOR)); // a broken random source stays bounded
  });
});

describe('release (ReleaseOnCancel)', () => {
  const mine = record({ holderIdentity: ME, leaseDurationSeconds: 10, leaseTransitions: 5 });

  it('hands the lease back: no holder, leaseDurationSeconds 1, transitions kept, times = now', () => {
    expect(release(written(mine, T0), mine, T0 + 500, ME)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: formatMicroTime(T0 + 500),
      renewTime: formatMicroTime(T0 + 500),
      leaseTransitions: 5,
    });
  });

  it('a released lease is taken over at once by a candidate that saw it held a moment ago', () => {
    const led = record({ holderIdentity: OTHER, leaseDurationSeconds: 15, leaseTransitions: 5 });
    const before = decide(undefined, led, T0, ME, TIMING);
    expect(before.decision.kind).toBe('wait');
    const released = release(written(led, T0), led, T0 + 100, OTHER)!;
    expect(decide(before.observed, released, T0 + 2000, ME, TIMING).decision).toMatchObject({ kind: 'update', takeover: true, record: { holderIdentity: ME, leaseTransitions: 6 } });
  });

  it('releases nothing that is not ours: someone took over meanwhile, or we never held it', () => {
    expect(release(written(mine, T0), { ...mine, holderIdentity: OTHER }, T0, ME)).toBeUndefined();
    expect(release(undefined, mine, T0, ME)).toBeUndefined();
    expect(release(written({ ...mine, holderIdentity: OTHER }, T0), mine, T0, ME)).toBeUndefined();
  });
});

describe('reading the Lease the API server answered (parseLease)', () => {
  it('reads every field; client-node hands MicroTime back as text, Time as a Date', () => {
    const parsed = parseLease(
      leaseObject({
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: '2024-05-01T12:00:00.123456Z',
        renewTime: new Date('2024-05-01T12:00:02.5Z'),
        leaseTransitions: 3,
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      lease: {
        resourceVersion: '42',
        record: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2024-05-01T12:00:00.123456Z', renewTime: '2024-05-01T12:00:02.500Z', leaseTransitions: 3 },
      },
    });
  });

  it('missing and null fields take client-go zero values', () => {
    expect(read(leaseObject())).toEqual({ holderIdentity: '', leaseDurationSeconds: 0, leaseTransitions: 0, acquireTime: undefined, renewTime: undefined });
    expect(read(leaseObject({ holderIdentity: null, leaseDurationSeconds: null, renewTime: null }))).toEqual(read(leaseObject({})));
  });

  it.each([
    ['a number as holderIdentity', leaseObject({ holderIdentity: 5 }), 'the Lease field spec.holderIdentity is invalid: expected a string, got 5'],
    ['leaseDurationSeconds as text', leaseObject({ leaseDurationSeconds: '15' }), 'the Lease field spec.leaseDurationSeconds is invalid: expected an integer from 0 to 2147483647, got "15"'],
    ['a fractional leaseDurationSeconds', leaseObject({ leaseDurationSeconds: 1.5 }), 'spec.leaseDurationSeconds is invalid: expected an integer from 0 to 2147483647, got 1.5'],
    ['a negative leaseTransitions', leaseObject({ leaseTransitions: -1 }), 'spec.leaseTransitions is invalid: expected an integer from 0 to 2147483647, got -1'],
    ['a renewTime that is no time', leaseObject({ renewTime: 'yesterday' }), 'spec.renewTime is invalid: expected an RFC 3339 time such as 2006-01-02T15:04:05.000000Z, got "yesterday"'],
    ['an invalid Date', leaseObject({ acquireTime: new Date('nope') }), 'spec.acquireTime is invalid: expected an RFC 3339 time such as 2006-01-02T15:04:05.000000Z, got an invalid date'],
    ['a spec that is a list', { metadata: { resourceVersion: '1' }, spec: [] }, 'the Lease field spec is invalid: expected an object, got []'],
    ['no resourceVersion', { metadata: { name: 'l' } }, 'the Lease field metadata.resourceVersion is invalid: expected an object with a resourceVersion, got nothing'],
    ['no metadata', { spec: {} }, 'the Lease field metadata is invalid: expected a Lease object (with metadata), got nothing'],
    ['an empty resourceVersion', { metadata: { resourceVersion: '' } }, 'metadata.resourceVersion is invalid: expected a non-empty string, got ""'],
    ['null', null, 'the Lease is invalid: expected a Lease object (with metadata), got null'],
    ['a string', '<html>proxy error</html>', 'the Lease is invalid: expected a Lease object (with metadata), got "<html>proxy error</html>"'],
  ])('refuses %s, naming the field, the value and what is accepted', (_name, value, message) => {
    const parsed = parseLease(value);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toContain(message);
  });

  it('cuts a long hostile value in the message', () => {
    const parsed = parseLease(leaseObject({ holderIdentity: ['x'.repeat(10_000)] }));
    expect(!parsed.ok && parsed.message.length).toBeLessThan(200);
  });

  it('never throws, whatever the answer (fuzz)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ metadata: fc.anything(), spec: fc.anything() }), fc.record({ metadata: fc.record({ resourceVersion: fc.string() }), spec: fc.dictionary(fc.constantFrom('holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime', 'leaseTransitions'), fc.anything()) })), (value) => {
        const parsed = parseLease(value);
        if (parsed.ok) {
          expect(typeof parsed.lease.record.holderIdentity).toBe('string');
          expect(Number.isInteger(parsed.lease.record.leaseDurationSeconds)).toBe(true);
        } else {
          expect(parsed.message).toMatch(/^the Lease /);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('formats MicroTime as metav1.MicroTime does: UTC, six fractional digits', () => {
    expect(formatMicroTime(Date.parse('2024-05-01T12:00:00.5+02:00'))).toBe('2024-05-01T10:00:00.500000Z');
  });
});

describe('safety over random schedules (a model of the API server: compare-and-swap on resourceVersion)', () => {
  /**
   * Several electors, each with its own clock offset (skew), act at random moments: the fast path
   * when it applies, else read → decide → write if the resourceVersion still matches. At every
   * moment at most one elector may believe its term holds — which is what isLeader() checks.
   */
  it('never two leaders whose term holds at the same time, whatever the skew', () => {
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    let totalTakeovers = 0;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -10 * HOUR, max: 10 * HOUR }), { minLength: 2, maxLength: 4 }),
        fc.array(fc.record({ who: fc.nat(), wait: fc.integer({ min: 0, max: 4000 }), staleWrite: fc.boolean() }), { minLength: 1, maxLength: 200 }),
        (offsets, steps) => {
          const store: { record?: LeaseRecord; version: number } = { version: 0 };
          const electors = offsets.map((offset, i) => ({ id: `e${i}`, offset, observed: undefined as Observation | undefined, version: -1, renewedAt: Number.NEGATIVE_INFINITY }));
          let time = T0;
          let takeovers = 0;
          const leadersNow = () => electors.filter((x) => termHolds(x.renewedAt, time + x.offset, timing)).map((x) => x.id);
          for (const step of steps) {
            time += step.wait;
            expect(leadersNow().length).toBeLessThanOrEqual(1);
            const e = electors[step.who % electors.length]!;
            const now = time + e.offset;
            const write = (rec: LeaseRecord, version: number): boolean => {
              if (version !== store.version) return false; // 409 Conflict
              store.record = rec;
              store.version += 1;
              e.version = store.version;
              e.observed = written(rec, now);
              e.renewedAt = now;
              return true;
            };
            const fast = renewal(e.observed, now, e.id, timing);
            if (!(fast && write(fast, e.version))) {
              const readVersion = store.version;
              const next = decide(e.observed, store.record, now, e.id, timing);
              e.observed = next.observed;
              if (next.decision.kind !== 'wait') {
                // a lost race (someone wrote between our read and our write) is an old version: 409
                const won = write(next.decision.record, step.staleWrite ? readVersion - 1 : readVersion);
                if (won && next.decision.kind === 'update' && next.decision.takeover) takeovers += 1;
              }
            }
            expect(leadersNow().length).toBeLessThanOrEqual(1);
          }
          totalTakeovers += takeovers;
        },
      ),
      { numRuns: 500 },
    );
    expect(totalTakeovers).toBeGreaterThan(100); // the schedules did hand the lease over, many times
  });
});
