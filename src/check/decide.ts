import { NACOS_GATE_LABEL, STATUS_ANNOTATION } from '../core/annotation-keys.js';
import type { InjectionConfig } from '../core/config.js';
import { mutatePod, REASONS, type Mutation } from '../core/mutation.js';
import { resolveNacosIdentity } from '../core/nacos-identity.js';
import { isPod, type Pod } from '../core/pod.js';
import { readStatus, type InjectionStatus } from '../core/status.js';
import { bounded, plain } from '../core/text.js';
import { formatDenial, formatProblem, formatWarning } from '../messages.js';
import { timeOf, type StoredPod } from './cluster-objects.js';
import type { Labels } from './label-selector.js';
import { selection, type PodWebhook, type Selection } from './webhook.js';

/**
 * `probe-injector check`'s decisions (SPEC §7), pure: for a workload's pod template or a bare pod,
 * given what was read from the cluster, whether it is opted in and why not, whether a webhook
 * sends its pods, what its pods got (their status annotation), what the template would get now
 * (the injection core itself), the pods waiting on the Nacos gate, and the problems.
 */

export const CHECKED_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'ReplicationController', 'Pod'] as const;
export type CheckedKind = (typeof CHECKED_KINDS)[number];

export interface CheckContext {
  readonly config: InjectionConfig;
  readonly webhooks: readonly PodWebhook[];
  /** Milliseconds since the epoch: "now", for how long a pod has been waiting. */
  readonly now: number;
}

export const OPT_IN = {
  annotation: 'annotation',
  injectByDefault: 'inject-by-default',
  noAnnotation: 'no-annotation',
  optedOut: 'opted-out',
  misspeltKey: 'misspelt-key',
} as const;
export type OptInWhy = (typeof OPT_IN)[keyof typeof OPT_IN];

/** What the webhook adds (or added): the status annotation's shape. */
export interface Added {
  readonly containers: Readonly<Record<string, readonly string[]>>;
  readonly readinessGates: readonly string[];
  readonly labels: readonly string[];
  readonly terminationGracePeriodSeconds?: number | undefined;
}

export const PROBLEM_CODES = {
  invalidAnnotations: 'invalid-annotations',
  misspeltKey: 'misspelt-key',
  notSelected: 'not-selected',
  notInjected: 'not-injected',
  gateUnlabelled: 'gate-unlabelled',
  gateIdentity: 'gate-identity',
  gateSlow: 'gate-slow',
  unreadable: 'unreadable-template',
} as const;
export type ProblemCode = (typeof PROBLEM_CODES)[keyof typeof PROBLEM_CODES];

export interface CheckProblem {
  readonly code: ProblemCode;
  readonly message: string;
}

/** A pod whose gate condition is not `True`. */
export interface WaitingPod {
  readonly pod: string;
  /** The condition's `status`, or `absent` when the pod has no such condition yet. */
  readonly status: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  /** When it started waiting: the condition's lastTransitionTime, else the pod's creation (ms since the epoch). */
  readonly since?: number | undefined;
  readonly seconds?: number | undefined;
  /** ContainersReady is True: the gate controller is (or should be) asking Nacos. */
  readonly containersReady: boolean;
  /** It carries the label the gate controller selects pods by. */
  readonly labelled: boolean;
}

/** What one stored pod tells: what was injected, and its gate. */
export interface PodFacts {
  readonly name: string;
  readonly injected?: Added | undefined;
  /** Set when the pod carries the gate's condition type in `spec.readinessGates` and it is not True. */
  readonly waiting?: WaitingPod | undefined;
  /** Set for a waiting, labelled pod whose Nacos identity does not resolve (the controller leaves it alone). */
  readonly identityProblem?: string | undefined;
}

/** Pods counted for a row: the counts are exact, the lists bounded. */
export interface PodTally {
  readonly total: number;
  readonly injected: number;
  /** The union of what their status annotations say was injected. */
  readonly added?: Added | undefined;
  readonly waitingCount: number;
  readonly waiting: readonly WaitingPod[];
  readonly unlabelledCount: number;
  readonly identityProblems: readonly string[];
}

