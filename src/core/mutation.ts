import { PREFIX } from './annotation-keys.js';
import { parseSettings, readInject } from './annotations.js';
import type { InjectionConfig } from './config.js';
import { toPatch, type PatchOperation } from './patch.js';
import { planAddsNothing, planInjection, type InjectedItem } from './plan.js';
import type { Pod } from './pod.js';
import { formatProblem, MAX_LISTED_PROBLEMS, type Problem } from './problem.js';
import { readStatus, STATUS_ANNOTATION } from './status.js';
import { selectTargets } from './targets.js';
import { isInvalid } from './values.js';

export const OUTCOMES = ['skipped', 'unchanged', 'patched', 'denied'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The whole answer of the injection core for one pod. Pure data: the shells decide how to say it. */
export interface Mutation {
  readonly outcome: Outcome;
  /** Why, in a few words (for `--explain` and logs). */
  readonly reason: string;
  readonly patch: readonly PatchOperation[];
  readonly warnings: readonly string[];
  /** Non-empty exactly when the annotations are invalid (denied, or allowed with warnings under `warn`). */
  readonly problems: readonly Problem[];
  readonly containers: readonly { readonly name: string; readonly added: readonly InjectedItem[]; readonly kept: readonly InjectedItem[] }[];
  /** Readiness gates added to the pod. */
  readonly readinessGates: readonly string[];
  /** The grace period, when it was raised. */
  readonly grace?: { readonly from: number; readonly to: number } | undefined;
}

export interface MutateOptions {
  /** JSON Pointer of the pod-shaped object inside the document being patched (default: the root). */
  readonly root?: string;
}

/**
 * Decides whether a pod is opted in and, if so, what to add: annotations → settings → targets →
 * plan → patch. Never throws on any pod that passed the schema.
 */
export function mutatePod(pod: Pod, config: InjectionConfig, options: MutateOptions = {}): Mutation {
  const annotations = pod.metadata?.annotations ?? {};
  const inject = readInject(annotations);
  if (inject !== undefined && isInvalid(inject)) {
    return invalid([{ key: 'inject', value: annotations[`${PREFIX}inject`], message: inject.invalid }], config);
  }
  if (!(inject ?? config.injectByDefault)) {
    return skipped(inject === false ? `${PREFIX}inject is "false"` : `not opted in (${PREFIX}inject is not "true")`);
  }

  const parsed = parseSettings(annotations, config);
  if ('problems' in parsed) return invalid(parsed.problems, config);
  const { settings } = parsed;

  const status = readStatus(annotations[STATUS_ANNOTATION]);
  const targets = selectTargets(pod, settings.containers, status);
  if ('key' in targets) return invalid([targets], config);

  const plan = planInjection(pod, settings, targets, status, config);
  if (Array.isArray(plan)) return invalid(plan, config);

  const containers = plan.containers.map((c) => ({
    name: c.name,
    added: [...c.probes.map((p) => p.field), ...(c.preStop ? ['preStop' as const] : [])],
    kept: c.kept,
  }));
  if (planAddsNothing(plan)) {
    return { outcome: 'unchanged', reason: 'opted in; the pod already has everything', patch: [], warnings: plan.warnings, problems: [], containers, readinessGates: [] };
  }
  const patch = toPatch(pod, plan, status, options.root);
  return { outcome: 'patched', reason: 'opted in', patch, warnings: plan.warnings, problems: [], containers, readinessGates: plan.readinessGates, grace: plan.grace };
}

function skipped(reason: string): Mutation {
  return { outcome: 'skipped', reason, patch: [], warnings: [], problems: [], containers: [], readinessGates: [] };
}

/** `reject`: deny. `warn`: allow unchanged, and say every problem as a warning. */
function invalid(problems: readonly Problem[], config: InjectionConfig): Mutation {
  if (config.errorPolicy === 'reject') {
    return { outcome: 'denied', reason: 'invalid annotations', patch: [], warnings: [], problems, containers: [], readinessGates: [] };
  }
  return {
    outcome: 'unchanged',
    reason: 'invalid annotations (errorPolicy: warn, nothing injected)',
    patch: [],
    warnings: [
      ...problems.slice(0, MAX_LISTED_PROBLEMS).map((problem) => `probe-injector: ${formatProblem(problem)}`),
      ...(problems.length > MAX_LISTED_PROBLEMS ? [`probe-injector: … and ${problems.length - MAX_LISTED_PROBLEMS} more problems`] : []),
    ],
    problems,
    containers: [],
    readinessGates: [],
  };
}
