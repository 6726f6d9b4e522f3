import * as v from 'valibot';
import { issueText } from './schema.js';

/**
 * The parts of a Pod the core reads, as a schema. Objects are loose: everything else passes
 * through untouched. It is checked with `v.is` (no copy), so the caller keeps the original object.
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
export const PodMetadataSchema = v.looseObject({
  name: v.nullish(v.string()),
  generateName: v.nullish(v.string()),
  namespace: v.nullish(v.string()),
  labels: v.nullish(v.record(v.string(), v.string())),
  annotations: v.nullish(v.record(v.string(), v.string())),
});
export const PodSchema = v.looseObject({
  metadata: v.nullish(PodMetadataSchema),
  spec: v.looseObject({
    containers: v.array(ContainerSchema),
    initContainers: v.nullish(v.array(ContainerSchema)),
    readinessGates: v.nullish(v.array(v.looseObject({ conditionType: v.string() }))),
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
export function isNativeSidecar(container: Container): boolean {
  return container.restartPolicy === 'Always';
}

/** `orders` or `orders-7d9c-*` (a templated pod's generateName), for logs and messages. */
export function podDisplayName(pod: Pod): string {
  const metadata = pod.metadata;
  return metadata?.name || (metadata?.generateName ? `${metadata.generateName}*` : '(unnamed)');
}
