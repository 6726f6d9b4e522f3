/**
 * Exponential backoff with full jitter (as client-go's workqueue and most SDKs do): the n-th retry
 * (from 0) waits a random time up to `baseMs * 2^n`, capped at `maxMs`. `random` is injected so
 * tests are deterministic.
 */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  // Never less than half the ceiling: full jitter down to zero would retry at once too often.
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
