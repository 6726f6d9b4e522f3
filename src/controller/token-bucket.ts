/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. Pure apart from its own state; the time
 * is passed in. Used to bound the Events the controller sends.
 */
export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    if (this.last !== undefined) this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
