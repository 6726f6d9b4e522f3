import * as v from 'valibot';
import { isKnownKey, isPodKey, nearestKnownKeys, PREFIX, splitProbeKey, type PodKey, type ProbeKind, type ProbeKeySuffix } from './annotation-keys.js';
import type { AnnotationScan } from './annotation-scan.js';
import { BOUNDS } from './bounds.js';
import { DEFAULT_DEREGISTER_PATH } from './config.js';
import { annotationProblem, type Problems } from './problems.js';
import { parseProbeOverride, type ProbeOverride } from './probe-override.js';
import {
  booleanText,
  command,
  deregisterPath,
  httpPath,
  integerText,
  nacosName,
  picklistText,
  portRefText,
  qualifiedName,
} from './schema.js';
import {
  DEREGISTER_METHODS,
  DEREGISTER_MODES,
  DEREGISTER_VIAS,
  HANDLER_TYPES,
  SCHEMES,
  type DeregisterSettings,
  type HandlerSettings,
  type InjectionConfig,
  type InjectionSettings,
  type NacosIdentitySettings,
  type ProbeRequest,
  type ProbeSettings,
} from './settings.js';
import { plain } from './text.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What the annotations say, as they are read one by one. */
interface Draft {
  containers?: string[];
  profile?: string;
  shared: Mutable<HandlerSettings>;
  probes: Record<ProbeKind, Mutable<ProbeSettings>>;
  overrides: Partial<Record<ProbeKind, ProbeOverride>>;
  readinessGates: string[];
  deregister?: boolean;
  deregisterGiven: Partial<Mutable<DeregisterSettings>>;
  preStopSleepSeconds?: number;
  nacos: Mutable<NacosIdentitySettings>;
}

/** Parses one annotation value with a schema; a failure is a problem under that key. */
function take<T>(schema: v.GenericSchema<string, T>, key: string, text: string, problems: Problems): T | undefined {
  const result = v.safeParse(schema, text);
  if (result.success) return result.output;
  problems.push(annotationProblem(key, text, result.issues[0]?.message ?? 'invalid value'));
  return undefined;
}

/** A comma-separated list, trimmed item by item; an empty item is an error; at most `max` items. */
function list(key: string, text: string, what: string, max: number, item: v.GenericSchema<string, string> | undefined, problems: Problems): string[] | undefined {
  const items = text.split(',', max + 1).map((entry) => entry.trim());
  const accepted = `expected a comma-separated list of ${what}, with no empty item`;
  if (items.length > max) {
    problems.push({ key, value: text, message: `more than ${max} items; a pod has far fewer ${what}`, origin: 'bound' });
    return undefined;
  }
  if (items.some((entry) => entry === '' || (item !== undefined && !v.is(item, entry)))) {
    problems.push(annotationProblem(key, text, accepted));
    return undefined;
  }
  return [...new Set(items)];
}

/** `{probe}-probe`, `-command`, `-grpc-service` are copied into every target container: bounded. */
function withinCopyBound(key: string, text: string, problems: Problems): boolean {
  if (text.length <= BOUNDS.copiedValueBytes) return true;
  problems.push({ key, value: text, message: `is ${text.length} characters, over the ${BOUNDS.copiedValueBytes} a probe can need (it is copied into every target container)`, origin: 'bound' });
  return false;
}

function parseJson(key: string, text: string, accepted: string, problems: Problems): unknown {
  try {
    return JSON.parse(text);
  } catch {
    problems.push(annotationProblem(key, text, `${accepted}: the value is not valid JSON`));
    return undefined;
  }
}

const COMMAND_ACCEPTED = 'expected a non-empty JSON array of non-empty strings, e.g. ["cat","/tmp/healthy"]';

