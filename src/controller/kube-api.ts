import type * as K8s from '@kubernetes/client-node';
import { apiStatusOf, describeApiAnswer } from '../kube/api-error.js';
import type { ConfigurationOptions, CoreV1Api, ObservableMiddleware } from '@kubernetes/client-node';
import type { CoreEvent } from './pod-event.js';
import { EVENT_COMPONENT } from './pod-event.js';
import { KubeApiError, type PodStatusApi } from './pod-status-api.js';
import { STATUS_PATCH_CONTENT_TYPE, type StatusPatch } from './status-patch.js';

/**
 * The controller's calls to kube-apiserver through @kubernetes/client-node 1.x: read a pod, patch
 * `pods/status` (strategic merge, so only our condition is merged in by `type`), create an Event.
 * Each call is bounded by `timeoutMs`; a failure becomes a KubeApiError carrying the HTTP status
 * and the Status message the API server sent.
 */
export function kubePodStatusApi(k8s: typeof K8s, core: CoreV1Api, timeoutMs: number): PodStatusApi {
  const bounded = (extra?: ConfigurationOptions<ObservableMiddleware>): ConfigurationOptions<ObservableMiddleware> => {
    const middleware: ObservableMiddleware = {
      pre: (context) => {
        context.setSignal(AbortSignal.timeout(timeoutMs));
        return new k8s.Observable(Promise.resolve(context));
      },
      post: (context) => new k8s.Observable(Promise.resolve(context)),
    };
    return { ...extra, middleware: [...(extra?.middleware ?? []), middleware], middlewareMergeStrategy: 'append' };
  };
  return {
    async readPod(namespace, name) {
      try {
        return await core.readNamespacedPod({ name, namespace }, bounded());
      } catch (error) {
        if (apiStatusOf(error) === 404) return undefined;
        throw apiError(`read pod ${namespace}/${name}`, error, timeoutMs);
      }
    },
    async patchPodStatus(namespace, name, patch: StatusPatch) {
      try {
        return await core.patchNamespacedPodStatus(
          { name, namespace, body: patch, fieldManager: EVENT_COMPONENT },
          bounded(k8s.setHeaderOptions('Content-Type', STATUS_PATCH_CONTENT_TYPE)),
        );
      } catch (error) {
        throw apiError(`patch the status of pod ${namespace}/${name}`, error, timeoutMs);
      }
    },
    async createEvent(namespace, event: CoreEvent) {
      try {
        await core.createNamespacedEvent({ namespace, body: event as unknown as K8s.CoreV1Event }, bounded());
      } catch (error) {
        throw apiError(`create an Event in ${namespace}`, error, timeoutMs);
      }
    },
  };
}

/** `HTTP 409: <the Status message>`, or the network error, in one line. */
export function apiError(what: string, error: unknown, timeoutMs: number): KubeApiError {
  const answer = describeApiAnswer(error);
  if (answer !== undefined) return new KubeApiError(`${what}: ${answer}`, apiStatusOf(error), { cause: error });
  const text = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const timedOut = error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError' || /aborted/i.test(error.message));
  return new KubeApiError(`${what}: ${timedOut ? `no answer within ${timeoutMs} ms` : text}`, undefined, { cause: error });
}
