import { pointer } from './json-pointer.js';
import type { Pod } from './pod.js';
import type { Plan } from './plan.js';
import { formatStatus, mergeStatus, STATUS_ANNOTATION, type InjectionStatus } from './status.js';

/** The only operations the webhook emits: it adds what is missing and, for the grace period, replaces. */
export type PatchOperation =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown };

/** What the plan adds, as the status annotation records it. */
export function addedStatus(plan: Plan): InjectionStatus {
  const containers = new Map<string, string[]>();
  for (const container of plan.containers) {
    const items = [...container.probes.map((p) => p.field as string), ...(container.preStop ? ['preStop'] : [])];
    if (items.length > 0) containers.set(container.name, items);
  }
  return { containers, readinessGates: plan.readinessGates, terminationGracePeriodSeconds: plan.grace?.to };
}

/**
 * Translates a plan straight into JSON Patch operations (no clone-and-diff): `add` for what is
 * missing, parents included; `replace` only for a grace period that is present but too short.
 * `root` is the pointer of the pod-shaped object (`/spec/template` for a workload's template).
 */
export function toPatch(pod: Pod, plan: Plan, previous: InjectionStatus | undefined, root = ''): PatchOperation[] {
  const ops: PatchOperation[] = [];
  for (const container of plan.containers) {
    const base = `${root}${pointer('spec', 'containers', container.index)}`;
    for (const { field, probe } of container.probes) ops.push({ op: 'add', path: `${base}/${field}`, value: probe });
    if (container.preStop) {
      const lifecycle = pod.spec.containers[container.index]?.lifecycle;
      ops.push(
        lifecycle == null
          ? { op: 'add', path: `${base}/lifecycle`, value: { preStop: container.preStop } }
          : { op: 'add', path: `${base}/lifecycle/preStop`, value: container.preStop },
      );
    }
  }
  if (plan.readinessGates.length > 0) {
    if (pod.spec.readinessGates == null) {
      ops.push({ op: 'add', path: `${root}/spec/readinessGates`, value: plan.readinessGates.map((conditionType) => ({ conditionType })) });
    } else {
      for (const conditionType of plan.readinessGates) {
        ops.push({ op: 'add', path: `${root}/spec/readinessGates/-`, value: { conditionType } });
      }
    }
  }
  if (plan.grace) {
    const present = pod.spec.terminationGracePeriodSeconds !== undefined;
    ops.push({ op: present ? 'replace' : 'add', path: `${root}/spec/terminationGracePeriodSeconds`, value: plan.grace.to });
  }
  if (ops.length > 0) {
    const added = addedStatus(plan);
    const status = formatStatus(previous ? mergeStatus(previous, added) : added);
    if (pod.metadata == null) {
      ops.push({ op: 'add', path: `${root}/metadata`, value: { annotations: { [STATUS_ANNOTATION]: status } } });
    } else if (pod.metadata.annotations == null) {
      ops.push({ op: 'add', path: `${root}/metadata/annotations`, value: { [STATUS_ANNOTATION]: status } });
    } else {
      ops.push({ op: 'add', path: `${root}${pointer('metadata', 'annotations', STATUS_ANNOTATION)}`, value: status });
    }
  }
  return ops;
}