const POD_KEY_READERS: { readonly [K in PodKey]: (draft: Draft, text: string, problems: Problems) => void } = {
  inject: (_draft, text, problems) => void take(booleanText, 'inject', text, problems),
  status: () => {}, // ours; read on reinvocation, never an error
  containers: (draft, text, problems) => {
    const names = list('containers', text, 'container names', BOUNDS.targetContainers, undefined, problems);
    if (names) draft.containers = names;
  },
  profile: (draft, text) => void (draft.profile = text), // checked against the configured profiles afterwards
  type: (draft, text, problems) => void (draft.shared.type = take(picklistText(HANDLER_TYPES), 'type', text, problems)),
  port: (draft, text, problems) => void (draft.shared.port = take(portRefText, 'port', text, problems)),
  path: (draft, text, problems) => void (draft.shared.path = take(httpPath, 'path', text, problems)),
  scheme: (draft, text, problems) => void (draft.shared.scheme = take(picklistText(SCHEMES), 'scheme', text, problems)),
  'readiness-gates': (draft, text, problems) => {
    const gates = list('readiness-gates', text, 'condition types (qualified names such as nacos.io/registered)', BOUNDS.readinessGates, qualifiedName, problems);
    if (gates) draft.readinessGates = gates;
  },
  'nacos-deregister': (draft, text, problems) => void (draft.deregister = take(booleanText, 'nacos-deregister', text, problems)),
  'nacos-deregister-mode': (draft, text, problems) => void (draft.deregisterGiven.mode = take(picklistText(DEREGISTER_MODES), 'nacos-deregister-mode', text, problems)),
  'nacos-deregister-via': (draft, text, problems) => void (draft.deregisterGiven.via = take(picklistText(DEREGISTER_VIAS), 'nacos-deregister-via', text, problems)),
  'nacos-deregister-port': (draft, text, problems) => void (draft.deregisterGiven.port = take(portRefText, 'nacos-deregister-port', text, problems)),
  'nacos-deregister-path': (draft, text, problems) => void (draft.deregisterGiven.path = take(deregisterPath, 'nacos-deregister-path', text, problems)),
  'nacos-deregister-method': (draft, text, problems) =>
    void (draft.deregisterGiven.method = take(picklistText(DEREGISTER_METHODS), 'nacos-deregister-method', text, problems)),
  'nacos-deregister-timeout-seconds': (draft, text, problems) =>
    void (draft.deregisterGiven.timeoutSeconds = take(integerText(1, 60), 'nacos-deregister-timeout-seconds', text, problems)),
  'nacos-deregister-sleep-seconds': (draft, text, problems) =>
    void (draft.deregisterGiven.sleepSeconds = take(integerText(0, 600), 'nacos-deregister-sleep-seconds', text, problems)),
  'nacos-service': (draft, text, problems) => void (draft.nacos.service = take(nacosName('service name', 253), 'nacos-service', text, problems)),
  'nacos-group': (draft, text, problems) => void (draft.nacos.group = take(nacosName('group name', 128), 'nacos-group', text, problems)),
  'nacos-namespace': (draft, text, problems) => void (draft.nacos.namespace = take(nacosName('namespace id', 128), 'nacos-namespace', text, problems)),
  'nacos-cluster': (draft, text, problems) => void (draft.nacos.cluster = take(nacosName('cluster name', 128), 'nacos-cluster', text, problems)),
  'nacos-port': (draft, text, problems) => void (draft.nacos.port = take(portRefText, 'nacos-port', text, problems)),
  'prestop-sleep-seconds': (draft, text, problems) => void (draft.preStopSleepSeconds = take(integerText(1, 600), 'prestop-sleep-seconds', text, problems)),
};

