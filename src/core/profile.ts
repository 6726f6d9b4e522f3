import { PROBE_KINDS, type ProbeKind } from './annotation-keys.js';
import { impliedType, type HandlerType, type PortRef, type Profile, type ProbeSettings, type ResolvedProfile, type Scheme, type Timings } from './settings.js';

/** Built-in timings of the `default` profile (SPEC §3). */
export const DEFAULT_TIMINGS = {
  startup: { initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 60 },
  readiness: { initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 },
  liveness: { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 3, successThreshold: 1, failureThreshold: 3 },
} as const satisfies Record<ProbeKind, Timings>;

export const BUILT_IN_PROFILES = {
  default: { type: 'tcp' },
  http: { type: 'http', path: '/' },
  'spring-boot': {
    type: 'http',
    startup: { path: '/actuator/health/liveness' },
    readiness: { path: '/actuator/health/readiness' },
    liveness: { path: '/actuator/health/liveness' },
  },
  grpc: { type: 'grpc' },
} as const satisfies Record<string, Profile>;

const BUILT_IN: ReadonlyMap<string, Profile> = new Map(Object.entries(BUILT_IN_PROFILES));

/**
 * Resolves profiles: built-in ones, then those of the config file merged over them field by
 * field; every profile inherits what it leaves unset from the (possibly overridden) `default`.
 */
export function resolveProfiles(overrides: Readonly<Record<string, Profile>> = {}): ResolvedProfiles {
  const builtIn = (name: string): Profile | undefined => BUILT_IN.get(name);
  const own = (name: string): Profile | undefined => (Object.hasOwn(overrides, name) ? overrides[name] : undefined);
  const base = mergeProfiles(builtIn('default'), own('default'));
  const fallback = resolve('default', base);
  const resolved = new Map<string, ResolvedProfile>([['default', fallback]]);
  for (const name of new Set([...BUILT_IN.keys(), ...Object.keys(overrides)])) {
    if (name !== 'default') resolved.set(name, resolve(name, mergeProfiles(base, builtIn(name), own(name))));
  }
  return Object.assign(resolved, { default: fallback });
}

function resolve(name: string, merged: Profile): ResolvedProfile {
  const { startup: _startup, readiness: _readiness, liveness: _liveness, ...handler } = merged;
  const probe = (kind: ProbeKind) => ({ ...DEFAULT_TIMINGS[kind], ...merged[kind] });
  return { ...handler, name, probes: { startup: probe('startup'), readiness: probe('readiness'), liveness: probe('liveness') } };
}

/** Every profile by name, and `default` (always there) as the fallback of an unknown name. */
export type ResolvedProfiles = ReadonlyMap<string, ResolvedProfile> & { readonly default: ResolvedProfile };

function mergeProfiles(...layers: (Profile | undefined)[]): Profile {
  let type: HandlerType | undefined;
  let port: PortRef | undefined;
  let path: string | undefined;
  let scheme: Scheme | undefined;
  const probes: Partial<Record<ProbeKind, ProbeSettings>> = {};
  for (const layer of layers) {
    if (!layer) continue;
    type = impliedType(layer) ?? type;
    port = layer.port ?? port;
    path = layer.path ?? path;
    scheme = layer.scheme ?? scheme;
    for (const kind of PROBE_KINDS) {
      const settings = layer[kind];
      if (settings) probes[kind] = { ...probes[kind], ...definedOnly(settings) };
    }
  }
  return { type, port, path, scheme, ...probes };
}

function definedOnly(settings: ProbeSettings): ProbeSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}
