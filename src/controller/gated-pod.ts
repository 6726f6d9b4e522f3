import * as v from 'valibot';
import { NACOS_GATE_LABEL } from '../core/annotation-keys.js';
import { isPod, type Pod } from '../core/pod.js';
import { canonicalIp } from './ip-address.js';

/**
 * A pod as the controller reads it, checked at the edge. Pods arrive from the informer's list
 * (deserialised by @kubernetes/client-node: times are `Date`s) and from its watch (raw JSON: times
 * are strings), and from our own reads and patches; all are checked by this one schema, without a
 * copy, and only what the controller uses is read out.
 */
// `v.instance(Date)`, not `v.date()`: an Invalid Date (a time the client could not parse) is an unknown time, not an unreadable pod.
const Time = v.union([v.string(), v.instance(Date)]);
const ConditionSchema = v.looseObject({
  type: v.string(),
  status: v.string(),
  reason: v.nullish(v.string()),
  message: v.nullish(v.string()),
  lastTransitionTime: v.nullish(Time),
});
const GatedPodSchema = v.looseObject({
  metadata: v.looseObject({
    name: v.pipe(v.string(), v.minLength(1)),
    namespace: v.pipe(v.string(), v.minLength(1)),
    uid: v.string(),
    resourceVersion: v.pipe(v.string(), v.minLength(1)),
    labels: v.nullish(v.record(v.string(), v.string())),
    deletionTimestamp: v.nullish(Time),
  }),
  status: v.nullish(
    v.looseObject({
      phase: v.nullish(v.string()),
      podIP: v.nullish(v.string()),
      podIPs: v.nullish(v.array(v.looseObject({ ip: v.string() }))),
      conditions: v.nullish(v.array(ConditionSchema)),
    }),
  ),
});
type GatedPodInput = v.InferInput<typeof GatedPodSchema>;

/** The label the webhook puts on pods that carry the gate (`probe-injector.io/nacos-gate`); the controller's watch selects it. */
export const GATE_LABEL = NACOS_GATE_LABEL;
export const GATE_LABEL_SELECTOR = `${GATE_LABEL}=true`;

export interface GateCondition {
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  /** Milliseconds since the epoch; undefined when absent or unreadable. */
  readonly lastTransitionTime?: number | undefined;
}

export interface GatedPod {
  /** `namespace/name`: the work queue's key. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** The pod as the core's `resolveNacosIdentity` takes it. */
  readonly pod: Pod;
  /** Labelled `probe-injector.io/nacos-gate: "true"`. */
  readonly labelled: boolean;
  /** `spec.readinessGates` holds the configured condition type. */
  readonly gated: boolean;
  /** Being deleted, or Succeeded/Failed: nothing to wait for. */
  readonly over: boolean;
  /** `status.podIPs` (else `status.podIP`), canonical. */
  readonly ips: readonly string[];
  /** `ContainersReady` is True; its lastTransitionTime when readable. */
  readonly containersReady: boolean;
  readonly containersReadyAt?: number | undefined;
  /** Our condition, when the pod has it. */
  readonly gate?: GateCondition | undefined;
}

export type PodView = { readonly ok: true; readonly pod: GatedPod } | { readonly ok: false; readonly key?: string | undefined; readonly reason: string };

/** Reads a pod from the API server; `ok: false` says why it cannot be handled (never throws). */
export function viewPod(raw: unknown, conditionType: string): PodView {
  const key = keyOf(raw);
  if (!v.is(GatedPodSchema, raw)) return { ok: false, key, reason: firstIssue(raw) };
  if (!isPod(raw)) return { ok: false, key, reason: 'spec is not a pod spec (spec.containers missing or malformed)' };
  const pod = raw as GatedPodInput & Pod;
  const { metadata, status } = pod;
  const conditions = status?.conditions ?? [];
  const containersReady = conditions.find((condition) => condition.type === 'ContainersReady');
  const gate = conditions.find((condition) => condition.type === conditionType);
  const ips = (status?.podIPs?.length ? status.podIPs.map((entry) => entry.ip) : status?.podIP ? [status.podIP] : []).filter((ip) => ip !== '').map(canonicalIp);
  return {
    ok: true,
    pod: {
      key: `${metadata.namespace}/${metadata.name}`,
      namespace: metadata.namespace,
      name: metadata.name,
      uid: metadata.uid,
      resourceVersion: metadata.resourceVersion,
      pod,
      labelled: metadata.labels?.[GATE_LABEL] === 'true',
      gated: (pod.spec.readinessGates ?? []).some((readinessGate) => readinessGate.conditionType === conditionType),
      over: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null ? true : status?.phase === 'Succeeded' || status?.phase === 'Failed',
      ips: [...new Set(ips)],
      containersReady: containersReady?.status === 'True',
      containersReadyAt: containersReady?.status === 'True' ? timeOf(containersReady.lastTransitionTime) : undefined,
      gate: gate && {
        status: gate.status,
        reason: gate.reason ?? undefined,
        message: gate.message ?? undefined,
        lastTransitionTime: timeOf(gate.lastTransitionTime),
      },
    },
  };
}

function timeOf(value: string | Date | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** `namespace/name` of anything that looks like an object, for logging what could not be read. */
function keyOf(raw: unknown): string | undefined {
  const metadata = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null | undefined)?.metadata;
  if (typeof metadata?.name !== 'string' || typeof metadata.namespace !== 'string') return undefined;
  return `${metadata.namespace}/${metadata.name}`.slice(0, 400);
}

function firstIssue(raw: unknown): string {
  const result = v.safeParse(GatedPodSchema, raw);
  const issue = result.issues?.[0];
  if (!issue) return 'not a pod';
  const path = v.getDotPath(issue);
  return `${path ?? '(pod)'}: ${issue.message}`.slice(0, 300);
}
