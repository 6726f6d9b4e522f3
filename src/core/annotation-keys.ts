/** The annotation vocabulary of SPEC §3: every key the webhook reads, and nothing else. */

export const PREFIX = 'probe-injector.io/';
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';
export const STATUS_ANNOTATION = `${PREFIX}status`;
/** The label that selects the pods the Nacos gate controller watches (SPEC §4, §8). */
export const NACOS_GATE_LABEL = `${PREFIX}nacos-gate`;

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
  'nacos-deregister-via',
  'nacos-deregister-port',
  'nacos-deregister-path',
  'nacos-deregister-method',
  'nacos-deregister-timeout-seconds',
  'nacos-deregister-sleep-seconds',
  'nacos-service',
  'nacos-group',
  'nacos-namespace',
  'nacos-cluster',
  'nacos-port',
  'prestop-sleep-seconds',
] as const;
export type PodKey = (typeof POD_KEYS)[number];

/** Every known key, without the prefix. */
export const KNOWN_KEYS: readonly string[] = [
  ...POD_KEYS,
  ...PROBE_KINDS.flatMap((kind) => [kind, ...PROBE_KEY_SUFFIXES.map((suffix) => `${kind}-${suffix}`)]),
];
const KNOWN = new Set(KNOWN_KEYS);

export function isKnownKey(key: string): boolean {
  return KNOWN.has(key);
}

const POD_KEY_SET: ReadonlySet<string> = new Set(POD_KEYS);
export function isPodKey(key: string): key is PodKey {
  return POD_KEY_SET.has(key);
}

const SUFFIX_SET: ReadonlySet<string> = new Set(PROBE_KEY_SUFFIXES);
function isProbeKeySuffix(text: string): text is ProbeKeySuffix {
  return SUFFIX_SET.has(text);
}

/** `readiness-period-seconds` → readiness, period-seconds; `readiness` → readiness alone. */
export function splitProbeKey(key: string): { readonly kind: ProbeKind; readonly suffix?: ProbeKeySuffix | undefined } | undefined {
  const kind = probeKindOf(key);
  if (kind === undefined) return undefined;
  if (key === kind) return { kind };
  const suffix = key.slice(kind.length + 1);
  return isProbeKeySuffix(suffix) ? { kind, suffix } : undefined;
}

export function probeKey(kind: ProbeKind, suffix: ProbeKeySuffix): string {
  return `${kind}-${suffix}`;
}

/** The probe a `{probe}` or `{probe}-…` key is about (`readiness-gates` is about the pod). */
export function probeKindOf(key: string): ProbeKind | undefined {
  if (key === 'readiness-gates') return undefined;
  return PROBE_KINDS.find((kind) => key === kind || key.startsWith(`${kind}-`));
}

/**
 * Whether a key is a `{probe}-*` key: one that explicitly asks for something about that probe
 * (`readiness-gates` is about the pod, not the readiness probe).
 */
export function isProbeSpecificKey(kind: ProbeKind, key: string): boolean {
  return probeKindOf(key) === kind && key !== kind;
}

/** A key under the prefix in any letter case (`Probe-Injector.io/inject`): ours, misspelt. */
const OURS = /^probe-injector\.io\//i;
export function looksLikeOurs(fullKey: string): boolean {
  return OURS.test(fullKey);
}

/** Suffixes that only exist per probe: `command` alone is `{probe}-command`. */
const PER_PROBE_ONLY: readonly string[] = PROBE_KEY_SUFFIXES.filter((suffix) => !isKnownKey(suffix));

/**
 * The known keys nearest to a typo (without the prefix): the shortest known key it is the start of
 * (`liveness-period` → `liveness-period-seconds`); a per-probe suffix used alone (`command`) → the
 * three `{probe}-command` keys; else the key at the least edit distance (ties keep catalogue order).
 * The key is lower-cased first, so `Inject` suggests `inject`.
 */
export function nearestKnownKeys(typo: string): string[] {
  const key = typo.slice(0, 64).toLowerCase(); // no known key is longer; keeps the cost bounded for hostile input
  if (KNOWN.has(key)) return [key];
  const completions = KNOWN_KEYS.filter((candidate) => key.length >= 3 && candidate.startsWith(key));
  if (completions.length > 0) return [completions.reduce((a, b) => (b.length < a.length ? b : a))];
  const [bestKey, keyDistance] = nearest(key, KNOWN_KEYS);
  const [bestSuffix, suffixDistance] = nearest(key, PER_PROBE_ONLY);
  if (suffixDistance <= keyDistance && suffixDistance <= Math.max(1, Math.floor(key.length / 4))) {
    return PROBE_KINDS.map((kind) => `${kind}-${bestSuffix}`);
  }
  return [bestKey];
}

function nearest(key: string, candidates: readonly string[]): [string, number] {
  let best = candidates[0] ?? '';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = levenshtein(key, candidate, bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return [best, bestDistance];
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
