import * as v from 'valibot';
import { scanAnnotationMap } from './annotation-scan.js';
import { isRecord } from './json.js';
import { issueText } from './schema.js';

/**
 * The parts of a Pod the core reads, as a schema. Objects are loose: everything else passes
 * through untouched. It is checked with `v.is` (no copy), so the caller keeps the original object.
 *
 * Only what is read everywhere is checked for the whole pod: the containers' names, the maps'
 * string values, the gates' condition types — with plain loops, as a pod can carry tens of
 * thousands of them. A container's ports, probes and lifecycle are checked (`isContainer`) only
 * on the containers that are targets, the only ones the core reads them of.
 */
const IntOrString = v.union([v.number(), v.string()]);
const ContainerPortSchema = v.looseObject({
  containerPort: v.number(),
  name: v.nullish(v.string()),
  protocol: v.nullish(v.string()),
});
const ExistingProbeSchema = v.looseObject({
  httpGet: v.nullish(v.looseObject({ port: v.nullish(IntOrString), scheme: v.nullish(v.string()) })),
  tcpSocket: v.nullish(v.looseObject({ port: v.nullish(IntOrString) })),
  grpc: v.nullish(v.looseObject({ port: v.nullish(v.number()) })),
});
export const ContainerSchema = v.looseObject({
  name: v.string(),
  /** Only on init containers: `Always` makes it a native sidecar (Kubernetes >= 1.29). */
  restartPolicy: v.nullish(v.string()),
  ports: v.nullish(v.array(ContainerPortSchema)),
  startupProbe: v.nullish(ExistingProbeSchema),
  readinessProbe: v.nullish(ExistingProbeSchema),
  livenessProbe: v.nullish(ExistingProbeSchema),
  lifecycle: v.nullish(v.looseObject({ preStop: v.nullish(v.looseObject({})) })),
});

/** A container as the pod-wide check sees it: an object with a name (the rest is checked on targets). */
export interface NamedContainer {
  readonly name: string;
  readonly restartPolicy?: unknown;
  readonly [field: string]: unknown;
}

function isStringMap(input: unknown): input is Record<string, string> {
  if (!isRecord(input)) return false;
  for (const key in input) if (typeof input[key] !== 'string') return false;
  return true;
}
function isNamedList(input: unknown): input is NamedContainer[] {
  if (!Array.isArray(input)) return false;
  for (const item of input) if (!isRecord(item) || typeof item['name'] !== 'string') return false;
  return true;
}
function isGateList(input: unknown): input is { readonly conditionType: string }[] {
  if (!Array.isArray(input)) return false;
  for (const item of input) if (!isRecord(item) || typeof item['conditionType'] !== 'string') return false;
  return true;
}
const StringMap = v.custom<Record<string, string>>(isStringMap, 'Invalid type: Expected a map of strings');
/** Annotations are checked in the pass that also scans them for the core (annotation-scan.ts). */
const AnnotationMap = v.custom<Record<string, string>>((input) => scanAnnotationMap(input) !== undefined, 'Invalid type: Expected a map of strings');
const Containers = v.custom<NamedContainer[]>(isNamedList, 'Invalid type: Expected a list of containers (objects with a string name)');
const Gates = v.custom<{ readonly conditionType: string }[]>(isGateList, 'Invalid type: Expected a list of objects with a string conditionType');

export const PodMetadataSchema = v.looseObject({
  name: v.nullish(v.string()),
  generateName: v.nullish(v.string()),
  namespace: v.nullish(v.string()),
  labels: v.nullish(StringMap),
  annotations: v.nullish(AnnotationMap),
});
export const PodSchema = v.looseObject({
  metadata: v.nullish(PodMetadataSchema),
  spec: v.looseObject({
    containers: Containers,
    initContainers: v.nullish(Containers),
    readinessGates: v.nullish(Gates),
    terminationGracePeriodSeconds: v.nullish(v.number()),
  }),
});

export type Pod = v.InferInput<typeof PodSchema>;
export type Container = v.InferInput<typeof ContainerSchema>;
export type ContainerPort = v.InferInput<typeof ContainerPortSchema>;
export type ExistingProbe = v.InferInput<typeof ExistingProbeSchema>;

/** The two lists a target container can be in: regular containers, and init containers (native sidecars). */
export type ContainerList = 'containers' | 'initContainers';

/** Kubernetes' default when a pod leaves `terminationGracePeriodSeconds` unset. */
export const DEFAULT_GRACE_PERIOD_SECONDS = 30;

export function isPod(value: unknown): value is Pod {
  return v.is(PodSchema, value);
}

/** A target container's ports, probes and lifecycle, checked before the core reads them. */
export function isContainer(value: NamedContainer): value is NamedContainer & Container {
  return v.is(ContainerSchema, value);
}

/** Why a container is not one, as `path: message` (for a problem). */
export function containerIssue(value: unknown): string {
  const result = v.safeParse(ContainerSchema, value);
  return result.success ? '' : issueText(result.issues[0]);
}

/** Why a value is not a pod, as `path: message` strings (for the 400 answer). */
export function podIssues(value: unknown): string[] {
  const result = v.safeParse(PodSchema, value);
  return result.success ? [] : result.issues.slice(0, 10).map((issue) => issueText(issue));
}

export function annotationsOf(pod: Pod): Readonly<Record<string, string>> {
  return pod.metadata?.annotations ?? {};
}

export function labelsOf(pod: Pod): Readonly<Record<string, string>> {
  return pod.metadata?.labels ?? {};
}

/** An init container that keeps running beside the app: Kubernetes' native sidecar. */
export function isNativeSidecar(container: NamedContainer): boolean {
  return container.restartPolicy === 'Always';
}

/** `orders` or `orders-7d9c-*` (a templated pod's generateName), for logs and messages. */
export function podDisplayName(pod: Pod): string {
  const metadata = pod.metadata;
  return metadata?.name || (metadata?.generateName ? `${metadata.generateName}*` : '(unnamed)');
}