export const LISTED_PODS = 10;

export interface CheckRow {
  readonly namespace: string;
  readonly kind: CheckedKind;
  readonly name: string;
  readonly optIn: { readonly optedIn: boolean; readonly why: OptInWhy; readonly text: string };
  /** Whether the API server sends this object's pods to a webhook of ours. */
  readonly webhook: Selection;
  /** What the template (or the bare pod) would get now. */
  readonly wouldGet: { readonly outcome: Mutation['outcome'] } & Added;
  readonly pods: PodTally;
  readonly warnings: readonly string[];
  readonly problems: readonly CheckProblem[];
}

/** A row before its pods are counted. */
export interface RowDraft {
  readonly namespace: string;
  readonly kind: CheckedKind;
  readonly name: string;
  readonly mutation: Mutation;
  readonly selection: Selection;
  /** Where the template is in the object (`spec.template`), for messages; undefined for a pod. */
  readonly where?: string | undefined;
  readonly unreadable?: string | undefined;
}

export const EMPTY_TALLY: PodTally = { total: 0, injected: 0, waitingCount: 0, waiting: [], unlabelledCount: 0, identityProblems: [] };

const NOTHING: Added = { containers: {}, readinessGates: [], labels: [] };

/** The pod a template stands for, as the webhook will see it: the template's metadata and spec. */
export function podOfTemplate(template: unknown): Pod | undefined {
  if (template === null || typeof template !== 'object') return undefined;
  const { metadata, spec } = template as { metadata?: unknown; spec?: unknown };
  const pod = { metadata: metadata ?? {}, spec };
  return isPod(pod) ? pod : undefined;
}

/** Runs the injection core on a workload's template (`where` is its path, e.g. `spec.template`). */
export function draftOfTemplate(
  object: { readonly namespace: string; readonly kind: CheckedKind; readonly name: string },
  template: unknown,
  where: string,
  namespaceLabels: Labels,
  context: CheckContext,
): RowDraft {
  const pod = podOfTemplate(template);
  if (pod === undefined) {
    const mutation: Mutation = { outcome: 'skipped', reason: REASONS.notOptedIn, patch: [], patchJson: '', warnings: [], problems: [], containers: [], readinessGates: [], labels: [] };
    return { ...object, mutation, selection: selection(context.webhooks, object.namespace, namespaceLabels), where, unreadable: `${where} cannot be read as a pod (its containers, ports or probes are not what the API documents)` };
  }
  return { ...object, mutation: mutatePod(pod, context.config), selection: selection(context.webhooks, object.namespace, namespaceLabels, pod.metadata?.labels ?? {}), where };
}

/** Runs the injection core on a bare pod as stored (an injected one comes back with nothing more to add). */
export function draftOfPod(pod: Pod & StoredPod, namespaceLabels: Labels, context: CheckContext): RowDraft {
  const { namespace, name } = pod.metadata;
  return { namespace, kind: 'Pod', name, mutation: mutatePod(pod, context.config), selection: selection(context.webhooks, namespace, namespaceLabels, pod.metadata.labels ?? {}) };
}

export function addedOfStatus(status: InjectionStatus): Added {
  return {
    containers: Object.fromEntries(status.containers),
    readinessGates: status.readinessGates,
    labels: status.labels,
    ...(status.terminationGracePeriodSeconds !== undefined && { terminationGracePeriodSeconds: status.terminationGracePeriodSeconds }),
  };
}

