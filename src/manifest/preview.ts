import { isDeepStrictEqual } from 'node:util';
import jsonpatch from 'fast-json-patch';
import { PREFIX, STATUS_ANNOTATION } from '../core/annotation-keys.js';
import { isRecord } from '../core/json.js';
import { mutatePod, type Mutation } from '../core/mutation.js';
import type { PatchOperation } from '../core/patch.js';
import { DEFAULT_GRACE_PERIOD_SECONDS, isPod, podIssues } from '../core/pod.js';
import type { InjectionConfig } from '../core/settings.js';
import { readStatus } from '../core/status.js';
import { formatProblem, formatWarning } from '../messages.js';
import { DEFAULT_YAML_LIMITS, readBoundedYaml, YamlInputError, type YamlLimits } from './bounded-yaml.js';
import { objectLabel } from './report.js';
import { showText } from './safe-text.js';
import { manifestDocuments, rewriteContent, type StreamDocument } from './stream.js';
import { dotPrefix, identityOf, objectsOf, valueAt, WORKLOADS, workloadKindOf, type Identity, type WorkloadKind } from './workload.js';
import { applyEdits, insertionEdits, type TextEdit } from './yaml-edit.js';

/**
 * The pure heart of `probe-injector mutate`: manifest texts in, the mutated texts and a report
 * out. Every injection decision is `mutatePod`'s, the webhook's own core, and this is the one
 * place that calls the core: the rest of `mutate` reads the plain data below. This file finds the
 * pods in the manifests and writes the core's patch into the text (by inserting lines).
 */

export interface ManifestFile {
  /** How messages name it: the path given, or `<stdin>`. */
  readonly name: string;
  readonly text: string;
}

/** Where an object is: the file, the document (1-based) and the index in a `List`'s items. */
export interface Place {
  readonly file: string;
  readonly document: number;
  readonly item?: number | undefined;
}

/** What `mutate` found for one object of the stream, as plain data. */
export interface ObjectReport {
  readonly place: Place;
  readonly identity: Identity;
  /** The object is a Pod or a workload with a pod template: the core looked at its pod. */
  readonly inspected: boolean;
  /** The pod (template) is changed. */
  readonly mutated: boolean;
  /** A Pod itself, not a workload's template. */
  readonly pod: boolean;
  /** Why: the core's reason, or why the object is not looked at. */
  readonly reason: string;
  /** RFC 6902, paths relative to the object (a workload's start at its template). */
  readonly patch: readonly PatchOperation[];
  readonly containers: readonly ContainerChange[];
  readonly readinessGates: readonly string[];
  readonly labels: readonly string[];
  /** The grace period raised: from the template's value (undefined: unset, defaulted to `defaulted`). */
  readonly grace?: { readonly before: number | undefined; readonly defaulted: number; readonly to: number } | undefined;
  /** Worded, without the `probe-injector: ` prefix; not yet made safe for a terminal. */
  readonly warnings: readonly string[];
}

export interface ContainerChange {
  readonly name: string;
  readonly added: readonly string[];
  /** In the spec already, by the user's hand. */
  readonly kept: readonly string[];
  /** In the spec already, injected by an earlier run (per the status annotation). */
  readonly earlier: readonly string[];
}

/** A line for stderr about an object or a document. */
export interface Finding {
  readonly place: Place;
  /** The object's identity, when the finding is about one object. */
  readonly identity?: Identity | undefined;
  readonly message: string;
  /** For problems: whether it is an annotation's (the summary says "with annotations" only then). */
  readonly annotation?: boolean | undefined;
}

export type Preview =
  /** Exit 2: an input cannot be read as manifests (syntax, bounds, a pod template without the shape of a pod). */
  | { readonly status: 'unreadable'; readonly file: string; readonly line?: number | undefined; readonly column?: number | undefined; readonly message: string }
  /** Exit 1: problems (invalid annotations, or a pod the webhook would refuse). Nothing goes to stdout. */
  | { readonly status: 'invalid'; readonly problems: readonly Finding[]; readonly warnings: readonly Finding[]; readonly objects: readonly ObjectReport[] }
  /** Exit 0: each file's output, in order. */
  | { readonly status: 'ok'; readonly outputs: readonly string[]; readonly warnings: readonly Finding[]; readonly objects: readonly ObjectReport[] };