const PROBE_KEY_READERS: { readonly [S in ProbeKeySuffix]: (kind: ProbeKind, draft: Draft, text: string, problems: Problems) => void } = {
  type: (kind, draft, text, problems) => void (draft.probes[kind].type = take(picklistText(HANDLER_TYPES), `${kind}-type`, text, problems)),
  port: (kind, draft, text, problems) => void (draft.probes[kind].port = take(portRefText, `${kind}-port`, text, problems)),
  path: (kind, draft, text, problems) => void (draft.probes[kind].path = take(httpPath, `${kind}-path`, text, problems)),
  scheme: (kind, draft, text, problems) => void (draft.probes[kind].scheme = take(picklistText(SCHEMES), `${kind}-scheme`, text, problems)),
  'initial-delay-seconds': (kind, draft, text, problems) =>
    void (draft.probes[kind].initialDelaySeconds = take(integerText(0), `${kind}-initial-delay-seconds`, text, problems)),
  'period-seconds': (kind, draft, text, problems) => void (draft.probes[kind].periodSeconds = take(integerText(1), `${kind}-period-seconds`, text, problems)),
  'timeout-seconds': (kind, draft, text, problems) => void (draft.probes[kind].timeoutSeconds = take(integerText(1), `${kind}-timeout-seconds`, text, problems)),
  'failure-threshold': (kind, draft, text, problems) =>
    void (draft.probes[kind].failureThreshold = take(integerText(1), `${kind}-failure-threshold`, text, problems)),
  'success-threshold': (kind, draft, text, problems) => {
    const key = `${kind}-success-threshold`;
    if (kind === 'readiness') return void (draft.probes[kind].successThreshold = take(integerText(1), key, text, problems));
    if (text === '1') return void (draft.probes[kind].successThreshold = 1);
    problems.push(annotationProblem(key, text, `expected "1": Kubernetes requires successThreshold 1 for a ${kind} probe`));
  },
  command: (kind, draft, text, problems) => {
    const key = `${kind}-command`;
    if (!withinCopyBound(key, text, problems)) return;
    const json = parseJson(key, text, COMMAND_ACCEPTED, problems);
    if (json === undefined) return;
    const result = v.safeParse(command, json);
    if (result.success) draft.probes[kind].command = result.output;
    else problems.push(annotationProblem(key, text, COMMAND_ACCEPTED));
  },
  'grpc-service': (kind, draft, text, problems) => {
    if (withinCopyBound(`${kind}-grpc-service`, text, problems)) draft.probes[kind].grpcService = text;
  },
  probe: (kind, draft, text, problems) => {
    const key = `${kind}-probe`;
    if (!withinCopyBound(key, text, problems)) return;
    const json = parseJson(key, text, 'expected a core/v1 Probe as JSON', problems);
    if (json === undefined) return;
    const probe = parseProbeOverride(kind, key, text, json, problems);
    if (probe) draft.overrides[kind] = probe;
  },
};

/** Every unknown key under the prefix (in any case) with its nearest known keys; suggestions for the first few only. */
export function unknownKey(fullKey: string, suggest: boolean): { readonly key: string; readonly suggestions: readonly string[] } {
  const bare = fullKey.slice(PREFIX.length);
  return { key: fullKey, suggestions: suggest ? nearestKnownKeys(bare).map((key) => PREFIX + key) : [] };
}

export function unknownKeyMessage(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return 'unknown annotation';
  const [first, ...rest] = suggestions;
  return `unknown annotation; did you mean ${rest.length === 0 ? first : `${suggestions.slice(0, -1).join(', ')} or ${suggestions[suggestions.length - 1]}`}?`;
}

/**
 * Parses every `probe-injector.io/` annotation of an opted-in pod (the scan's `ours`). Every problem goes into the
 * collector, and the settings that could be read are returned all the same (an unknown profile
 * falls back to `default`), so the later stages still check what they can. With `only`, just those
 * keys (without prefix) are read.
 */
