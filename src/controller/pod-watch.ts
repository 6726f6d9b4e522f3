import type * as K8s from '@kubernetes/client-node';
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { backoffDelay, type Backoff } from './backoff.js';
import type { Clock } from './clock.js';
import { apiError } from './kube-api.js';

/**
 * The label-selected pod watch: @kubernetes/client-node's informer (list, then watch from the
 * list's resourceVersion; a watch that ends is resumed from the last resourceVersion seen, and a
 * 410 Gone makes it list again). The informer stops on any error and does not restart by itself:
 * here its `error` handler restarts it after a backoff (1 s doubling to 30 s), forever. `synced`
 * turns true once a list has succeeded and its watch is open (for /readyz).
 */
export interface PodWatchHandlers {
  upsert(pod: unknown): void;
  remove(pod: unknown): void;
}

export interface PodWatchOptions {
  readonly k8s: typeof K8s;
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly labelSelector: string;
  readonly handlers: PodWatchHandlers;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Bound on the list call. */
  readonly listTimeoutMs?: number;
  readonly backoff?: Backoff;
  readonly onError?: () => void;
  readonly onRestart?: () => void;
}

export interface PodWatch {
  /** A list succeeded and the watch is (or was last) open. */
  synced(): boolean;
  /** The pods in the informer's cache. */
  list(): readonly unknown[];
  stop(): Promise<void>;
}

export const WATCH_BACKOFF: Backoff = { baseMs: 1000, maxMs: 30_000 };

export function startPodWatch(options: PodWatchOptions): PodWatch {
  const { k8s, core, labelSelector, handlers, logger, clock } = options;
  const listTimeoutMs = options.listTimeoutMs ?? 60_000;
  let synced = false;
  let stopped = false;
  let failures = 0;
  let cancelRestart: (() => void) | undefined;
  let failedThisAttempt = false;

  const informer = k8s.makeInformer<K8s.V1Pod>(
    options.kubeConfig,
    '/api/v1/pods',
    async () => {
      try {
        return await core.listPodForAllNamespaces({ labelSelector }, { middleware: [timeout(k8s, listTimeoutMs)], middlewareMergeStrategy: 'append' });
      } catch (error) {
        throw apiError(`list pods ${labelSelector}`, error, listTimeoutMs);
      }
    },
    labelSelector,
  );
  // The handlers never throw (the controller reads every object defensively); guard anyway, since
  // an exception here would stop the informer's processing of the watch stream.
  const safely = (what: string, handler: (pod: unknown) => void) => (pod: unknown) => {
    try {
      handler(pod);
    } catch (error) {
      logger.error({ error: error instanceof Error ? error.message : String(error) }, `pod ${what} handler failed`);
    }
  };
  informer.on('add', safely('add', handlers.upsert));
  informer.on('update', safely('update', handlers.upsert));
  informer.on('delete', safely('delete', handlers.remove));
  informer.on('error', (error: unknown) => {
    failedThisAttempt = true;
    if (stopped) return;
    options.onError?.();
    const delay = backoffDelay(options.backoff ?? WATCH_BACKOFF, failures++);
    logger.warn(
      { error: (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 300), retryInMs: delay, failures },
      'pod watch failed; restarting it (resuming from the last resourceVersion, or listing again)',
    );
    cancelRestart?.();
    cancelRestart = clock.after(delay, () => {
      cancelRestart = undefined;
      options.onRestart?.();
      void begin();
    });
  });

  const begin = async () => {
    if (stopped) return;
    failedThisAttempt = false;
    try {
      await informer.start();
    } catch (error) {
      // start() reports failures through 'error'; anything thrown here is unexpected.
      logger.error({ error: error instanceof Error ? error.message : String(error) }, 'pod watch could not start');
      return;
    }
    if (!failedThisAttempt && !stopped) {
      if (!synced) logger.info({ labelSelector, pods: informer.list().length }, 'pod watch synced');
      synced = true;
      failures = 0;
    }
  };
  void begin();

  return {
    synced: () => synced,
    list: () => informer.list(),
    async stop() {
      stopped = true;
      cancelRestart?.();
      await informer.stop();
    },
  };
}

function timeout(k8s: typeof K8s, ms: number): K8s.ObservableMiddleware {
  return {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(ms));
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (context) => new k8s.Observable(Promise.resolve(context)),
  };
}