/** Thrown inside: the input cannot be read. */
class Unreadable extends Error {
  override readonly name = 'Unreadable';
}

export function previewManifests(files: readonly ManifestFile[], config: InjectionConfig, limits: YamlLimits = DEFAULT_YAML_LIMITS): Preview {
  const objects: ObjectReport[] = [];
  const problems: Finding[] = [];
  const warnings: Finding[] = [];
  const outputs: string[] = [];
  for (const file of files) {
    try {
      outputs.push(previewFile(file, config, limits, { objects, problems, warnings }));
    } catch (error) {
      if (error instanceof YamlInputError) return { status: 'unreadable', file: file.name, line: error.line, column: error.column, message: `not valid YAML or JSON: ${error.message}` };
      if (error instanceof Unreadable) return { status: 'unreadable', file: file.name, message: error.message };
      throw error;
    }
  }
  if (problems.length > 0) return { status: 'invalid', problems, warnings, objects };
  return { status: 'ok', outputs, warnings, objects };
}

interface Collected {
  readonly objects: ObjectReport[];
  readonly problems: Finding[];
  readonly warnings: Finding[];
}

/** One file: its objects reported, its output text (the input with the edits). */
function previewFile(file: ManifestFile, config: InjectionConfig, limits: YamlLimits, collected: Collected): string {
  const { text } = file;
  const edits: TextEdit[] = [];
  for (const entry of manifestDocuments(text, limits)) {
    const document: Place = { file: file.name, document: entry.number };
    for (const { key, line, column } of entry.duplicates) {
      collected.warnings.push({ place: document, message: `key ${showText(key)} given twice in one mapping (line ${line}, column ${column}): the last one counts, as kubectl reads it` });
    }
    if (entry.value === null || entry.value === undefined) continue; // an empty document (or comments only): passed through
    const operations: PatchOperation[] = [];
    for (const object of objectsOf(entry.value)) {
      const place: Place = { ...document, item: object.item };
      const result = inspectObject(object.value, place, config);
      collected.objects.push(result.report);
      collected.problems.push(...result.problems);
      for (const warning of result.report.warnings) collected.warnings.push({ place, identity: result.report.identity, message: warning });
      operations.push(...result.report.patch.map((operation) => ({ ...operation, path: object.pointer + operation.path })));
    }
    if (operations.length > 0) {
      const edit = patchDocument(text, entry, operations);
      edits.push(...edit.edits);
      if (edit.rewritten) collected.warnings.push({ place: document, message: "rewritten as a whole: the pod is reached through a YAML alias or a merge key, so the new fields cannot just be inserted (the document's inner comments are not kept)" });
    } else if (entry.flow) {
      edits.push(rewriteContent(text, entry, entry.value)); // JSON in, YAML out
    }
  }
  return applyEdits(text, edits);
}

/**
 * The edits that write the patched document: inserted lines when they give exactly the patched
 * value (read back to be sure), else the document's content written anew from it.
 */
function patchDocument(text: string, entry: StreamDocument, operations: readonly PatchOperation[]): { edits: TextEdit[]; rewritten: boolean } {
  // Strict RFC 6902, as the tests apply the webhook's patches: this is what the output must read as.
  // Copies by JSON (the values are JSON data): plain objects of this realm, as `toJS` makes them.
  const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  const truth: unknown = jsonpatch.applyPatch(copy(entry.value), copy(operations) as jsonpatch.Operation[], true, false).newDocument;
  if (!entry.flow) {
    const edits = insertionEdits(text, entry.document, entry.value, truth);
    if (edits !== undefined && readsAs(text, entry, edits, truth)) return { edits, rewritten: false };
  }
  const edit = rewriteContent(text, entry, truth);
  if (!readsAs(text, entry, [edit], truth)) throw new Error(`document ${entry.number}: the rewritten document does not read back as the patched one`);
  return { edits: [edit], rewritten: !entry.flow };
}

