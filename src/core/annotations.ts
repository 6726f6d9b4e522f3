import type { V1Probe } from '@kubernetes/client-node';
import {
  isKnownKey,
  nearestKnownKey,
  PREFIX,
  PROBE_KINDS,
  type ProbeKeySuffix,
  type ProbeKind,
} from './annotation-keys.js';
import {
  DEREGISTER_METHODS,
  DEREGISTER_MODES,
  type DeregisterMethod,
  type DeregisterMode,
  type InjectionConfig,
} from './config.js';
import type { Problem } from './problem.js';
import { parseProbeOverride } from './probe-override.js';
import { HANDLER_TYPES, SCHEMES, type HandlerSettings, type PortRef, type ProbeSettings, type ResolvedProfile } from './profile.js';
import {
  isInvalid,
  isJson,
  isQualifiedName,
  parseBoolean,
  parseCommand,
  parseDeregisterPath,
  parseEnum,
  parseHttpPath,
  parseInteger,
  parseJson,
  parseList,
  parsePort,
  type Parsed,
} from './values.js';

export interface ProbeRequest {
  /** What the `{probe}` and `{probe}-*` annotations say (unset: not given). */
  readonly settings: ProbeSettings;
  /** The `{probe}-probe` annotation, validated. */
  readonly override?: V1Probe | undefined;
}

export interface DeregisterSettings {
  readonly mode: DeregisterMode;
  readonly port?: PortRef | undefined;
  readonly path: string;
  readonly method: DeregisterMethod;
  readonly timeoutSeconds: number;
  readonly sleepSeconds: number;
}

/** Everything the annotations ask for, validated and with defaults applied where they are pod-wide. */
export interface InjectionSettings {
  readonly containers?: readonly string[] | undefined;
  readonly profile: ResolvedProfile;
  readonly shared: HandlerSettings;
  readonly probes: Readonly<Record<ProbeKind, ProbeRequest>>;
  readonly readinessGates: readonly string[];
  /** Present when `nacos-deregister` is "true". */
  readonly deregister?: DeregisterSettings | undefined;
  /** The keys (without prefix) that were given: a kept probe is only worth a warning if asked for. */
  readonly givenKeys: ReadonlySet<string>;
}

const MAX_SUGGESTIONS = 20;

export type SettingsResult = { readonly settings: InjectionSettings } | { readonly problems: readonly Problem[] };

/** Reads whether the pod opts in. `undefined` means the annotation is absent. */
export function readInject(annotations: Readonly<Record<string, string>>): Parsed<boolean> | undefined {
  const value = annotations[`${PREFIX}inject`];
  return value === undefined ? undefined : parseBoolean(value);
}

interface Draft {
  containers?: string[];
  profile?: string;
  shared: { -readonly [K in keyof HandlerSettings]: HandlerSettings[K] };
  probes: Record<ProbeKind, { -readonly [K in keyof ProbeSettings]: ProbeSettings[K] }>;
  overrides: Partial<Record<ProbeKind, V1Probe>>;
  readinessGates: string[];
  deregister?: boolean;
  deregisterMode?: DeregisterMode;
  deregisterPort?: PortRef;
  deregisterPath?: string;
  deregisterMethod?: DeregisterMethod;
  deregisterTimeout?: number;
  deregisterSleep?: number;
}

/**
 * Parses every `probe-injector.io/` annotation of an opted-in pod. Collects every problem rather
 * than stopping at the first, so one denial tells the user everything to fix.
 */
export function parseSettings(annotations: Readonly<Record<string, string>>, config: InjectionConfig): SettingsResult {
  const problems: Problem[] = [];
  const draft: Draft = {
    shared: {},
    probes: { startup: {}, readiness: {}, liveness: {} },
    overrides: {},
    readinessGates: [],
  };
  const givenKeys = new Set<string>();
  let suggestions = 0;

  for (const [fullKey, value] of Object.entries(annotations)) {
    if (!fullKey.startsWith(PREFIX)) continue;
    const key = fullKey.slice(PREFIX.length);
    if (!isKnownKey(key)) {
      // A suggestion costs a fuzzy search; a pod with thousands of bogus keys gets it for the first few.
      const hint = suggestions++ < MAX_SUGGESTIONS ? `; did you mean ${PREFIX}${nearestKnownKey(key)}?` : '';
      problems.push({ key: fullKey, message: `unknown annotation${hint}` });
      continue;
    }
    givenKeys.add(key);
    const reason = applyKey(draft, key, value);
    if (reason !== undefined) problems.push({ key, value, message: reason });
  }

  const profileName = draft.profile ?? 'default';
  const profile = config.profiles.get(profileName);
  if (!profile) {
    problems.push({
      key: 'profile',
      value: profileName,
      message: `no such profile; expected one of ${[...config.profiles.keys()].map((n) => `"${n}"`).join(', ')}`,
    });
  }
  const deregister = draft.deregister ? deregisterSettings(draft, config, problems) : undefined;
  if (problems.length > 0 || !profile) return { problems };

  const probes = Object.fromEntries(
    PROBE_KINDS.map((kind) => [kind, { settings: draft.probes[kind], override: draft.overrides[kind] }]),
  ) as Record<ProbeKind, ProbeRequest>;
  return {
    settings: {
      containers: draft.containers,
      profile,
      shared: draft.shared,
      probes,
      readinessGates: draft.readinessGates,
      deregister,
      givenKeys,
    },
  };
}

