import type { Clock } from './clock.js';
import type { GateEvent } from './gate.js';
import type { Logger } from '../logger.js';
import type { ControllerMetrics } from './metrics.js';
import { podEvent, type PodRef } from './pod-event.js';
import type { PodStatusApi } from './pod-status-api.js';
import { TokenBucket } from './token-bucket.js';

/**
 * Sends Events without holding anything up (a failed Event is logged and counted, never retried),
 * bounded like client-go's recorder: a token bucket over all Events (`perSecond`, `burst`) and a
 * cap on Events in flight; what is over the bound is dropped and counted.
 */
export interface EventRecorderOptions {
  readonly api: Pick<PodStatusApi, 'createEvent'>;
  readonly clock: Clock;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
  /** This replica's name (`reportingInstance`). */
  readonly instance: string;
  readonly perSecond?: number;
  readonly burst?: number;
  readonly maxInFlight?: number;
}

export class EventRecorder {
  private readonly bucket: TokenBucket;
  private readonly inFlight = new Set<Promise<void>>();
  private counter = 0;

  constructor(private readonly options: EventRecorderOptions) {
    this.bucket = new TokenBucket(options.perSecond ?? 10, options.burst ?? 100);
  }

  emit(pod: PodRef, event: GateEvent): void {
    const { metrics, clock, logger } = this.options;
    const now = clock.now();
    if (this.inFlight.size >= (this.options.maxInFlight ?? 64) || !this.bucket.take(now)) {
      metrics.event(event.type, event.reason, 'dropped');
      return;
    }
    const unique = `${now.toString(16)}${(this.counter++ % 0x10000).toString(16).padStart(4, '0')}`;
    const sent = this.options.api
      .createEvent(pod.namespace, podEvent(pod, event, now, this.options.instance, unique))
      .then(
        () => metrics.event(event.type, event.reason, 'sent'),
        (error: unknown) => {
          metrics.event(event.type, event.reason, 'failed');
          logger.warn({ pod: `${pod.namespace}/${pod.name}`, reason: event.reason, error: error instanceof Error ? error.message : String(error) }, 'event not recorded');
        },
      )
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** Resolves when every Event sent so far is answered. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