/** The document's own text with the edits, read back: is it `truth`? */
function readsAs(text: string, entry: StreamDocument, edits: readonly TextEdit[], truth: unknown): boolean {
  const own = edits.map((edit) => ({ ...edit, start: edit.start - entry.start, end: edit.end - entry.start }));
  try {
    const documents = [...readBoundedYaml(applyEdits(text.slice(entry.start, entry.end), own), DEFAULT_YAML_LIMITS, { merge: true, duplicateKeys: 'last-wins' })];
    return documents.length === 1 && isDeepStrictEqual(JSON.parse(JSON.stringify(documents[0]?.value)), truth);
  } catch (error) {
    if (error instanceof YamlInputError) return false;
    throw error;
  }
}

interface Inspection {
  readonly report: ObjectReport;
  readonly problems: readonly Finding[];
}

function inspectObject(object: unknown, place: Place, config: InjectionConfig): Inspection {
  const identity = identityOf(object);
  const base = { place, identity, inspected: false, mutated: false, pod: false, patch: [], containers: [], readinessGates: [], labels: [], warnings: [] };
  const workload = workloadKindOf(identity);
  if (!isRecord(object) || workload === undefined) return { report: { ...base, reason: whyNotAWorkload(object, identity) }, problems: [] };

  const root: string = WORKLOADS[workload].template;
  const misplaced = workload === 'Pod' ? [] : misplacedAnnotations(object, workload, root);
  const template = valueAt(object, root);
  if (!isRecord(template)) throw new Unreadable(`${objectLabel(identity, place)}: ${dotPrefix(root).slice(0, -1)}: expected a pod template (an object with metadata and spec)`);
  // The pod the controller will create from the template, as far as the webhook reads it.
  const pod: unknown = root === '' ? object : { metadata: template['metadata'], spec: template['spec'] };
  const finding = (message: string, annotation: boolean): Finding => ({ place, identity, message, annotation });

  const typeProblems = nonStringAnnotations(pod).map((message) => finding(message, true));
  if (typeProblems.length > 0) {
    // Still let the core read the rest (a YAML `true` read as "true"), so that every problem is listed at once.
    const rest = withStringAnnotations(pod);
    const more = isPod(rest) ? mutatePod(rest, config, { root }).problems : [];
    return { report: { ...base, reason: 'invalid annotations', warnings: misplaced }, problems: [...typeProblems, ...more.map((problem) => finding(formatProblem(problem), problem.origin === 'annotation'))] };
  }
  if (!isPod(pod)) {
    throw new Unreadable(`${objectLabel(identity, place)}: not a valid ${root === '' ? 'pod' : 'pod template'}: ${dotPrefix(root)}${podIssues(pod)[0] ?? 'unexpected shape'}`);
  }

  const mutation = mutatePod(pod, config, { root });
  const problems = mutation.problems.map((problem) => finding(formatProblem(problem), problem.origin === 'annotation'));
  // Under errorPolicy warn the core also says its problems as warnings: they are listed as problems already.
  const warnings = [...misplaced, ...(problems.length > 0 ? [] : mutation.warnings.map(formatWarning))];
  return { report: { ...base, ...changesOf(mutation, pod.metadata?.annotations?.[STATUS_ANNOTATION], pod.spec.terminationGracePeriodSeconds), pod: root === '', warnings }, problems };
}