export function addedOfMutation(mutation: Mutation): Added {
  if (mutation.outcome !== 'patched') return NOTHING;
  return {
    containers: Object.fromEntries(mutation.containers.filter((c) => c.added.length > 0).map((c) => [c.name, c.added])),
    readinessGates: mutation.readinessGates,
    labels: mutation.labels,
    ...(mutation.grace && { terminationGracePeriodSeconds: mutation.grace.to }),
  };
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** Everything either says was added. */
export function mergeAdded(a: Added | undefined, b: Added): Added {
  if (a === undefined) return b;
  const containers: Record<string, readonly string[]> = { ...a.containers };
  for (const [name, items] of Object.entries(b.containers)) containers[name] = union(Object.hasOwn(containers, name) ? containers[name]! : [], items);
  const grace = Math.max(a.terminationGracePeriodSeconds ?? -1, b.terminationGracePeriodSeconds ?? -1);
  return {
    containers,
    readinessGates: union(a.readinessGates, b.readinessGates),
    labels: union(a.labels, b.labels),
    ...(grace >= 0 && { terminationGracePeriodSeconds: grace }),
  };
}

/** What a stored pod tells: its status annotation, and whether it waits on the gate of SPEC §8. */
export function factsOfPod(pod: StoredPod, asPod: Pod | undefined, context: CheckContext): PodFacts {
  const status = readStatus(pod.metadata.annotations?.[STATUS_ANNOTATION]);
  const name = pod.metadata.name;
  const injected = status === undefined ? undefined : addedOfStatus(status);
  const conditionType = context.config.nacos.gate.conditionType;
  const gated = (pod.spec.readinessGates ?? []).some((gate) => gate.conditionType === conditionType);
  if (!gated) return { name, injected };
  const conditions = pod.status?.conditions ?? [];
  const condition = conditions.find((c) => c.type === conditionType);
  if (condition?.status === 'True') return { name, injected };
  const since = timeOf(condition?.lastTransitionTime) ?? timeOf(pod.metadata.creationTimestamp);
  const waiting: WaitingPod = {
    pod: name,
    status: condition?.status ?? 'absent',
    reason: condition?.reason ?? undefined,
    message: condition?.message ?? undefined,
    since,
    seconds: since === undefined ? undefined : Math.max(0, Math.floor((context.now - since) / 1000)),
    containersReady: conditions.some((c) => c.type === 'ContainersReady' && c.status === 'True'),
    labelled: pod.metadata.labels?.[NACOS_GATE_LABEL] === 'true',
  };
  let identityProblem: string | undefined;
  if (waiting.labelled) {
    const identity = asPod === undefined ? undefined : resolveNacosIdentity(asPod, context.config);
    if (identity === undefined) identityProblem = 'the pod could not be read as a pod';
    else if (!identity.ok) identityProblem = identity.problems.map(formatProblem).join('; ');
  }
  return { name, injected, waiting, identityProblem };
}

/** Counts one more pod of a row (the lists stay bounded). */
export function tally(counted: PodTally, facts: PodFacts): PodTally {
  const { waiting } = facts;
  return {
    total: counted.total + 1,
    injected: counted.injected + (facts.injected ? 1 : 0),
    added: facts.injected ? mergeAdded(counted.added, facts.injected) : counted.added,
    waitingCount: counted.waitingCount + (waiting ? 1 : 0),
    waiting: waiting && counted.waiting.length < LISTED_PODS ? [...counted.waiting, waiting] : counted.waiting,
    unlabelledCount: counted.unlabelledCount + (waiting && !waiting.labelled ? 1 : 0),
    identityProblems:
      facts.identityProblem && counted.identityProblems.length < LISTED_PODS
        ? [...counted.identityProblems, bounded(`pod ${plain(facts.name)}: ${facts.identityProblem}`, 600)]
        : counted.identityProblems,
  };
}

function optInOf(mutation: Mutation, misspelt: readonly string[]): CheckRow['optIn'] {
  if (mutation.outcome !== 'skipped') {
    const byDefault = mutation.reason === REASONS.byDefault;
    return { optedIn: true, why: byDefault ? OPT_IN.injectByDefault : OPT_IN.annotation, text: mutation.reason };
  }
  if (mutation.reason === REASONS.optedOut) return { optedIn: false, why: OPT_IN.optedOut, text: mutation.reason };
  if (misspelt.length > 0) return { optedIn: false, why: OPT_IN.misspeltKey, text: `${mutation.reason}; ${misspelt[0]}` };
  return { optedIn: false, why: OPT_IN.noAnnotation, text: mutation.reason };
}

/** The row, with its problems: everything that keeps its pods from getting what they ask for. */
export function finishRow(draft: RowDraft, pods: PodTally, context: CheckContext): CheckRow {
  const { mutation, selection: webhook } = draft;
  const problems: CheckProblem[] = [];
  const misspelt = mutation.outcome === 'skipped' ? mutation.warnings.filter((w) => w.kind === 'unknown-key').map((w) => bounded(formatWarning(w), 300)) : [];
  const optIn = optInOf(mutation, misspelt);
  const subject = draft.kind === 'Pod' ? 'the pod is' : 'its pods are';

  if (draft.unreadable !== undefined) problems.push({ code: PROBLEM_CODES.unreadable, message: draft.unreadable });
  if (mutation.problems.length > 0) problems.push({ code: PROBLEM_CODES.invalidAnnotations, message: formatDenial(mutation.problems, draft.where) });
  for (const text of misspelt) problems.push({ code: PROBLEM_CODES.misspeltKey, message: text });
  if (optIn.optedIn && !webhook.selected) problems.push({ code: PROBLEM_CODES.notSelected, message: `opted in, but ${subject} not sent to the webhook: ${webhook.text}` });
  const notInjected = pods.total - pods.injected;
  if (webhook.selected && mutation.outcome === 'patched' && notInjected > 0) {
    const which = draft.kind === 'Pod' ? 'the pod was not injected' : `${notInjected} of ${pods.total} ${pods.total === 1 ? 'pod' : 'pods'} ${notInjected === 1 ? 'was' : 'were'} not injected`;
    problems.push({ code: PROBLEM_CODES.notInjected, message: `${which} (created before the webhook was registered, or while it could not be reached under failurePolicy Ignore): re-create them` });
  }
  const conditionType = context.config.nacos.gate.conditionType;
  if (pods.unlabelledCount > 0) {
    problems.push({
      code: PROBLEM_CODES.gateUnlabelled,
      message: `${pods.unlabelledCount} ${pods.unlabelledCount === 1 ? 'pod waits' : 'pods wait'} on the readiness gate ${conditionType} without the label ${NACOS_GATE_LABEL}: "true", so the gate controller never sees ${pods.unlabelledCount === 1 ? 'it' : 'them'}`,
    });
  }
  for (const text of pods.identityProblems) problems.push({ code: PROBLEM_CODES.gateIdentity, message: `${text} (the gate controller leaves it waiting)` });
  const warnAfter = context.config.nacos.gate.warnAfterSeconds;
  const slow = pods.waiting.filter((pod) => pod.containersReady && pod.labelled && (pod.seconds ?? 0) > warnAfter);
  if (slow.length > 0) {
    problems.push({
      code: PROBLEM_CODES.gateSlow,
      message: `${slow.length === 1 ? 'pod' : 'pods'} ${slow.map((pod) => plain(pod.pod)).join(', ')} ${slow.length === 1 ? 'has' : 'have'} waited on ${conditionType} longer than nacos.gate.warnAfterSeconds (${warnAfter}s) with its containers ready`,
    });
  }
  const warnings = mutation.warnings.filter((w) => w.kind !== 'unknown-key' && w.kind !== 'problem').map((w) => bounded(formatWarning(w), 300));
  return {
    namespace: draft.namespace,
    kind: draft.kind,
    name: draft.name,
    optIn,
    webhook,
    wouldGet: { outcome: mutation.outcome, ...addedOfMutation(mutation) },
    pods,
    warnings,
    problems,
  };
}

/** Whether a webhook of ours sends a namespace's pods (objectSelectors aside). */
export function namespaceSelection(name: string, labels: Labels, context: CheckContext): Selection {
  return selection(context.webhooks, name, labels);
}
