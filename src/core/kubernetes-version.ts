/**
 * The Kubernetes version the webhook writes for (SPEC §4). Some fields exist only on newer
 * clusters; this one table says which feature needs which version. An unknown version gets the
 * oldest behaviour: none of them.
 */

export interface KubernetesVersion {
  readonly major: number;
  readonly minor: number;
}

export const FEATURES = {
  grpcProbes: { since: { major: 1, minor: 24 }, what: 'gRPC probes' },
  nativeSidecars: { since: { major: 1, minor: 29 }, what: 'native sidecars (init containers with restartPolicy: Always)' },
  sleepAction: { since: { major: 1, minor: 30 }, what: 'the sleep lifecycle action' },
} as const satisfies Record<string, { since: KubernetesVersion; what: string }>;
export type Feature = keyof typeof FEATURES;

/** `1.30`, `v1.29.3`, `1.27.4-gke.900`, `v1.20.2+k3s1`: the major and minor number. */
export function parseKubernetesVersion(text: string): KubernetesVersion | undefined {
  const match = /^v?([0-9]{1,3})\.([0-9]{1,3})(?:\.[0-9]+)?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(text.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/**
 * The version as the API server's `GET /version` reports it: `major` and `minor` strings (GKE and
 * EKS write `minor: "27+"`), else the `gitVersion`.
 */
export function versionFromInfo(info: { readonly major?: unknown; readonly minor?: unknown; readonly gitVersion?: unknown }): KubernetesVersion | undefined {
  const major = typeof info.major === 'string' ? /^([0-9]{1,3})\+?$/.exec(info.major)?.[1] : undefined;
  const minor = typeof info.minor === 'string' ? /^([0-9]{1,3})\+?$/.exec(info.minor)?.[1] : undefined;
  if (major !== undefined && minor !== undefined) return { major: Number(major), minor: Number(minor) };
  return typeof info.gitVersion === 'string' ? parseKubernetesVersion(info.gitVersion) : undefined;
}

export function formatVersion(version: KubernetesVersion | undefined): string {
  return version === undefined ? 'unknown' : `${version.major}.${version.minor}`;
}

export function atLeast(version: KubernetesVersion, wanted: KubernetesVersion): boolean {
  return version.major > wanted.major || (version.major === wanted.major && version.minor >= wanted.minor);
}

export function supports(version: KubernetesVersion | undefined, feature: Feature): boolean {
  return version !== undefined && atLeast(version, FEATURES[feature].since);
}

/** "needs Kubernetes >= 1.24 for gRPC probes (this cluster: 1.20)": the end of a problem's message. */
export function needsVersion(version: KubernetesVersion | undefined, feature: Feature): string {
  const { since, what } = FEATURES[feature];
  const cluster =
    version === undefined
      ? 'the cluster version is unknown: set kubernetesVersion in the config, or --kubernetes-version for mutate'
      : `this cluster: ${formatVersion(version)}`;
  return `needs Kubernetes >= ${formatVersion(since)} for ${what} (${cluster})`;
}
