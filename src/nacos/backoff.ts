/**
 * The pause before trying the next Nacos address: exponential with "equal jitter" (half fixed, half
 * random), bounded. Retry 0 waits 100–200 ms, then 200–400, 400–800, 800–1600, and at most 1–2 s.
 */
export const BACKOFF = { baseMs: 200, capMs: 2_000 } as const;

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

/** `random` is a number in [0, 1) (Math.random, or a fixed one in tests). */
export function backoffDelay(retry: number, random: number, policy: BackoffPolicy = BACKOFF): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(retry, 0));
  const jitter = Math.min(Math.max(random, 0), 1);
  return Math.round(ceiling / 2 + (jitter * ceiling) / 2);
}
