import { PREFIX, STATUS_ANNOTATION, isKnownKey } from './annotation-keys.js';
import { scanAnnotations, type AnnotationScan } from './annotation-scan.js';
import { parseSettings, unknownKey } from './annotations.js';
import { BOUNDS } from './bounds.js';
import type { NacosIdentity } from './nacos-identity.js';
import { toPatch, type PatchOperation } from './patch.js';
import { planAddsNothing, planInjection, type Plan } from './plan.js';
import { annotationsOf, type ContainerList, type NamedContainer, type Pod } from './pod.js';
import { dedupe, type Problem, type Problems } from './problems.js';
import type { InjectionConfig, InjectionSettings } from './settings.js';
import { readStatus } from './status.js';
import { selectTargets } from './targets.js';
import type { InjectedItem, Warning } from './warnings.js';

export const OUTCOMES = ['skipped', 'unchanged', 'patched', 'denied'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** How the pod came to be looked at, or why not. */
export const REASONS = {
  notOptedIn: `not opted in (${PREFIX}inject is not "true")`,
  optedOut: `${PREFIX}inject is "false"`,
  optedIn: `opted in (${PREFIX}inject is "true")`,
  byDefault: 'opted in by injectByDefault',
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

export interface ContainerReport {
  readonly name: string;
  readonly list: ContainerList;
  readonly added: readonly InjectedItem[];
  readonly kept: readonly InjectedItem[];
}

/** The whole answer of the injection core for one pod. Pure data: the shells decide how to say it. */
export interface Mutation {
  readonly outcome: Outcome;
  readonly reason: Reason;
  readonly patch: readonly PatchOperation[];
  /** The patch as JSON (empty when there is none), within `BOUNDS.patchBytes`. */
  readonly patchJson: string;
  readonly warnings: readonly Warning[];
  /** Non-empty exactly when the pod is refused (denied, or allowed unchanged under `warn`). */
  readonly problems: readonly Problem[];
  readonly containers: readonly ContainerReport[];
  /** Readiness gates added to the pod. */
  readonly readinessGates: readonly string[];
  /** Labels added to the pod. */
  readonly labels: readonly string[];
  /** The grace period, when it was raised. */
  readonly grace?: { readonly from: number; readonly to: number } | undefined;
  /** The pod's Nacos identity, when it carries the gate. */
  readonly identity?: NacosIdentity | undefined;
}

export interface MutatePodOptions {
  /** JSON Pointer of the pod-shaped object inside the document being patched (default: the root). */
  readonly root?: string | undefined;
}

/**
 * Decides whether a pod is opted in and, if so, what to add: annotations → settings → targets →
 * plan → patch. Every stage adds its problems to one collector and the next still runs, so a
 * denial lists everything at once. Never throws on any pod that passed the schema.
 */
export function mutatePod(pod: Pod, config: InjectionConfig, options: MutatePodOptions = {}): Mutation {
  const annotations = annotationsOf(pod);
  const problems: Problems = [];
  const warnings: Warning[] = [];

  const inject = annotations[`${PREFIX}inject`];
  if (inject === 'false') return skipped(REASONS.optedOut, []);
  const scan = scanAnnotations(annotations);
  // Over Kubernetes' size bound a pod that is not opted in is refused by kube-apiserver itself: nothing to say.
  if (inject === undefined && !config.injectByDefault) return skipped(REASONS.notOptedIn, scan.overBound ? [] : unknownKeyWarnings(scan.ours));
  // An invalid `inject` value is a problem, and the pod is checked as if opted in: it meant something.
  const byDefault = inject === undefined;

  // Kubernetes refuses more than 256 KiB of annotations: say so before reading any of them.
  if (scan.overBound) {
    return refused([{ key: '', message: `metadata.annotations: the annotations take more than ${BOUNDS.annotationBytes} bytes, Kubernetes' limit for a pod`, origin: 'bound' }], byDefault, config);
  }

  const settings = parseSettings(scan.ours, config, problems);
  const status = readStatus(annotations[STATUS_ANNOTATION]);
  const targets = selectTargets(pod, settings.containers, status, config.kubernetesVersion, problems, warnings);
  const amplified = copiedBytes(settings) * targets.length;
  if (amplified > BOUNDS.patchBytes) {
    problems.push({
      key: 'containers',
      message: `the probe values given would be copied into ${targets.length} containers (${amplified} bytes), over the ${BOUNDS.patchBytes}-byte bound of an answer`,
      origin: 'bound',
    });
    return refused(problems, byDefault, config);
  }
  const plan = planInjection(pod, settings, targets, { config, status, byDefault }, problems, warnings);
  if (problems.length > 0) return refused(problems, byDefault, config);

  const reason = byDefault ? REASONS.byDefault : REASONS.optedIn;
  const report = reportOf(plan);
  if (planAddsNothing(plan)) return { outcome: 'unchanged', reason, patch: [], patchJson: '', warnings: bounded(warnings), problems: [], ...report, readinessGates: [], labels: [], grace: undefined };
  const patch = toPatch(pod, plan, status, options.root);
  const patchJson = JSON.stringify(patch);
  if (patchJson.length > BOUNDS.patchBytes) {
    const over: Problem = { key: 'containers', message: `the patch would take ${patchJson.length} bytes, over the ${BOUNDS.patchBytes}-byte bound of an answer`, origin: 'bound' };
    return refused([over], byDefault, config);
  }
  return { outcome: 'patched', reason, patch, patchJson, warnings: bounded(warnings), problems: [], ...report };
}

function reportOf(plan: Plan): Pick<Mutation, 'containers' | 'readinessGates' | 'labels' | 'grace' | 'identity'> {
  return {
    containers: plan.containers.map((c) => ({
      name: c.target.container.name,
      list: c.target.list,
      added: [...c.probes.map((p) => p.field), ...(c.preStop ? ['preStop' as const] : [])],
      kept: c.kept,
    })),
    readinessGates: plan.readinessGates,
    labels: Object.keys(plan.labels),
    grace: plan.grace,
    identity: plan.identity,
  };
}

/** What the annotations copy into every target container: the only values that grow the answer. */
function copiedBytes(settings: InjectionSettings): number {
  let total = 0;
  for (const { settings: own, override } of Object.values(settings.probes)) {
    if (override) total += JSON.stringify(override).length;
    total += (own.command ?? []).reduce((sum, arg) => sum + arg.length + 3, 0) + (own.grpcService?.length ?? 0);
  }
  return total;
}

function skipped(reason: Reason, warnings: Warning[]): Mutation {
  return { outcome: 'skipped', reason, patch: [], patchJson: '', warnings, problems: [], containers: [], readinessGates: [], labels: [] };
}

/**
 * Keys under the prefix (in any case) that are not known, on a pod that is not opted in: a typo in
 * `inject` itself is the usual reason a pod was not injected, so it is worth a warning.
 */
function unknownKeyWarnings(ours: AnnotationScan['ours']): Warning[] {
  const warnings: Warning[] = [];
  let count = 0;
  for (const [key] of ours) {
    if (key.startsWith(PREFIX) && isKnownKey(key.slice(PREFIX.length))) continue;
    if (count++ < BOUNDS.suggestions) warnings.push({ kind: 'unknown-key', ...unknownKey(key, true) });
  }
  return bounded(warnings, count);
}

/** `reject`: deny. `warn`: allow unchanged, and say every problem as a warning. */
function refused(found: readonly Problem[], byDefault: boolean, config: InjectionConfig): Mutation {
  const problems = dedupe(found);
  const reason = byDefault ? REASONS.byDefault : REASONS.optedIn;
  const base = { reason, patch: [], patchJson: '', problems, containers: [], readinessGates: [], labels: [] };
  if (config.errorPolicy === 'reject') return { ...base, outcome: 'denied', warnings: [] };
  return { ...base, outcome: 'unchanged', warnings: bounded(problems.map((problem) => ({ kind: 'problem', problem })), problems.length) };
}

/** At most `BOUNDS.warnings` warnings, the last one saying how many more there were. */
function bounded(warnings: readonly Warning[], total = warnings.length): Warning[] {
  if (total <= BOUNDS.warnings) return [...warnings];
  return [...warnings.slice(0, BOUNDS.warnings - 1), { kind: 'more', count: total - (BOUNDS.warnings - 1) }];
}


/**
 * Everything of a pod `mutatePod` reads, as one string: two pods with the same key get the same
 * answer (replicas of one ReplicaSet differ only in what it does not read: name, a token volume's
 * random suffix, …). Absent and null are the same here, as they are to the core.
 */
export function mutationKey(pod: Pod, options: MutatePodOptions = {}): string {
  const container = (c: NamedContainer) => [c.name, c['restartPolicy'], c['ports'], c['startupProbe'], c['readinessProbe'], c['livenessProbe'], c['lifecycle']];
  const metadata = pod.metadata;
  return JSON.stringify([
    options.root ?? '',
    metadata == null ? null : [metadata.annotations ?? null, metadata.labels ?? null],
    pod.spec.containers.map(container),
    pod.spec.initContainers?.map(container) ?? null,
    pod.spec.readinessGates ?? null,
    pod.spec.terminationGracePeriodSeconds ?? null,
  ]);
}
