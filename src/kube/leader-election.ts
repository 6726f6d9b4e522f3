import { Observable, V1MicroTime } from '@kubernetes/client-node';
import { apiStatusOf, describeApiAnswer } from './api-error.js';
import type { ConfigurationOptions, CoordinationV1Api, ObservableMiddleware, V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { DEFAULT_TIMING, afterFailedRenewal, decide, isHolder, jitteredRetry, release, renewal, termHolds, timingProblems, written } from './election.js';
import type { ElectionTiming, Observation } from './election.js';
import { parseLease } from './lease-record.js';
import type { LeaseRecord } from './lease-record.js';

/**
 * Leader election on a `coordination.k8s.io/v1` Lease with client-go's semantics
 * (`tools/leaderelection` + `resourcelock.LeaseLock`, ReleaseOnCancel on): the imperative shell
 * around the decisions of `election.ts` — the Lease API calls, the timers, the callbacks.
 *
 * - Candidate: every retryPeriod × [1, 2.2) (jitter): read the Lease; create it if missing; take it
 *   over when it is free or has not changed for its leaseDurationSeconds *by our clock*; the write
 *   carries the resourceVersion read, so of two candidates only one wins (the other gets 409).
 * - Leader: renews every retryPeriod (first with the resourceVersion of its own last write, then by
 *   re-reading); if no renewal succeeds within renewDeadline, leadership is lost:
 *   `onStoppedLeading`, then it is a candidate again.
 * - `stop()`: stops competing, aborts what is in flight, and when leading calls `onStoppedLeading`,
 *   then hands the Lease back (holderIdentity "", leaseDurationSeconds 1) so a candidate takes
 *   over at its next attempt instead of waiting out the lease.
 *
 * Nothing is thrown out of the loop: errors of the API server (or of the network) are logged once
 * per distinct message and retried at the next period.
 */

/** The three calls of `CoordinationV1Api` the election makes (a `CoordinationV1Api` is one). */
export type LeaseApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

/** Time, injectable: `now()` in ms (only differences matter; it is also written into the Lease as MicroTime). */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wall-clock epoch ms that never jumps (performance.timeOrigin + the monotonic clock), and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface LeaderElectionOptions {
  /** `kubeConfig.makeApiClient(CoordinationV1Api)` (needs get, create, update on the Lease). */
  readonly api: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  /** This replica's name in the Lease's holderIdentity: unique per replica (e.g. the pod name). */
  readonly identity: string;
  /** Default 15 000. */
  readonly leaseDurationMs?: number | undefined;
  /** Default 10 000. */
  readonly renewDeadlineMs?: number | undefined;
  /** Default 2 000. */
  readonly retryPeriodMs?: number | undefined;
  /** Bound on each API call; default max(1 s, renewDeadline / 2), as client-go's `NewFromKubeconfig`. */
  readonly requestTimeoutMs?: number | undefined;
  readonly clock?: Clock | undefined;
  /** Jitter source in [0, 1); default Math.random. */
  readonly random?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
  /**
   * Called (not awaited) when this replica becomes the leader. `signal` aborts when leadership ends
   * (lost, or `stop()` began) — stop the leader-only work then.
   */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /**
   * Called when leadership ends (lost, or `stop()`), and awaited: the election competes again — or
   * releases the Lease — only once the leader-only work has stopped. Only ever after onStartedLeading.
   */
  readonly onStoppedLeading: () => void | Promise<void>;
  /** Called (not awaited) when the observed holder changes to another non-empty identity (ours included). */
  readonly onNewLeader?: ((identity: string) => void) | undefined;
}

export interface LeaderElection {
  /** True while this replica leads: it won or renewed the Lease within leaseDuration by our clock, and stop() was not called. */
  isLeader(): boolean;
  /** The holder last observed in the Lease, ours included; undefined before the first read or when nobody holds it. */
  leader(): string | undefined;
  /** Stops competing; when leading: awaits onStoppedLeading, then releases the Lease. Resolves when done. */
  stop(): Promise<void>;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/** Starts competing for the Lease at once; throws (synchronously) only for invalid options. */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const timing: ElectionTiming = {
    leaseDurationMs: options.leaseDurationMs ?? DEFAULT_TIMING.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_TIMING.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs ?? DEFAULT_TIMING.retryPeriodMs,
  };
  const { api, namespace, name, identity } = options;
  const lease = `${namespace}/${name}`;
  const problems = timingProblems(timing);
  for (const [key, value] of [['namespace', namespace], ['name', name], ['identity', identity]] as const) {
    if (typeof value !== 'string' || value === '') problems.push(`${key} must be a non-empty string`);
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? Math.max(1000, Math.floor(timing.renewDeadlineMs / 2));
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs < 1) problems.push(`requestTimeoutMs must be a whole number of milliseconds greater than zero, got ${String(requestTimeoutMs)}`);
  if (problems.length > 0) throw new Error(`leader election on Lease ${lease}: ${problems.join('; ')}`);

  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silent;
  const fields = { lease, identity };

  const stopping = new AbortController();
  let observed: Observation | undefined;
  /** The Lease object of our last read or write: its metadata (resourceVersion) goes back with an update. */
  let current: V1Lease | undefined;
  let leading = false;
  let term: AbortController | undefined;
  let renewedAt = Number.NEGATIVE_INFINITY;
  let reportedLeader: string | undefined;
  let inStoppedCallback = false;
  let failure: { message: string; count: number } | undefined;

  // ------------------------------------------------------------------ API calls
  /** Runs one API call with a signal that aborts when one of `sources` aborts, or after requestTimeoutMs. */
  async function call<T>(
    sources: readonly (AbortSignal | undefined)[],
    fn: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<T>,
  ): Promise<T> {
    const request = new AbortController();
    const finished = new AbortController();
    const signals = sources.filter((source): source is AbortSignal => source !== undefined);
    const abort = () => request.abort();
    for (const signal of signals) signal.addEventListener('abort', abort, { once: true });
    if (signals.some((signal) => signal.aborted)) request.abort();
    let timedOut = false;
    void clock.sleep(requestTimeoutMs, finished.signal).then(() => {
      if (!finished.signal.aborted) {
        timedOut = true;
        request.abort();
      }
    });
    try {
      return await fn(signalOptions(request.signal));
    } catch (cause) {
      if (timedOut) throw new Error(`no answer within ${requestTimeoutMs} ms`, { cause });
      throw cause;
    } finally {
      finished.abort();
      for (const signal of signals) signal.removeEventListener('abort', abort);
    }
  }

  function noteFailure(what: string, error: unknown, signal?: AbortSignal): void {
    if (stopping.signal.aborted || signal?.aborted) return; // stop() or the renew deadline: reported by the caller
    const message = `${what}: ${describeError(error)}`;
    if (failure?.message === message) {
      failure.count += 1;
      return;
    }
    failure = { message, count: 1 };
    logger.warn({ ...fields, error: message }, 'leader election: the Lease API call failed; retrying every period');
  }

  function noteSuccess(): void {
    if (failure) logger.info({ ...fields, failures: failure.count, lastError: failure.message }, 'leader election: the Lease API answers again');
    failure = undefined;
  }

  function accept(answer: V1Lease, record: LeaseRecord, startedAt: number): void {
    observed = written(record, clock.now());
    renewedAt = startedAt;
    current = parseLease(answer).ok ? answer : undefined;
    noteSuccess();
  }

  /** client-go's tryAcquireOrRenew: true when we hold the Lease after this attempt. Never throws. */
  async function attempt(deadline?: AbortSignal): Promise<boolean> {
    const now = clock.now();
    const fast = renewal(observed, now, identity, timing);
    if (fast && current) {
      try {
        const answer = await call([stopping.signal, deadline], (o) => api.replaceNamespacedLease({ name, namespace, body: withSpec(current!, fast) }, o));
        accept(answer, fast, now);
        return true;
      } catch (error) {
        if (stopping.signal.aborted || deadline?.aborted) return false;
        // 409: someone wrote after us. Either way, fall back to reading (client-go's slow path).
        if (apiStatusOf(error) !== 409) noteFailure('update the Lease', error, deadline);
      }
    }
    let read: V1Lease;
    try {
      read = await call([stopping.signal, deadline], (o) => api.readNamespacedLease({ name, namespace }, o));
    } catch (error) {
      if (apiStatusOf(error) !== 404) {
        noteFailure('read the Lease', error, deadline);
        return false;
      }
      const step = decide(observed, undefined, now, identity, timing);
      if (step.decision.kind !== 'create') return false;
      const record = step.decision.record;
      try {
        const answer = await call([stopping.signal, deadline], (o) =>
          api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: toSpec(record) } }, o),
        );
        accept(answer, record, now);
        logger.info({ ...fields, leaseTransitions: 0 }, 'leader election: created the Lease');
        return true;
      } catch (createError) {
        if (apiStatusOf(createError) === 409) return false; // another candidate created it first
        noteFailure('create the Lease', createError, deadline);
        return false;
      }
    }
    const parsed = parseLease(read);
    if (!parsed.ok) {
      noteFailure('read the Lease', new Error(parsed.message));
      return false;
    }
    current = read;
    const step = decide(observed, parsed.lease.record, now, identity, timing);
    observed = step.observed;
    noteSuccess();
    if (step.decision.kind !== 'update') return false;
    const record = step.decision.record;
    try {
      const answer = await call([stopping.signal, deadline], (o) => api.replaceNamespacedLease({ name, namespace, body: withSpec(read, record) }, o));
      accept(answer, record, now);
      if (step.decision.takeover) {
        logger.info({ ...fields, previousHolder: parsed.lease.record.holderIdentity || undefined, leaseTransitions: record.leaseTransitions }, 'leader election: took the Lease over');
      }
      return true;
    } catch (error) {
      if (apiStatusOf(error) === 409) return false; // optimistic concurrency: someone else won this round
      noteFailure('update the Lease', error, deadline);
      return false;
    }
  }

  // ------------------------------------------------------------------ callbacks
  function fire(what: string, fn: () => void | Promise<void>): void {
    try {
      const result = fn();
      if (result instanceof Promise) result.catch((error: unknown) => logger.error({ ...fields, error: describeError(error) }, `leader election: ${what} failed`));
    } catch (error) {
      logger.error({ ...fields, error: describeError(error) }, `leader election: ${what} failed`);
    }
  }

  function reportLeader(): void {
    const holder = observed?.record.holderIdentity;
    if (!holder || holder === reportedLeader) return;
    reportedLeader = holder;
    logger.info({ ...fields, leader: holder }, 'leader election: new leader observed');
    const onNewLeader = options.onNewLeader;
    if (onNewLeader) fire('onNewLeader', () => onNewLeader(holder));
  }

  async function stopLeading(): Promise<void> {
    leading = false;
    term?.abort();
    term = undefined;
    inStoppedCallback = true;
    try {
      await options.onStoppedLeading();
    } catch (error) {
      logger.error({ ...fields, error: describeError(error) }, 'leader election: onStoppedLeading failed');
    } finally {
      inStoppedCallback = false;
    }
  }

  // ------------------------------------------------------------------ loops
  async function acquire(): Promise<boolean> {
    while (!stopping.signal.aborted) {
      const held = await attempt();
      reportLeader();
      if (held) return true;
      await clock.sleep(jitteredRetry(timing, random()), stopping.signal);
    }
    return false;
  }

  /** Renews until stop (false) or until a round of retries fails for renewDeadline (true: lost). */
  async function renew(): Promise<boolean> {
    while (!stopping.signal.aborted) {
      await clock.sleep(timing.retryPeriodMs, stopping.signal);
      if (stopping.signal.aborted) return false;
      const roundStart = clock.now();
      const round = new AbortController();
      const roundOver = new AbortController();
      void clock.sleep(timing.renewDeadlineMs, roundOver.signal).then(() => {
        if (!roundOver.signal.aborted) round.abort();
      });
      let renewed = false;
      try {
        for (;;) {
          if (await attempt(round.signal)) {
            renewed = true;
            break;
          }
          if (stopping.signal.aborted || round.signal.aborted) break;
          const verdict = afterFailedRenewal(roundStart, clock.now(), timing);
          if (verdict.kind === 'lost') break;
          await clock.sleep(verdict.at - clock.now(), round.signal);
          if (round.signal.aborted) break;
        }
      } finally {
        roundOver.abort();
      }
      reportLeader();
      if (stopping.signal.aborted) return false;
      if (!renewed) {
        logger.warn(
          { ...fields, renewDeadlineMs: timing.renewDeadlineMs, lastError: failure?.message ?? `no answer within the renew deadline`, holder: observed?.record.holderIdentity },
          'leader election: could not renew the Lease within the renew deadline; leadership lost',
        );
        return true;
      }
    }
    return false;
  }

  async function releaseLease(): Promise<void> {
    const deadline = new AbortController();
    const over = new AbortController();
    void clock.sleep(timing.renewDeadlineMs, over.signal).then(() => {
      if (!over.signal.aborted) deadline.abort();
    });
    try {
      for (;;) {
        let read: V1Lease;
        try {
          read = await call([deadline.signal], (o) => api.readNamespacedLease({ name, namespace }, o));
        } catch (error) {
          logger.warn({ ...fields, error: `read the Lease: ${describeError(error)}` }, 'leader election: could not release the Lease');
          return;
        }
        const parsed = parseLease(read);
        if (!parsed.ok) {
          logger.warn({ ...fields, error: parsed.message }, 'leader election: could not release the Lease');
          return;
        }
        const record = release(observed, parsed.lease.record, clock.now(), identity);
        if (!record) return; // not ours (any more): nothing to hand back
        try {
          await call([deadline.signal], (o) => api.replaceNamespacedLease({ name, namespace, body: withSpec(read, record) }, o));
          observed = written(record, clock.now());
          logger.info({ ...fields, leaseTransitions: record.leaseTransitions }, 'leader election: released the Lease');
          return;
        } catch (error) {
          if (apiStatusOf(error) === 409 && !deadline.signal.aborted) continue; // a renewal in flight landed first: read again
          logger.warn({ ...fields, error: `update the Lease: ${describeError(error)}` }, 'leader election: could not release the Lease');
          return;
        }
      }
    } finally {
      over.abort();
    }
  }

  async function run(): Promise<void> {
    logger.info({ ...fields, ...timing }, 'leader election: competing for the Lease');
    while (!stopping.signal.aborted) {
      if (!(await acquire())) break;
      if (stopping.signal.aborted) break;
      leading = true;
      term = new AbortController();
      logger.info({ ...fields, leaseTransitions: observed?.record.leaseTransitions }, 'leader election: became the leader');
      const signal = term.signal;
      fire('onStartedLeading', () => options.onStartedLeading(signal));
      const lost = await renew();
      if (!lost) break;
      await stopLeading();
    }
    if (leading) await stopLeading();
    if (isHolder(observed, identity)) await releaseLease();
  }

  const done = run().catch((error: unknown) => {
    logger.error({ ...fields, error: describeError(error) }, 'leader election: stopped by an unexpected error');
  });

  return {
    isLeader: () => leading && !stopping.signal.aborted && termHolds(renewedAt, clock.now(), timing),
    leader: () => observed?.record.holderIdentity || undefined,
    stop: () => {
      stopping.abort();
      // Called from onStoppedLeading (the loop is awaiting it): do not wait for the loop, it ends right after.
      return inStoppedCallback ? Promise.resolve() : done;
    },
  };
}

