import { formatMicroTime, recordKey } from './lease-record.js';
import type { LeaseRecord } from './lease-record.js';

/**
 * The decisions of leader election on a Lease, modelled on client-go's
 * `tools/leaderelection` (`tryAcquireOrRenew`, `release`, `isLeaseValid`, the renew poll). Pure:
 * every function takes the time (`now`, ms by the elector's own clock) and returns what to do; the
 * shell (`leader-election.ts`) does the I/O and the waiting.
 *
 * Clock skew: a candidate never reads the remote renewTime as a time. It notes *when it saw the
 * record change* (the observation's `at`, its own clock) and counts the holder's
 * leaseDurationSeconds from there, exactly like client-go's observedTime.
 */

/** client-go's `JitterFactor`: the acquire loop waits retryPeriod × [1, 1 + 1.2). */
export const JITTER_FACTOR = 1.2;

export interface ElectionTiming {
  /** How long a non-leader waits, from the last change it saw, before taking the lease over. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps retrying a failed renewal before it gives leadership up. */
  readonly renewDeadlineMs: number;
  /** The interval between attempts (to acquire: jittered; to renew: not). */
  readonly retryPeriodMs: number;
}

/** client-go's core-client defaults (kube-controller-manager, kube-scheduler): 15 s / 10 s / 2 s. */
export const DEFAULT_TIMING: ElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/**
 * What is wrong with a timing, in client-go's order and words (`NewLeaderElector`), plus what the
 * Lease needs: leaseDurationSeconds is a whole number of seconds, so the lease lasts at least 1 s.
 */
export function timingProblems(timing: ElectionTiming): string[] {
  const problems: string[] = [];
  for (const key of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    const value = timing[key];
    if (!Number.isSafeInteger(value) || value < 1) problems.push(`${key} must be a whole number of milliseconds greater than zero, got ${String(value)}`);
  }
  if (problems.length > 0) return problems;
  if (timing.leaseDurationMs <= timing.renewDeadlineMs) {
    problems.push(`leaseDuration (${timing.leaseDurationMs} ms) must be greater than renewDeadline (${timing.renewDeadlineMs} ms)`);
  }
  if (timing.renewDeadlineMs <= JITTER_FACTOR * timing.retryPeriodMs) {
    problems.push(`renewDeadline (${timing.renewDeadlineMs} ms) must be greater than retryPeriod*JitterFactor (${timing.retryPeriodMs} ms × ${JITTER_FACTOR})`);
  }
  if (timing.leaseDurationMs < 1000) {
    problems.push(`leaseDuration (${timing.leaseDurationMs} ms) must be at least 1000 ms: the Lease stores it in whole seconds`);
  }
  return problems;
}

/** The Lease's leaseDurationSeconds for a timing (client-go: `int(LeaseDuration / time.Second)`). */
export const leaseDurationSeconds = (timing: ElectionTiming): number => Math.floor(timing.leaseDurationMs / 1000);

/** The last record seen and when it was first seen in that state (client-go's observedRecord + observedTime). */
export interface Observation {
  readonly record: LeaseRecord;
  readonly key: string;
  /** When this elector first saw the record with this content, by its own clock. */
  readonly at: number;
}

/** Keeps the observation time while the record is unchanged; a changed record is observed `now`. */
export function observe(previous: Observation | undefined, record: LeaseRecord, now: number): Observation {
  const key = recordKey(record);
  return previous?.key === key ? previous : { record, key, at: now };
}

/** client-go's `isLeaseValid`: the holder's term, counted from when we saw the record change. */
export const isLeaseValid = (observed: Observation | undefined, now: number): boolean =>
  observed !== undefined && observed.at + observed.record.leaseDurationSeconds * 1000 > now;

/** client-go's `IsLeader`: the last observed record names us. */
export const isHolder = (observed: Observation | undefined, identity: string): boolean =>
  observed !== undefined && identity !== '' && observed.record.holderIdentity === identity;

export type Decision =
  /** No Lease: create it, holding it. */
  | { readonly kind: 'create'; readonly record: LeaseRecord }
  /** Write the record with the resourceVersion just read: a renewal (we hold it) or a takeover (free or expired). */
  | { readonly kind: 'update'; readonly record: LeaseRecord; readonly takeover: boolean }
  /** Someone else holds it and their term has not run out by our clock. */
  | { readonly kind: 'wait'; readonly holder: string; readonly expiresAt: number };

export interface Step {
  /** The observation to keep (unchanged when there was no Lease to observe). */
  readonly observed: Observation | undefined;
  readonly decision: Decision;
}

const INT32_MAX = 2147483647;

