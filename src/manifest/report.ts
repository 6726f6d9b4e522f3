import type { PatchOperation } from '../core/patch.js';
import type { Finding, ObjectReport, Place } from './preview.js';
import { showText, terminalLine, terminalLines } from './safe-text.js';
import type { Identity } from './workload.js';

/**
 * The text `probe-injector mutate` prints besides the YAML: diagnostics on stderr, the `--patch`
 * JSON and the `--explain` report. Pure functions of the preview. Every line is made safe for a
 * terminal: text from a manifest is escaped and cut (names, kinds, keys, values), and each whole
 * line once more on its way out.
 */

const SPEAKER = 'probe-injector: ';

/** How standard input is named. */
export const STDIN = '<stdin>';

/** A file as messages name it: `<stdin>`, or the path given (escaped and cut). */
export function fileLabel(file: string): string {
  return file === STDIN ? file : showText(file);
}

/** `Deployment shop/orders (document 2, item 0)`, `Pod orders-* (…)`; with several files, the file in front. */
export function objectLabel(identity: Identity | undefined, place: Place, withFile = false): string {
  const where = `document ${place.document}${place.item === undefined ? '' : `, item ${place.item}`}`;
  const file = withFile ? `${fileLabel(place.file)}: ` : '';
  if (identity === undefined) return `${file}${where}`;
  const name = identity.name !== undefined ? showText(identity.name) : identity.generateName !== undefined ? `${showText(identity.generateName)}*` : '(unnamed)';
  const namespace = identity.namespace ? `${showText(identity.namespace)}/` : '';
  return `${file}${identity.kind === undefined ? '(no kind)' : showText(identity.kind)} ${namespace}${name} (${where})`;
}

/** `probe-injector: FILE: Deployment shop/orders (document 1): warning: …`, one line each. */
export function formatWarnings(warnings: readonly Finding[]): string {
  return terminalLines(warnings.map((warning) => `${SPEAKER}${fileLabel(warning.place.file)}: ${objectLabel(warning.identity, warning.place)}: warning: ${warning.message}`));
}

/** One line per problem, each naming the file, the object and the annotation, then a count. */
export function formatProblems(problems: readonly Finding[], errorPolicy: 'reject' | 'warn'): string {
  const lines = problems.map((problem) => `${SPEAKER}${fileLabel(problem.place.file)}: ${objectLabel(problem.identity, problem.place)}: ${problem.message}`);
  const files = [...new Set(problems.map((problem) => problem.place.file))];
  const noun = problems.length === 1 ? 'problem' : 'problems';
  const subject = problems.every((problem) => problem.annotation) ? ' with annotations' : '';
  const policy = errorPolicy === 'warn' ? ' (errorPolicy is warn: the webhook would admit these pods unchanged, with the problems as warnings)' : '';
  const where = files.length === 1 ? `${fileLabel(files[0] ?? '')}: ` : '';
  return terminalLines([...lines, `${SPEAKER}${where}${problems.length} ${noun}${subject}; nothing written${policy}`]);
}

/** `probe-injector: FILE:LINE:COLUMN: message`, on one line. */
export function formatUnreadable(file: string, message: string, line?: number, column?: number): string {
  const position = line === undefined ? '' : `:${line}${column === undefined ? '' : `:${column}`}`;
  return `${terminalLine(`${SPEAKER}${fileLabel(file)}${position}: ${message}`)}\n`;
}

/** A usage or read error: `probe-injector: message`, on one line. */
export function formatError(message: string): string {
  return `${terminalLine(`${SPEAKER}${message}`)}\n`;
}

/** One entry of `--patch`: the object and its RFC 6902 patch, paths relative to the object. */
export interface PatchEntry {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
  readonly generateName?: string | undefined;
  readonly file: string;
  readonly document: number;
  readonly item?: number | undefined;
  readonly patch: readonly PatchOperation[];
}

/**
 * JSON.stringify escapes C0 controls but leaves DEL, C1 controls and U+2028/U+2029 raw; inside
 * JSON strings (the only place they can be) a `\u` escape is the same text.
 */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/g;

/** `--patch`: a JSON array with one entry per mutated object, in input order (`[]` when none is). */
export function formatPatches(objects: readonly ObjectReport[]): string {
  const entries: PatchEntry[] = objects
    .filter((object) => object.mutated)
    .map(({ place, identity, patch }) => ({
      apiVersion: identity.apiVersion,
      kind: identity.kind,
      namespace: identity.namespace,
      name: identity.name,
      generateName: identity.name === undefined ? identity.generateName : undefined,
      file: place.file,
      document: place.document,
      item: place.item,
      patch,
    }));
  return `${JSON.stringify(entries, null, 2).replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/** `--explain`: for every object, whether it would be mutated and why; what was added and kept. */
export function formatExplanation(objects: readonly ObjectReport[], withFile = false): string {
  return terminalLines(objects.flatMap((object) => explainObject(object, withFile)));
}

function explainObject(object: ObjectReport, withFile: boolean): string[] {
  const label = objectLabel(object.identity, object.place, withFile);
  if (!object.inspected) return [`${label}: not mutated: ${object.reason}`, ...object.warnings.map((warning) => `  warning: ${warning}`)];
  const verdict = !object.mutated ? 'not mutated' : object.pod ? 'mutated' : 'pod template mutated';
  const lines = [`${label}: ${verdict}: ${object.reason}`];
  const names = (list: readonly string[]) => list.map((name) => showText(name)).join(', ');
  if (object.containers.length > 0) lines.push(`  target containers: ${names(object.containers.map((c) => c.name))}`);
  for (const container of object.containers) {
    const name = showText(container.name);
    if (container.added.length > 0) lines.push(`  container ${name}: added ${container.added.join(', ')}`);
    if (container.kept.length > 0) lines.push(`  container ${name}: kept ${container.kept.join(', ')} (the spec already has ${container.kept.length === 1 ? 'it' : 'them'})`);
    if (container.earlier.length > 0) lines.push(`  container ${name}: already injected ${container.earlier.join(', ')} (per probe-injector.io/status)`);
  }
  if (object.readinessGates.length > 0) lines.push(`  readinessGates: added ${names(object.readinessGates)}`);
  if (object.labels.length > 0) lines.push(`  labels: added ${names(object.labels)}`);
  if (object.grace) {
    const before = object.grace.before === undefined ? `unset (${object.grace.defaulted} after kube-apiserver's defaulting)` : `${object.grace.before}`;
    lines.push(`  terminationGracePeriodSeconds: ${before} -> ${object.grace.to}`);
  }
  for (const warning of object.warnings) lines.push(`  warning: ${warning}`);
  return lines;
}