// ------------------------------------------------------------------ helpers

/** The Lease spec as client-go's `LeaderElectionRecordToLeaseSpec` writes it (times as MicroTime). */
function toSpec(record: LeaseRecord): V1LeaseSpec {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime !== undefined && { acquireTime: new V1MicroTime(Date.parse(record.acquireTime)) }),
    ...(record.renewTime !== undefined && { renewTime: new V1MicroTime(Date.parse(record.renewTime)) }),
    leaseTransitions: record.leaseTransitions,
  };
}

/** The Lease read (its metadata, resourceVersion included) with a new spec: client-go replaces the whole spec too. */
function withSpec(lease: V1Lease, record: LeaseRecord): V1Lease {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec: toSpec(record) };
}

/** Puts an AbortSignal on the request (@kubernetes/client-node 1.x passes it to fetch). */
function signalOptions(signal: AbortSignal): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** One line: "HTTP 403: <the Status message>" for API errors, the message (and its cause's) otherwise. */
export function describeError(error: unknown): string {
  const answer = describeApiAnswer(error, 10_000);
  if (answer !== undefined) return answer;
  if (error instanceof Error) {
    const cause = error.cause instanceof Error && error.cause.message !== error.message ? ` (${error.cause.message.split('\n')[0]})` : '';
    return `${error.message.split('\n')[0]}${cause}`;
  }
  return String(error);
}
