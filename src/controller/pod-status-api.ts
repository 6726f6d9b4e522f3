import type { CoreEvent } from './pod-event.js';
import type { StatusPatch } from './status-patch.js';

/**
 * What the controller asks of the Kubernetes API besides its watch: read a pod, patch its status,
 * create an Event. The real one is `kube-api.ts` (@kubernetes/client-node); an error carries the
 * HTTP status so that a 409 (the pod changed) and a 404 (it is gone) can be told apart.
 */
export interface PodStatusApi {
  /** The pod as the API server has it now; undefined when it does not exist. */
  readPod(namespace: string, name: string): Promise<unknown>;
  /** Applies the patch to `pods/status`; resolves with the updated pod. */
  patchPodStatus(namespace: string, name: string, patch: StatusPatch): Promise<unknown>;
  createEvent(namespace: string, event: CoreEvent): Promise<void>;
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    message: string,
    /** The HTTP status, when the API server answered. */
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof KubeApiError ? error.status : undefined;
}
