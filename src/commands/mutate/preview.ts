import { isDeepStrictEqual } from 'node:util';
import jsonpatch from 'fast-json-patch';
import { PREFIX } from '../../core/annotation-keys.js';
import type { InjectionConfig } from '../../core/config.js';
import { mutatePod, type Mutation } from '../../core/mutation.js';
import type { PatchOperation } from '../../core/patch.js';
import { isPod, podIssues } from '../../core/pod.js';
import { formatProblem } from '../../core/problem.js';
import { readStatus, STATUS_ANNOTATION, type InjectionStatus } from '../../core/status.js';
import { parseManifestStream, renderDocument, type StreamDocument } from '../../manifest/stream.js';
import { describeIdentity, dotPrefix, identityOf, isObject, objectsOf, valueAt, WORKLOADS, workloadKindOf, type Identity, type WorkloadKind } from '../../manifest/workload.js';
import { applyToDocument } from '../../manifest/yaml-patch.js';

/**
 * The pure heart of `probe-injector mutate`: text in, the mutated stream and a report out. Every
 * injection decision is `mutatePod`'s, the webhook's own core; this file only finds the pods in
 * the manifests and applies the operations the core returns.
 */

/** What `mutate` found for one object of the stream. */
export interface ObjectReport {
  readonly document: number;
  /** Index in a `List`'s items. */
  readonly item?: number | undefined;
  readonly identity: Identity;
  /** `Deployment shop/orders (document 2)`: how every message names the object. */
  readonly label: string;
  readonly workload?: WorkloadKind | undefined;
  /** JSON Pointer of the pod inside the object (`''` for a Pod, `/spec/template`, …). */
  readonly root?: string | undefined;
  /** The core's answer; absent when the object is not a Pod or a known workload. */
  readonly mutation?: Mutation | undefined;
  /** Why the object is not looked at, when there is no mutation. */
  readonly skipped?: string | undefined;
  /** What an earlier run recorded in `probe-injector.io/status` (the webhook's own reading of it). */
  readonly status?: InjectionStatus | undefined;
  /** The template's grace period before the patch, for `--explain`. */
  readonly gracePeriodBefore?: unknown;
  /** Warnings for this object, without the `probe-injector: ` prefix. */
  readonly warnings: readonly string[];
}

export interface Diagnostic {
  readonly label: string;
  readonly message: string;
}

export type Preview =
  /** Exit 2: the input cannot be read as manifests (syntax, a pod template without the shape of a pod). */
  | { readonly status: 'unreadable'; readonly where?: { readonly line?: number | undefined; readonly column?: number | undefined } | undefined; readonly message: string }
  /** Exit 1: invalid annotations. Nothing is written to stdout. */
  | { readonly status: 'invalid'; readonly problems: readonly Diagnostic[]; readonly objects: readonly ObjectReport[] }
  | { readonly status: 'ok'; readonly yaml: string; readonly objects: readonly ObjectReport[] };

export function previewManifests(text: string, config: InjectionConfig): Preview {
  const stream = parseManifestStream(text);
  if ('error' in stream) {
    const { line, column, message } = stream.error;
    return { status: 'unreadable', where: { line, column }, message: `not valid YAML or JSON: ${message}` };
  }

  const objects: ObjectReport[] = [];
  const problems: Diagnostic[] = [];
  const changed = new Set<number>();
  for (const entry of stream.documents) {
    let value: unknown;
    try {
      // A JSON round trip: plain data, and no object shared between two aliases of one anchor.
      value = JSON.parse(JSON.stringify(entry.document.toJS() ?? null));
    } catch (cause) {
      return { status: 'unreadable', message: `document ${entry.number}: ${cause instanceof Error ? cause.message : String(cause)}` };
    }
    if (value === null) continue; // an empty document (or comments only): passed through
    const operations: PatchOperation[] = [];
    for (const object of objectsOf(value)) {
      const result = inspectObject(object.value, entry.number, object.item, config);
      if ('unreadable' in result) return { status: 'unreadable', message: result.unreadable };
      objects.push(result.report);
      problems.push(...result.problems);
      const patch = result.report.mutation?.patch ?? [];
      operations.push(...patch.map((operation) => ({ ...operation, path: object.pointer + operation.path })));
    }
    if (operations.length > 0 && problems.length === 0) {
      patchDocument(entry, value, operations);
      changed.add(entry.number);
    }
  }
  if (problems.length > 0) return { status: 'invalid', problems, objects };

  let yaml = stream.documents.map((entry) => renderDocument(entry, changed.has(entry.number))).join('') + stream.trailer;
  if (yaml !== '' && !yaml.endsWith('\n')) yaml += '\n';
  return { status: 'ok', yaml, objects };
}

type Inspection =
  | { readonly report: ObjectReport; readonly problems: readonly Diagnostic[] }
  | { readonly unreadable: string };

