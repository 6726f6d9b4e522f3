import type { ErrorPolicy } from '../../core/config.js';
import type { PatchOperation } from '../../core/patch.js';
import { DEFAULT_GRACE_PERIOD_SECONDS } from '../../core/pod.js';
import { STATUS_ANNOTATION } from '../../core/status.js';
import type { Diagnostic, ObjectReport } from './preview.js';

/**
 * The text `probe-injector mutate` prints besides the YAML: diagnostics on stderr, the `--patch`
 * JSON and the `--explain` report. Pure functions of the preview.
 */

/** One line per warning: `probe-injector: FILE: Deployment shop/orders (document 1): warning: …`. */
export function formatWarnings(file: string, objects: readonly ObjectReport[]): string {
  return objects.flatMap((object) => object.warnings.map((warning) => `probe-injector: ${file}: ${object.label}: warning: ${warning}\n`)).join('');
}

/** One line per problem, each naming the object and the annotation, then a count. */
export function formatProblems(file: string, problems: readonly Diagnostic[], errorPolicy: ErrorPolicy): string {
  const lines = problems.map((problem) => `probe-injector: ${file}: ${problem.label}: ${problem.message}\n`);
  const noun = problems.length === 1 ? 'problem' : 'problems';
  const policy = errorPolicy === 'warn' ? ' (errorPolicy is warn: the webhook would admit these pods unchanged, with the problems as warnings)' : '';
  return `${lines.join('')}probe-injector: ${file}: ${problems.length} ${noun} with annotations; nothing written${policy}\n`;
}

/** `probe-injector: FILE:LINE:COLUMN: message`, on one line. */
export function formatUnreadable(file: string, message: string, where?: { line?: number | undefined; column?: number | undefined }): string {
  const position = where?.line === undefined ? '' : `:${where.line}${where.column === undefined ? '' : `:${where.column}`}`;
  return `probe-injector: ${file}${position}: ${message.replace(/[\r\n]+/g, ' ')}\n`;
}

/** One entry of `--patch`: the object and its RFC 6902 patch, paths relative to the object. */
export interface PatchEntry {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly generateName?: string | undefined;
  readonly document: number;
  readonly item?: number | undefined;
  readonly patch: readonly PatchOperation[];
}

/** `--patch`: a JSON array with one entry per mutated object, in stream order (`[]` when none is). */
export function formatPatches(objects: readonly ObjectReport[]): string {
  const entries: PatchEntry[] = objects
    .filter((object) => object.mutation?.outcome === 'patched')
    .map(({ identity, document, item, mutation }) => ({
      apiVersion: identity.apiVersion,
      kind: identity.kind,
      namespace: identity.namespace,
      name: identity.name,
      generateName: identity.name === undefined ? identity.generateName : undefined,
      document,
      item,
      patch: mutation?.patch ?? [],
    }));
  return `${JSON.stringify(entries, null, 2)}\n`;
}

/** `--explain`: for every object, whether it would be mutated and why; what was added and kept. */
export function formatExplanation(objects: readonly ObjectReport[]): string {
  return objects.map(explainObject).join('');
}

function explainObject(object: ObjectReport): string {
  const { mutation } = object;
  const lines: string[] = [];
  if (mutation === undefined) {
    lines.push(`${object.label}: not mutated: ${object.skipped ?? 'not a Pod or a workload with a pod template'}`);
  } else {
    const verdict = mutation.outcome !== 'patched' ? 'not mutated' : object.root === '' ? 'mutated' : 'pod template mutated';
    lines.push(`${object.label}: ${verdict}: ${mutation.reason}`);
    if (mutation.containers.length > 0) lines.push(`  target containers: ${mutation.containers.map((c) => c.name).join(', ')}`);
    for (const container of mutation.containers) {
      if (container.added.length > 0) lines.push(`  container ${container.name}: added ${container.added.join(', ')}`);
      // What the status annotation lists was injected by an earlier run (reinvocation, or a manifest
      // that is already mutate's output); the rest was in the spec.
      const injected = new Set(object.status?.containers.get(container.name) ?? []);
      const earlier = container.kept.filter((item) => injected.has(item));
      const own = container.kept.filter((item) => !injected.has(item));
      if (own.length > 0) lines.push(`  container ${container.name}: kept ${own.join(', ')} (the spec already has ${own.length === 1 ? 'it' : 'them'})`);
      if (earlier.length > 0) lines.push(`  container ${container.name}: already injected ${earlier.join(', ')} (per ${STATUS_ANNOTATION})`);
    }
    if (mutation.readinessGates.length > 0) lines.push(`  readinessGates: added ${mutation.readinessGates.join(', ')}`);
    if (mutation.grace) {
      const before = typeof object.gracePeriodBefore === 'number' ? `${object.gracePeriodBefore}` : `unset (${DEFAULT_GRACE_PERIOD_SECONDS} after kube-apiserver's defaulting)`;
      lines.push(`  terminationGracePeriodSeconds: ${before} -> ${mutation.grace.to}`);
    }
  }
  for (const warning of object.warnings) lines.push(`  warning: ${warning}`);
  return lines.map((line) => `${line}\n`).join('');
}