/**
 * The slow path of client-go's `tryAcquireOrRenew`, after the Get: `lease` is the record read
 * (`undefined`: the Lease does not exist). Renewing keeps acquireTime and leaseTransitions; taking
 * over sets acquireTime to now and counts one more transition.
 */
export function decide(previous: Observation | undefined, lease: LeaseRecord | undefined, now: number, identity: string, timing: ElectionTiming): Step {
  const fresh = {
    holderIdentity: identity,
    leaseDurationSeconds: leaseDurationSeconds(timing),
    acquireTime: formatMicroTime(now),
    renewTime: formatMicroTime(now),
  };
  if (lease === undefined) return { observed: previous, decision: { kind: 'create', record: { ...fresh, leaseTransitions: 0 } } };
  const observed = observe(previous, lease, now);
  if (lease.holderIdentity !== '' && isLeaseValid(observed, now) && !isHolder(observed, identity)) {
    return {
      observed,
      decision: { kind: 'wait', holder: lease.holderIdentity, expiresAt: observed.at + lease.leaseDurationSeconds * 1000 },
    };
  }
  if (isHolder(observed, identity)) {
    return {
      observed,
      decision: { kind: 'update', takeover: false, record: { ...fresh, acquireTime: lease.acquireTime, leaseTransitions: lease.leaseTransitions } },
    };
  }
  return {
    observed,
    decision: { kind: 'update', takeover: true, record: { ...fresh, leaseTransitions: Math.min(INT32_MAX, lease.leaseTransitions + 1) } },
  };
}

/**
 * The fast path of client-go's `tryAcquireOrRenew`: while we hold a lease that is valid by our
 * clock, renew it straight away with the resourceVersion of our last write (no Get). `undefined`:
 * take the slow path (read, then `decide`).
 */
export function renewal(observed: Observation | undefined, now: number, identity: string, timing: ElectionTiming): LeaseRecord | undefined {
  if (!observed || !isHolder(observed, identity) || !isLeaseValid(observed, now)) return undefined;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: leaseDurationSeconds(timing),
    acquireTime: observed.record.acquireTime,
    renewTime: formatMicroTime(now),
    leaseTransitions: observed.record.leaseTransitions,
  };
}

/** What we know after a write the API server accepted (client-go's `setObservedRecord`). */
export const written = (record: LeaseRecord, now: number): Observation => ({ record, key: recordKey(record), at: now });

/**
 * client-go's `tryRelease` (ReleaseOnCancel): the record that hands the lease back — no holder,
 * leaseDurationSeconds 1, transitions kept — or `undefined` when there is nothing of ours to
 * release. Stricter than client-go: the Lease just read must name us too, so a release can never
 * erase a holder that took over meanwhile.
 */
export function release(observed: Observation | undefined, lease: LeaseRecord, now: number, identity: string): LeaseRecord | undefined {
  if (!isHolder(observed, identity) || lease.holderIdentity !== identity) return undefined;
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: formatMicroTime(now),
    renewTime: formatMicroTime(now),
    leaseTransitions: lease.leaseTransitions,
  };
}

export type RenewVerdict = { readonly kind: 'retry'; readonly at: number } | { readonly kind: 'lost' };

/**
 * The leader's renewal round (client-go's `PollUntilContextTimeout(retryPeriod, renewDeadline)`):
 * after a failed attempt at `now` in a round that began at `roundStart`, try again one retryPeriod
 * later if that is still before the deadline; otherwise leadership is lost. Declared as soon as no
 * further attempt fits (client-go waits for the deadline itself, with nothing left to try).
 */
export function afterFailedRenewal(roundStart: number, now: number, timing: ElectionTiming): RenewVerdict {
  const next = now + timing.retryPeriodMs;
  return next < roundStart + timing.renewDeadlineMs ? { kind: 'retry', at: next } : { kind: 'lost' };
}

/** The acquire loop's wait: retryPeriod + up to JitterFactor × retryPeriod (client-go's `wait.Jitter`). */
export const jitteredRetry = (timing: ElectionTiming, random: number): number =>
  timing.retryPeriodMs + Math.min(Math.max(random, 0), 1) * JITTER_FACTOR * timing.retryPeriodMs;

/**
 * Whether the term we last renewed still holds by our clock: a renewal begun at `renewedAt` wrote
 * leaseDurationSeconds, and no candidate can take over before that much time has passed since it
 * saw the write. The leader stops acting when this turns false, even before the renew loop gives up.
 */
export const termHolds = (renewedAt: number, now: number, timing: ElectionTiming): boolean =>
  now < renewedAt + leaseDurationSeconds(timing) * 1000;