/** The core's answer as `--explain` and `--patch` read it. */
function changesOf(mutation: Mutation, status: string | undefined, grace: number | null | undefined): Omit<ObjectReport, 'place' | 'identity' | 'pod' | 'warnings'> {
  const injected = readStatus(status)?.containers;
  return {
    inspected: true,
    mutated: mutation.outcome === 'patched',
    reason: mutation.outcome === 'unchanged' && mutation.problems.length === 0 ? `${mutation.reason}; the pod already has everything` : mutation.reason,
    patch: mutation.outcome === 'patched' ? mutation.patch : [],
    containers: mutation.containers.map((container) => {
      const earlier = new Set(injected?.get(container.name) ?? []);
      return {
        name: container.name,
        added: container.added,
        kept: container.kept.filter((item) => !earlier.has(item)),
        earlier: container.kept.filter((item) => earlier.has(item)),
      };
    }),
    readinessGates: mutation.readinessGates,
    labels: mutation.labels,
    grace: mutation.grace && { before: grace ?? undefined, defaulted: DEFAULT_GRACE_PERIOD_SECONDS, to: mutation.grace.to },
  };
}

function whyNotAWorkload(object: unknown, identity: Identity): string {
  if (!isRecord(object) || identity.kind === undefined) return 'not a Kubernetes object (no kind)';
  if (Object.hasOwn(WORKLOADS, identity.kind)) {
    const groups = WORKLOADS[identity.kind as WorkloadKind].groups.map((group) => (group === '' ? 'v1' : `${group}/*`));
    return `apiVersion ${showText(identity.apiVersion ?? '')} is not ${groups.join(' or ')}: not the ${identity.kind} this tool knows`;
  }
  return 'not a Pod or a workload with a pod template';
}

/** The webhook sees pods: `probe-injector.io/` annotations on a workload's own metadata do nothing. */
function misplacedAnnotations(object: Record<string, unknown>, workload: WorkloadKind, root: string): string[] {
  const metadata = object['metadata'];
  const annotations = isRecord(metadata) && isRecord(metadata['annotations']) ? Object.keys(metadata['annotations']) : [];
  const ours = annotations.filter((key) => key.startsWith(PREFIX));
  if (ours.length === 0) return [];
  const listed = ours.slice(0, 5).map((key) => showText(key)).join(', ') + (ours.length > 5 ? ` and ${ours.length - 5} more` : '');
  return [
    `${listed} on the ${workload}'s own metadata ${ours.length === 1 ? 'is' : 'are'} not read: the webhook only sees the pod, so put ${ours.length === 1 ? 'it' : 'them'} in ${dotPrefix(root)}metadata.annotations`,
  ];
}

/** `probe-injector.io/inject: true` (a YAML boolean): kube-apiserver refuses it, and so do we, naming the annotation. */
function nonStringAnnotations(pod: unknown): string[] {
  const metadata = isRecord(pod) ? pod['metadata'] : undefined;
  const annotations = isRecord(metadata) ? metadata['annotations'] : undefined;
  if (!isRecord(annotations)) return [];
  return Object.entries(annotations)
    .filter(([, value]) => typeof value !== 'string')
    .slice(0, 50)
    .map(([key, value]) => {
      const text = typeof value === 'object' && value !== null ? (Array.isArray(value) ? 'a list' : 'a mapping') : String(value);
      const hint = typeof value === 'boolean' || typeof value === 'number' ? `; quote it in the manifest ("${value}")` : '';
      return `${showText(key)}=${showText(text)}: annotation values must be strings${hint}`;
    });
}

/** A copy of the pod whose annotations that are YAML booleans or numbers are strings; others are left out. */
function withStringAnnotations(pod: unknown): unknown {
  if (!isRecord(pod) || !isRecord(pod['metadata']) || !isRecord(pod['metadata']['annotations'])) return pod;
  const annotations = Object.entries(pod['metadata']['annotations']).flatMap(([key, value]): [string, string][] =>
    typeof value === 'string' ? [[key, value]] : typeof value === 'boolean' || typeof value === 'number' ? [[key, String(value)]] : [],
  );
  return { ...pod, metadata: { ...pod['metadata'], annotations: Object.fromEntries(annotations) } };
}
