import { STATUS_ANNOTATION } from './annotation-keys.js';
import { pointer } from './json-pointer.js';
import type { Pod } from './pod.js';
import type { Plan } from './plan.js';
import { formatStatus, mergeStatus, type InjectionStatus } from './status.js';

/** The only operations the webhook emits: it adds what is missing and, for the grace period, replaces. */
export type PatchOperation =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown };

/** What the plan adds, as the status annotation records it. */
export function addedStatus(plan: Plan): InjectionStatus {
  const containers = new Map<string, string[]>();
  for (const container of plan.containers) {
    const items = [...container.probes.map((p) => p.field), ...(container.preStop ? ['preStop'] : [])];
    if (items.length > 0) containers.set(container.target.container.name, items);
  }
  return { containers, readinessGates: plan.readinessGates, labels: Object.keys(plan.labels), terminationGracePeriodSeconds: plan.grace?.to };
}

/**
 * Translates a plan straight into JSON Patch operations (no clone-and-diff): `add` for what is
 * missing, parents included; `replace` only for a grace period that is present but too short.
 * `root` is the pointer of the pod-shaped object (`/spec/template` for a workload's template).
 */
export function toPatch(pod: Pod, plan: Plan, previous: InjectionStatus | undefined, root = ''): PatchOperation[] {
  const ops: PatchOperation[] = [];
  for (const { target, probes, preStop } of plan.containers) {
    const base = `${root}${pointer('spec', target.list, target.index)}`;
    for (const { field, probe } of probes) ops.push({ op: 'add', path: `${base}/${field}`, value: probe });
    if (preStop) {
      ops.push(
        target.container.lifecycle == null
          ? { op: 'add', path: `${base}/lifecycle`, value: { preStop } }
          : { op: 'add', path: `${base}/lifecycle/preStop`, value: preStop },
      );
    }
  }
  if (plan.readinessGates.length > 0) {
    if (pod.spec.readinessGates == null) {
      ops.push({ op: 'add', path: `${root}/spec/readinessGates`, value: plan.readinessGates.map((conditionType) => ({ conditionType })) });
    } else {
      for (const conditionType of plan.readinessGates) ops.push({ op: 'add', path: `${root}/spec/readinessGates/-`, value: { conditionType } });
    }
  }
  if (plan.grace) {
    const present = pod.spec.terminationGracePeriodSeconds != null;
    ops.push({ op: present ? 'replace' : 'add', path: `${root}/spec/terminationGracePeriodSeconds`, value: plan.grace.to });
  }
  if (ops.length === 0 && Object.keys(plan.labels).length === 0) return ops;

  const status = formatStatus(mergeStatus(previous, addedStatus(plan)));
  const metadata = pod.metadata;
  if (metadata == null) {
    const labels = Object.keys(plan.labels).length > 0 ? { labels: plan.labels } : {};
    ops.push({ op: 'add', path: `${root}/metadata`, value: { ...labels, annotations: { [STATUS_ANNOTATION]: status } } });
    return ops;
  }
  if (metadata.labels == null && Object.keys(plan.labels).length > 0) {
    ops.push({ op: 'add', path: `${root}/metadata/labels`, value: plan.labels });
  } else {
    for (const [key, value] of Object.entries(plan.labels)) ops.push({ op: 'add', path: `${root}${pointer('metadata', 'labels', key)}`, value });
  }
  ops.push(
    metadata.annotations == null
      ? { op: 'add', path: `${root}/metadata/annotations`, value: { [STATUS_ANNOTATION]: status } }
      : { op: 'add', path: `${root}${pointer('metadata', 'annotations', STATUS_ANNOTATION)}`, value: status },
  );
  return ops;
}