function inspectObject(object: unknown, document: number, item: number | undefined, config: InjectionConfig): Inspection {
  const identity = identityOf(object);
  const where = item === undefined ? `document ${document}` : `document ${document}, item ${item}`;
  const label = isObject(object) ? `${describeIdentity(identity)} (${where})` : `(${where})`;
  const base = { document, item, identity, label };
  const workload = workloadKindOf(identity);
  if (!isObject(object) || workload === undefined) return { report: { ...base, skipped: whyNotAWorkload(object, identity), warnings: [] }, problems: [] };

  const root: string = WORKLOADS[workload].template;
  const warnings = workload === 'Pod' ? [] : misplacedAnnotations(object, workload, root);
  const template = valueAt(object, root);
  if (!isObject(template)) return { unreadable: `${label}: ${dotPrefix(root).slice(0, -1)}: expected a pod template (an object with metadata and spec)` };
  // The pod the controller will create from the template, as far as the webhook reads it.
  const pod: unknown = root === '' ? object : { metadata: template['metadata'], spec: template['spec'] };

  const typeProblems = nonStringAnnotations(pod, label);
  if (typeProblems.length > 0) {
    // Still let the core read the rest (a YAML `true` read as "true"), so that every problem is listed at once.
    const rest = withStringAnnotations(pod);
    const more = isPod(rest) ? mutatePod(rest, config, { root }).problems : [];
    const problems = [...typeProblems, ...more.map((problem) => ({ label, message: formatProblem(problem) }))];
    return { report: { ...base, workload, root, warnings }, problems };
  }
  if (!isPod(pod)) {
    return { unreadable: `${label}: not a valid ${root === '' ? 'pod' : 'pod template'}: ${dotPrefix(root)}${podIssues(pod)[0] ?? 'unexpected shape'}` };
  }

  const mutation = mutatePod(pod, config, { root });
  const core = mutation.problems.length > 0 ? [] : mutation.warnings.map(unprefixed);
  return {
    report: {
      ...base,
      workload,
      root,
      mutation,
      status: readStatus(pod.metadata?.annotations?.[STATUS_ANNOTATION]),
      gracePeriodBefore: pod.spec.terminationGracePeriodSeconds,
      warnings: [...warnings, ...core],
    },
    problems: mutation.problems.map((problem) => ({ label, message: formatProblem(problem) })),
  };
}

function whyNotAWorkload(object: unknown, identity: Identity): string {
  if (!isObject(object) || identity.kind === undefined) return 'not a Kubernetes object (no kind)';
  if (Object.hasOwn(WORKLOADS, identity.kind)) {
    const groups = WORKLOADS[identity.kind as WorkloadKind].groups.map((group) => (group === '' ? 'v1' : `${group}/*`));
    return `apiVersion ${identity.apiVersion ?? ''} is not ${groups.join(' or ')}: not the ${identity.kind} this tool knows`;
  }
  return 'not a Pod or a workload with a pod template';
}

/** The webhook sees pods: `probe-injector.io/` annotations on a workload's own metadata do nothing. */
function misplacedAnnotations(object: Record<string, unknown>, workload: WorkloadKind, root: string): string[] {
  const metadata = object['metadata'];
  const annotations = isObject(metadata) && isObject(metadata['annotations']) ? Object.keys(metadata['annotations']) : [];
  const ours = annotations.filter((key) => key.startsWith(PREFIX));
  if (ours.length === 0) return [];
  return [
    `${ours.join(', ')} on the ${workload}'s own metadata ${ours.length === 1 ? 'is' : 'are'} not read: the webhook only sees the pod, so put ${ours.length === 1 ? 'it' : 'them'} in ${dotPrefix(root)}metadata.annotations`,
  ];
}

/** `probe-injector.io/inject: true` (a YAML boolean): kube-apiserver refuses it, and so do we, naming the annotation. */
function nonStringAnnotations(pod: unknown, label: string): Diagnostic[] {
  const metadata = isObject(pod) ? pod['metadata'] : undefined;
  const annotations = isObject(metadata) ? metadata['annotations'] : undefined;
  if (!isObject(annotations)) return [];
  return Object.entries(annotations)
    .filter(([, value]) => typeof value !== 'string')
    .map(([key, value]) => ({
      label,
      message: `${key}=${JSON.stringify(value) ?? String(value)}: annotation values must be strings; quote it in the manifest${value === null ? '' : ` ("${String(value)}")`}`,
    }));
}

/** A copy of the pod whose annotations that are YAML booleans or numbers are strings; others are left out. */
function withStringAnnotations(pod: unknown): unknown {
  if (!isObject(pod) || !isObject(pod['metadata']) || !isObject(pod['metadata']['annotations'])) return pod;
  const annotations = Object.entries(pod['metadata']['annotations']).flatMap(([key, value]): [string, string][] =>
    typeof value === 'string' ? [[key, value]] : typeof value === 'boolean' || typeof value === 'number' ? [[key, String(value)]] : [],
  );
  return { ...pod, metadata: { ...pod['metadata'], annotations: Object.fromEntries(annotations) } };
}

function unprefixed(warning: string): string {
  return warning.startsWith('probe-injector: ') ? warning.slice('probe-injector: '.length) : warning;
}

/**
 * Applies the core's operations to the document. The plain-object result (strict RFC 6902, as the
 * tests apply the webhook's patches) is the truth; the edit of the `yaml` Document, which keeps
 * comments, is used only when it reads back as exactly that. Otherwise (a path through an alias or
 * a merge key) the document is rebuilt from the truth, losing its comments.
 */
function patchDocument(entry: StreamDocument, value: unknown, operations: readonly PatchOperation[]): void {
  const truth = jsonpatch.applyPatch(structuredClone(value), structuredClone(operations) as jsonpatch.Operation[], true, false).newDocument;
  const document = entry.document;
  try {
    applyToDocument(document, operations);
    if (isDeepStrictEqual(JSON.parse(JSON.stringify(document.toJS())), truth)) return;
  } catch {
    // fall through: rebuild from the truth
  }
  document.contents = document.createNode(truth) as typeof document.contents;
}
