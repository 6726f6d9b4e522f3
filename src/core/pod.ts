import * as v from 'valibot';

/**
 * The parts of a Pod the webhook reads, as a schema. Objects are loose: everything else passes
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
  annotations: v.nullish(v.record(v.string(), v.string())),
});
export const PodSchema = v.looseObject({
  metadata: v.nullish(PodMetadataSchema),
  spec: v.looseObject({
    containers: v.array(ContainerSchema),
    readinessGates: v.nullish(v.array(v.looseObject({ conditionType: v.string() }))),
    terminationGracePeriodSeconds: v.nullish(v.number()),
  }),
});

export type Pod = v.InferInput<typeof PodSchema>;
export type Container = v.InferInput<typeof ContainerSchema>;
export type ContainerPort = v.InferInput<typeof ContainerPortSchema>;
export type ExistingProbe = v.InferInput<typeof ExistingProbeSchema>;

/** Kubernetes' default when a pod leaves `terminationGracePeriodSeconds` unset. */
export const DEFAULT_GRACE_PERIOD_SECONDS = 30;

export function isPod(value: unknown): value is Pod {
  return v.is(PodSchema, value);
}

/** Why a value is not a pod, as `path: message` strings (for the 400 answer). */
export function podIssues(value: unknown): string[] {
  const result = v.safeParse(PodSchema, value);
  return result.success ? [] : result.issues.slice(0, 10).map(describeIssue);
}

export function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue);
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** The ports a container declares that speak TCP (protocol absent means TCP). */
export function tcpPorts(container: Container): ContainerPort[] {
  return (container.ports ?? []).filter((port) => (port.protocol ?? 'TCP') === 'TCP');
}

export function findNamedPort(container: Container, name: string): ContainerPort | undefined {
  return (container.ports ?? []).find((port) => port.name === name);
}

export function podDisplayName(pod: Pod): string {
  const metadata = pod.metadata;
  return metadata?.name || (metadata?.generateName ? `${metadata.generateName}*` : '(unnamed)');
}