export function parseSettings(
  ours: AnnotationScan['ours'],
  config: InjectionConfig,
  problems: Problems,
  only?: ReadonlySet<string>,
): InjectionSettings {
  const draft: Draft = {
    shared: {},
    probes: { startup: {}, readiness: {}, liveness: {} },
    overrides: {},
    readinessGates: [],
    deregisterGiven: {},
    nacos: {},
  };
  const givenKeys = new Set<string>();
  let suggestions = 0;

  for (const [fullKey, text] of ours) {
    if (only !== undefined && !only.has(fullKey.slice(PREFIX.length))) continue;
    const key = fullKey.slice(PREFIX.length);
    if (!fullKey.startsWith(PREFIX) || !isKnownKey(key)) {
      const unknown = unknownKey(fullKey, suggestions++ < BOUNDS.suggestions);
      problems.push(annotationProblem(fullKey, undefined, unknownKeyMessage(unknown.suggestions)));
      continue;
    }
    givenKeys.add(key);
    if (isPodKey(key)) {
      POD_KEY_READERS[key](draft, text, problems);
      continue;
    }
    const probeKey = splitProbeKey(key);
    if (probeKey?.suffix !== undefined) PROBE_KEY_READERS[probeKey.suffix](probeKey.kind, draft, text, problems);
    else if (probeKey) draft.probes[probeKey.kind].enabled = take(booleanText, key, text, problems);
  }

  const profileName = draft.profile ?? 'default';
  const profile = config.profiles.get(profileName);
  if (!profile) {
    problems.push(annotationProblem('profile', profileName, `no such profile; expected one of ${[...config.profiles.keys()].map((name) => `"${plain(name)}"`).join(', ')}`));
  }
  const deregister = draft.deregister ? deregisterSettings(draft, config, problems) : undefined;
  if (draft.preStopSleepSeconds !== undefined && draft.deregister) {
    problems.push(
      annotationProblem(
        'prestop-sleep-seconds',
        String(draft.preStopSleepSeconds),
        'cannot be combined with nacos-deregister "true", whose hook already waits: use nacos-deregister-sleep-seconds',
      ),
    );
  }
  const probes = {
    startup: probeRequest(draft, 'startup'),
    readiness: probeRequest(draft, 'readiness'),
    liveness: probeRequest(draft, 'liveness'),
  };
  return {
    containers: draft.containers,
    profile: profile ?? config.profiles.default,
    shared: draft.shared,
    probes,
    readinessGates: draft.readinessGates,
    deregister,
    preStopSleepSeconds: draft.deregister ? undefined : draft.preStopSleepSeconds,
    nacos: draft.nacos,
    givenKeys,
  };
}

function probeRequest(draft: Draft, kind: ProbeKind): ProbeRequest {
  return { settings: draft.probes[kind], override: draft.overrides[kind] };
}

/** The hook's settings: annotations over the config's `nacos.deregister`, and the combinations SPEC §3 refuses. */
function deregisterSettings(draft: Draft, config: InjectionConfig, problems: Problems): DeregisterSettings {
  const given = draft.deregisterGiven;
  const defaults = config.nacos.deregister;
  const mode = given.mode ?? defaults.mode;
  const via = given.via ?? defaults.via;
  if (mode === 'http') {
    // An httpGet hook can neither sleep nor send anything but GET: refuse rather than ignore.
    if (given.method !== undefined && given.method !== 'GET') {
      problems.push(annotationProblem('nacos-deregister-method', given.method, 'an http-mode preStop hook can only send GET; use nacos-deregister-mode "exec" for other methods'));
    }
    if (given.sleepSeconds !== undefined) {
      problems.push(
        annotationProblem('nacos-deregister-sleep-seconds', String(given.sleepSeconds), 'an http-mode preStop hook cannot sleep; use nacos-deregister-mode "exec" to wait after deregistering'),
      );
    }
    if (via === 'actuator') {
      problems.push(
        annotationProblem(
          given.via !== undefined ? 'nacos-deregister-via' : 'nacos-deregister-mode',
          given.via ?? mode,
          'the actuator endpoint needs a POST with a JSON body, which an http-mode (httpGet) hook cannot send; use nacos-deregister-mode "exec"',
        ),
      );
    }
  }
  if (via === 'actuator' && given.method !== undefined) {
    problems.push(annotationProblem('nacos-deregister-method', given.method, 'the actuator endpoint is always called with POST; remove nacos-deregister-method, or use nacos-deregister-via "endpoint"'));
  }
  const path = given.path ?? (via === defaults.via ? defaults.path : DEFAULT_DEREGISTER_PATH[via]);
  return {
    mode,
    via,
    port: given.port,
    path,
    method: via === 'actuator' ? 'POST' : mode === 'http' ? 'GET' : (given.method ?? defaults.method),
    timeoutSeconds: given.timeoutSeconds ?? defaults.timeoutSeconds,
    sleepSeconds: mode === 'http' ? 0 : (given.sleepSeconds ?? defaults.sleepSeconds),
  };
}

