/** The annotation vocabulary of SPEC §3: every key the webhook reads, and nothing else. */

export const PREFIX = 'probe-injector.io/';
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export const PROBE_KINDS = ['startup', 'readiness', 'liveness'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/** The container field each probe kind fills. */
export const PROBE_FIELD = {
  startup: 'startupProbe',
  readiness: 'readinessProbe',
  liveness: 'livenessProbe',
} as const satisfies Record<ProbeKind, string>;
export type ProbeField = (typeof PROBE_FIELD)[ProbeKind];

/** Suffixes of `{probe}-…` keys. */
export const PROBE_KEY_SUFFIXES = [
  'type',
  'port',
  'path',
  'scheme',
  'initial-delay-seconds',
  'period-seconds',
  'timeout-seconds',
  'success-threshold',
  'failure-threshold',
  'command',
  'grpc-service',
  'probe',
] as const;
export type ProbeKeySuffix = (typeof PROBE_KEY_SUFFIXES)[number];

export const POD_KEYS = [
  'inject',
  'status',
  'containers',
  'profile',
  'type',
  'port',
  'path',
  'scheme',
  'readiness-gates',
  'nacos-deregister',
  'nacos-deregister-mode',
  'nacos-deregister-port',
  'nacos-deregister-path',
  'nacos-deregister-method',
  'nacos-deregister-timeout-seconds',
  'nacos-deregister-sleep-seconds',
] as const;

/** Every known key, without the prefix. */
export const KNOWN_KEYS: readonly string[] = [
  ...POD_KEYS,
  ...PROBE_KINDS.flatMap((kind) => [kind, ...PROBE_KEY_SUFFIXES.map((suffix) => `${kind}-${suffix}`)]),
];
const KNOWN = new Set(KNOWN_KEYS);

export function isKnownKey(key: string): boolean {
  return KNOWN.has(key);
}

export function probeKey(kind: ProbeKind, suffix: ProbeKeySuffix): string {
  return `${kind}-${suffix}`;
}

/**
 * Whether a key is a `{probe}-*` key: one that explicitly asks for something about that probe
 * (`readiness-gates` is about the pod, not the readiness probe).
 */
export function isProbeSpecificKey(kind: ProbeKind, key: string): boolean {
  return key.startsWith(`${kind}-`) && key !== 'readiness-gates';
}

/**
 * The known key nearest to a typo: the shortest known key it is the start of (`liveness-period` →
 * `liveness-period-seconds`), else the one at the least edit distance (ties keep catalogue order).
 */
export function nearestKnownKey(typo: string): string {
  const key = typo.slice(0, 64); // no known key is longer; keeps the cost bounded for hostile input
  const completions = KNOWN_KEYS.filter((candidate) => key.length >= 3 && candidate.startsWith(key));
  if (completions.length > 0) return completions.reduce((a, b) => (b.length < a.length ? b : a));
  let best = KNOWN_KEYS[0] ?? '';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of KNOWN_KEYS) {
    const distance = levenshtein(key, candidate, bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edit distance, giving up (returning `limit`) once every path is already at least `limit`. */
function levenshtein(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return previous[b.length] ?? limit;
}
