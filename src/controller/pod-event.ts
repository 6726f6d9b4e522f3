import type { GateEvent } from './gate.js';
import { kubeTime } from './status-patch.js';

/**
 * A core/v1 Event about a pod, as `kubectl describe pod` shows it. Named like client-go names
 * them (`<pod>.<unique hex>`); `source.component` and `reportingComponent` say who sent it.
 */
export const EVENT_COMPONENT = 'probe-injector-controller';

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion?: string | undefined;
}

export interface CoreEvent {
  readonly apiVersion: 'v1';
  readonly kind: 'Event';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly involvedObject: { readonly apiVersion: 'v1'; readonly kind: 'Pod'; readonly namespace: string; readonly name: string; readonly uid: string; readonly resourceVersion?: string };
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly source: { readonly component: string };
  readonly reportingComponent: string;
  readonly reportingInstance: string;
  readonly firstTimestamp: string;
  readonly lastTimestamp: string;
  readonly count: 1;
}

/** Events' messages are cut like the API server's own limit for event notes (1 kB). */
const MESSAGE_LIMIT = 1024;

export function podEvent(pod: PodRef, event: GateEvent, now: number, instance: string, unique: string): CoreEvent {
  const time = kubeTime(now);
  const message = event.message.length > MESSAGE_LIMIT ? `${event.message.slice(0, MESSAGE_LIMIT - 1)}…` : event.message;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod.name.slice(0, 252 - unique.length)}.${unique}`, namespace: pod.namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      ...(pod.resourceVersion !== undefined && { resourceVersion: pod.resourceVersion }),
    },
    type: event.type,
    reason: event.reason,
    message,
    source: { component: EVENT_COMPONENT },
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: instance.slice(0, 128),
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}
