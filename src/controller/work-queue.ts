import { backoffDelay, type Backoff } from './backoff.js';
import type { Clock } from './clock.js';

/**
 * A keyed work queue with client-go's semantics: a key is queued at most once; a key is never
 * handled by two workers at once (added while being handled, it is handled again afterwards); a
 * failed key is retried after an exponential backoff, reset by a success. `concurrency` workers.
 */
export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly clock: Clock;
  readonly backoff: Backoff;
  /** Called when the handler throws (the key is then retried). */
  readonly onError: (key: string, error: unknown, attempt: number) => void;
  readonly random?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  /** Added again while active: queue it when its handler is done. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retries = new Map<string, () => void>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.cancelRetry(key);
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Drops a key: not queued, not retried, its failures forgotten (a running handler finishes). */
  forget(key: string): void {
    this.cancelRetry(key);
    this.failures.delete(key);
    this.dirty.delete(key);
    this.queued.delete(key); // left in the array; skipped when reached
    this.settle();
  }

  /** Drops everything queued or waiting for a retry (handlers already running finish). */
  clear(): void {
    for (const cancel of this.retries.values()) cancel();
    this.retries.clear();
    this.queued.clear();
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.failures.clear();
    this.settle();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  /** Keys queued, running or waiting for a retry. */
  get size(): number {
    return this.queued.size + this.active.size + this.retries.size;
  }

  /** Keys queued or running (not those waiting for a retry). */
  get busy(): number {
    return this.queued.size + this.active.size;
  }

  /** Resolves when nothing is queued or running (retries waiting on a timer do not count). */
  idle(): Promise<void> {
    if (this.queued.size === 0 && this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active.size < this.options.concurrency && this.head < this.queue.length) {
      const key = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (!this.queued.delete(key)) continue; // forgotten meanwhile
      this.active.add(key);
      void this.run(key);
    }
    this.settle();
  }

  private async run(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (error) {
      const attempt = this.failures.get(key) ?? 0;
      this.failures.set(key, attempt + 1);
      this.options.onError(key, error, attempt + 1);
      if (!this.stopped && !this.dirty.has(key)) {
        const delay = backoffDelay(this.options.backoff, attempt, this.options.random);
        this.retries.set(
          key,
          this.options.clock.after(delay, () => {
            this.retries.delete(key);
            this.add(key);
          }),
        );
      }
    } finally {
      this.active.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }

  private cancelRetry(key: string): void {
    const cancel = this.retries.get(key);
    if (cancel) {
      cancel();
      this.retries.delete(key);
    }
  }

  private settle(): void {
    if (this.queued.size > 0 || this.active.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
