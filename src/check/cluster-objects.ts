import * as v from 'valibot';

/**
 * What `check` reads from the API server, as schemas: each list item is checked here, once, at the
 * edge; the decisions trust the types. Objects are loose (everything else passes through), so a
 * newer API server's extra fields are fine. @kubernetes/client-node turns timestamps into `Date`s;
 * a raw answer has RFC 3339 strings: both are accepted.
 */

const Labels = v.record(v.string(), v.string());
const Time = v.union([v.date(), v.string()]);

const LabelSelectorSchema = v.looseObject({
  matchLabels: v.nullish(Labels),
  matchExpressions: v.nullish(v.array(v.looseObject({ key: v.string(), operator: v.string(), values: v.nullish(v.array(v.string())) }))),
});

export const NamespaceSchema = v.looseObject({
  metadata: v.looseObject({ name: v.string(), labels: v.nullish(Labels) }),
});
export type NamespaceObject = v.InferOutput<typeof NamespaceSchema>;

export const WebhookConfigurationSchema = v.looseObject({
  metadata: v.looseObject({ name: v.string() }),
  webhooks: v.nullish(
    v.array(
      v.looseObject({
        name: v.string(),
        clientConfig: v.looseObject({
          url: v.nullish(v.string()),
          service: v.nullish(v.looseObject({ namespace: v.string(), name: v.string(), path: v.nullish(v.string()), port: v.nullish(v.number()) })),
        }),
        rules: v.nullish(
          v.array(v.looseObject({ operations: v.nullish(v.array(v.string())), apiGroups: v.nullish(v.array(v.string())), resources: v.nullish(v.array(v.string())) })),
        ),
        namespaceSelector: v.nullish(LabelSelectorSchema),
        objectSelector: v.nullish(LabelSelectorSchema),
      }),
    ),
  ),
});
export type WebhookConfigurationObject = v.InferOutput<typeof WebhookConfigurationSchema>;

const OwnerReferenceSchema = v.looseObject({ kind: v.string(), name: v.string(), uid: v.string(), controller: v.nullish(v.boolean()) });
export type OwnerReference = v.InferOutput<typeof OwnerReferenceSchema>;

const ObjectMetaSchema = v.looseObject({
  name: v.string(),
  namespace: v.string(),
  uid: v.string(),
  creationTimestamp: v.nullish(Time),
  labels: v.nullish(Labels),
  annotations: v.nullish(Labels),
  ownerReferences: v.nullish(v.array(OwnerReferenceSchema)),
});

/** A workload with its pod template at `spec.template` (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, ReplicationController). */
export const TemplatedSchema = v.looseObject({
  metadata: ObjectMetaSchema,
  spec: v.looseObject({ template: v.nullish(v.unknown()) }),
});
/** A CronJob: the template is `spec.jobTemplate.spec.template`. */
export const CronJobSchema = v.looseObject({
  metadata: ObjectMetaSchema,
  spec: v.looseObject({ jobTemplate: v.looseObject({ spec: v.nullish(v.looseObject({ template: v.nullish(v.unknown()) })) }) }),
});

/** The parts of a stored pod `check` reads besides what the injection core reads. */
export const StoredPodSchema = v.looseObject({
  metadata: ObjectMetaSchema,
  spec: v.looseObject({ readinessGates: v.nullish(v.array(v.looseObject({ conditionType: v.string() }))) }),
  status: v.nullish(
    v.looseObject({
      conditions: v.nullish(
        v.array(
          v.looseObject({
            type: v.string(),
            status: v.string(),
            reason: v.nullish(v.string()),
            message: v.nullish(v.string()),
            lastTransitionTime: v.nullish(Time),
          }),
        ),
      ),
    }),
  ),
});
export type StoredPod = v.InferOutput<typeof StoredPodSchema>;

/** Milliseconds since the epoch of a timestamp as read; undefined when absent or unreadable. */
export function timeOf(value: Date | string | null | undefined): number | undefined {
  if (value == null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The owner that controls an object (`controller: true`), else its only owner. */
export function controllerOf(owners: readonly OwnerReference[] | null | undefined): OwnerReference | undefined {
  const list = owners ?? [];
  return list.find((owner) => owner.controller === true) ?? (list.length === 1 ? list[0] : undefined);
}

export type TemplatedObject = v.InferOutput<typeof TemplatedSchema>;
export type CronJobObject = v.InferOutput<typeof CronJobSchema>;
