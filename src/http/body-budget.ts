/**
 * A global budget for buffered request bodies, so that many large uploads at once (slow or not)
 * cannot take the process past its memory limit: each request reserves its bytes before they are
 * buffered and gives them back when its answer is done. Beyond the budget the request is refused
 * at once (429 with `Retry-After`, which kube-apiserver's client retries), never queued.
 *
 * Large bodies may only use part of the budget: the rest is kept for small ones, so a few slow
 * uploads of multi-megabyte pods never starve the ordinary 5-50 KB admissions. Pure accounting:
 * no I/O, no timers.
 */

export interface BodyBudgetLimits {
  /** All buffered bodies together. */
  readonly totalBytes: number;
  /** A body above this size is "large". */
  readonly largeBodyBytes: number;
  /** Part of the total that large bodies may not use. */
  readonly reservedForSmallBytes: number;
}

const MiB = 1024 * 1024;

/** 32 MiB in all; bodies over 256 KiB share 24 MiB (four 6 MiB bodies, eight of kube-apiserver's 3 MiB). */
export const DEFAULT_BODY_BUDGET: BodyBudgetLimits = { totalBytes: 32 * MiB, largeBodyBytes: 256 * 1024, reservedForSmallBytes: 8 * MiB };

/** One request's share: grows as a body without Content-Length arrives; released once. */
export interface Reservation {
  /** Bytes held. */
  readonly bytes: number;
  /** Asks for `bytes` more; false (and nothing taken) when the budget cannot give them. */
  grow(bytes: number): boolean;
  /** Gives everything back; later calls do nothing. */
  release(): void;
}

export interface BodyBudget {
  readonly limits: BodyBudgetLimits;
  /** Bytes reserved by all requests now. */
  used(): number;
  /** A reservation of `bytes` (the declared Content-Length, or 0 for a chunked body), or undefined when it does not fit. */
  reserve(bytes: number): Reservation | undefined;
}

export function createBodyBudget(limits: BodyBudgetLimits = DEFAULT_BODY_BUDGET): BodyBudget {
  if (limits.reservedForSmallBytes > limits.totalBytes) throw new Error('reservedForSmallBytes must not exceed totalBytes');
  let used = 0;
  /** Whether a request that would hold `after` bytes in all may take `more`. */
  const fits = (after: number, more: number) => used + more <= limits.totalBytes - (after > limits.largeBodyBytes ? limits.reservedForSmallBytes : 0);

  return {
    limits,
    used: () => used,
    reserve(bytes) {
      if (!fits(bytes, bytes)) return undefined;
      used += bytes;
      let held = bytes;
      let released = false;
      return {
        get bytes() {
          return held;
        },
        grow(more) {
          if (released || !fits(held + more, more)) return false;
          used += more;
          held += more;
          return true;
        },
        release() {
          if (released) return;
          released = true;
          used -= held;
        },
      };
    },
  };
}
