import { isRecord } from '../core/json.js';

/**
 * The Kubernetes objects `mutate` knows: Pods, and the workloads whose pod template the webhook
 * will see as a pod once the controller creates it. Pure functions over plain objects.
 */

/** Where each kind keeps its pod (JSON Pointer inside the object) and which API groups it comes from. */
export const WORKLOADS = {
  Pod: { groups: [''], template: '' },
  ReplicationController: { groups: [''], template: '/spec/template' },
  Deployment: { groups: ['apps', 'extensions'], template: '/spec/template' },
  StatefulSet: { groups: ['apps'], template: '/spec/template' },
  DaemonSet: { groups: ['apps', 'extensions'], template: '/spec/template' },
  ReplicaSet: { groups: ['apps', 'extensions'], template: '/spec/template' },
  Job: { groups: ['batch'], template: '/spec/template' },
  CronJob: { groups: ['batch'], template: '/spec/jobTemplate/spec/template' },
} as const satisfies Record<string, { groups: readonly string[]; template: string }>;
export type WorkloadKind = keyof typeof WORKLOADS;

/** One object of a document: the document itself, or an item of a `List`. */
export interface ManifestObject {
  readonly value: unknown;
  /** JSON Pointer of the object inside its document: `''`, or `/items/3`. */
  readonly pointer: string;
  /** Index in the `List`'s items, when it is one. */
  readonly item?: number | undefined;
}

/** `kind: List` (and typed lists such as `PodList`, as the API returns them) are unpacked into their items. */
export function objectsOf(document: unknown): ManifestObject[] {
  if (isRecord(document) && typeof document['kind'] === 'string' && document['kind'].endsWith('List') && Array.isArray(document['items'])) {
    return document['items'].map((value, item) => ({ value, pointer: `/items/${item}`, item }));
  }
  return [{ value: document, pointer: '' }];
}

export interface Identity {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly generateName?: string | undefined;
}

export function identityOf(object: unknown): Identity {
  if (!isRecord(object)) return {};
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {};
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    apiVersion: text(object['apiVersion']),
    kind: text(object['kind']),
    namespace: text(metadata['namespace']),
    name: text(metadata['name']),
    generateName: text(metadata['generateName']),
  };
}

/**
 * The pod template of a known workload kind, by kind and API group. An object without
 * `apiVersion` is matched by kind alone; a kind from another group (a custom resource that
 * happens to be called `Deployment`) is not ours.
 */
export function workloadKindOf(identity: Identity): WorkloadKind | undefined {
  const kind = identity.kind;
  if (kind === undefined || !Object.hasOwn(WORKLOADS, kind)) return undefined;
  const workload = WORKLOADS[kind as WorkloadKind];
  if (identity.apiVersion === undefined) return kind as WorkloadKind;
  const group = identity.apiVersion.includes('/') ? identity.apiVersion.slice(0, identity.apiVersion.indexOf('/')) : '';
  return (workload.groups as readonly string[]).includes(group) ? (kind as WorkloadKind) : undefined;
}

/** The value at a JSON Pointer made of plain member names (the template pointers above). */
export function valueAt(object: unknown, pointer: string): unknown {
  let value = object;
  for (const token of pointer.split('/').slice(1)) {
    if (!isRecord(value)) return undefined;
    value = value[token];
  }
  return value;
}

/** `/spec/jobTemplate/spec/template` → `spec.jobTemplate.spec.template.` (a prefix for dot paths). */
export function dotPrefix(pointer: string): string {
  return pointer === '' ? '' : `${pointer.slice(1).replaceAll('/', '.')}.`;
}