function deregisterSettings(draft: Draft, config: InjectionConfig, problems: Problem[]): DeregisterSettings {
  const defaults = config.nacos;
  const mode = draft.deregisterMode ?? defaults.mode;
  const method = draft.deregisterMethod ?? defaults.method;
  if (mode === 'http') {
    // An httpGet hook can neither sleep nor send anything but GET: refuse rather than ignore.
    if (draft.deregisterMethod !== undefined && draft.deregisterMethod !== 'GET') {
      problems.push({
        key: 'nacos-deregister-method',
        value: draft.deregisterMethod,
        message: 'an http-mode preStop hook can only send GET; use nacos-deregister-mode "exec" for other methods',
      });
    }
    if (draft.deregisterSleep !== undefined) {
      problems.push({
        key: 'nacos-deregister-sleep-seconds',
        value: String(draft.deregisterSleep),
        message: 'an http-mode preStop hook cannot sleep; use nacos-deregister-mode "exec" to wait after deregistering',
      });
    }
  }
  return {
    mode,
    port: draft.deregisterPort,
    path: draft.deregisterPath ?? defaults.path,
    method: mode === 'http' ? 'GET' : method,
    timeoutSeconds: draft.deregisterTimeout ?? defaults.timeoutSeconds,
    sleepSeconds: mode === 'http' ? 0 : (draft.deregisterSleep ?? defaults.sleepSeconds),
  };
}

/** Stores one annotation in the draft; returns what is wrong with it, if anything. */
function applyKey(draft: Draft, key: string, value: string): string | undefined {
  const set = <T>(parsed: Parsed<T>, store: (value: T) => void): string | undefined => {
    if (isInvalid(parsed)) return parsed.invalid;
    store(parsed);
    return undefined;
  };
  switch (key) {
    case 'inject':
      return set(parseBoolean(value), () => {});
    case 'status':
      return undefined; // ours; read on reinvocation, never an error
    case 'containers':
      return set(parseList(value, () => true, 'container names'), (names) => (draft.containers = names));
    case 'profile':
      draft.profile = value;
      return undefined; // checked against the configured profiles once parsing is done
    case 'type':
      return set(parseEnum(value, HANDLER_TYPES), (type) => (draft.shared.type = type));
    case 'port':
      return set(parsePort(value), (port) => (draft.shared.port = port));
    case 'path':
      return set(parseHttpPath(value), (path) => (draft.shared.path = path));
    case 'scheme':
      return set(parseEnum(value, SCHEMES), (scheme) => (draft.shared.scheme = scheme));
    case 'readiness-gates':
      return set(parseList(value, isQualifiedName, 'condition types (qualified names such as nacos.io/registered)'), (gates) => (draft.readinessGates = gates));
    case 'nacos-deregister':
      return set(parseBoolean(value), (enabled) => (draft.deregister = enabled));
    case 'nacos-deregister-mode':
      return set(parseEnum(value, DEREGISTER_MODES), (mode) => (draft.deregisterMode = mode));
    case 'nacos-deregister-port':
      return set(parsePort(value), (port) => (draft.deregisterPort = port));
    case 'nacos-deregister-path':
      return set(parseDeregisterPath(value), (path) => (draft.deregisterPath = path));
    case 'nacos-deregister-method':
      return set(parseEnum(value, DEREGISTER_METHODS), (method) => (draft.deregisterMethod = method));
    case 'nacos-deregister-timeout-seconds':
      return set(parseInteger(value, 1, 60), (seconds) => (draft.deregisterTimeout = seconds));
    case 'nacos-deregister-sleep-seconds':
      return set(parseInteger(value, 0, 600), (seconds) => (draft.deregisterSleep = seconds));
  }
  const kind = PROBE_KINDS.find((k) => key === k || key.startsWith(`${k}-`));
  if (kind === undefined) return undefined; // unreachable: isKnownKey() said it is a probe key
  const probe = draft.probes[kind];
  if (key === kind) return set(parseBoolean(value), (enabled) => (probe.enabled = enabled));
  const suffix = key.slice(kind.length + 1) as ProbeKeySuffix;
  switch (suffix) {
    case 'type':
      return set(parseEnum(value, HANDLER_TYPES), (type) => (probe.type = type));
    case 'port':
      return set(parsePort(value), (port) => (probe.port = port));
    case 'path':
      return set(parseHttpPath(value), (path) => (probe.path = path));
    case 'scheme':
      return set(parseEnum(value, SCHEMES), (scheme) => (probe.scheme = scheme));
    case 'initial-delay-seconds':
      return set(parseInteger(value, 0), (n) => (probe.initialDelaySeconds = n));
    case 'period-seconds':
      return set(parseInteger(value, 1), (n) => (probe.periodSeconds = n));
    case 'timeout-seconds':
      return set(parseInteger(value, 1), (n) => (probe.timeoutSeconds = n));
    case 'failure-threshold':
      return set(parseInteger(value, 1), (n) => (probe.failureThreshold = n));
    case 'success-threshold':
      if (kind !== 'readiness') {
        return value === '1' ? ((probe.successThreshold = 1), undefined) : `expected "1": Kubernetes requires successThreshold 1 for a ${kind} probe`;
      }
      return set(parseInteger(value, 1), (n) => (probe.successThreshold = n));
    case 'command':
      return set(parseCommand(value), (command) => (probe.command = command));
    case 'grpc-service':
      probe.grpcService = value;
      return undefined;
    case 'probe': {
      const json = parseJson(value);
      if (!isJson(json)) return 'expected a core/v1 Probe as JSON: the value is not valid JSON';
      const parsed = parseProbeOverride(kind, json);
      if (Array.isArray(parsed)) return `expected a valid core/v1 Probe: ${parsed.join('; ')}`;
      draft.overrides[kind] = parsed;
      return undefined;
    }
  }
  return undefined;
}
