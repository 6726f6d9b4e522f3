import { PROBE_KINDS, type ProbeKind } from './annotation-keys.js';

export const HANDLER_TYPES = ['http', 'tcp', 'grpc', 'exec'] as const;
export type HandlerType = (typeof HANDLER_TYPES)[number];

export const SCHEMES = ['HTTP', 'HTTPS'] as const;
export type Scheme = (typeof SCHEMES)[number];

/** A port given as a number, or as the name of a port the container declares. */
export type PortRef = number | string;

export interface Timings {
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** Settings shared by all probes: the `type`, `port`, `path`, `scheme` annotations. */
export interface HandlerSettings {
  readonly type?: HandlerType | undefined;
  readonly port?: PortRef | undefined;
  readonly path?: string | undefined;
  readonly scheme?: Scheme | undefined;
}

/** Settings of one probe: the `{probe}` and `{probe}-*` annotations (but `{probe}-probe`). */
export interface ProbeSettings extends HandlerSettings, Partial<Timings> {
  readonly enabled?: boolean | undefined;
  readonly command?: readonly string[] | undefined;
  readonly grpcService?: string | undefined;
}

/** A preset of annotation settings (SPEC §5). Unset values fall back to the `default` profile. */
export interface Profile extends HandlerSettings {
  readonly startup?: ProbeSettings | undefined;
  readonly readiness?: ProbeSettings | undefined;
  readonly liveness?: ProbeSettings | undefined;
}

/** A profile with every timing filled in, as the core uses it. */
export interface ResolvedProfile extends HandlerSettings {
  readonly name: string;
  readonly probes: Readonly<Record<ProbeKind, ProbeSettings & Timings>>;
}

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

/**
 * Resolves profiles: built-in ones, then those of the config file merged over them field by
 * field; every profile inherits what it leaves unset from the (possibly overridden) `default`.
 */
export function resolveProfiles(overrides: Readonly<Record<string, Profile>> = {}): ReadonlyMap<string, ResolvedProfile> {
  const names = new Set([...Object.keys(BUILT_IN_PROFILES), ...Object.keys(overrides)]);
  const builtIn = (name: string): Profile | undefined =>
    Object.hasOwn(BUILT_IN_PROFILES, name) ? BUILT_IN_PROFILES[name as keyof typeof BUILT_IN_PROFILES] : undefined;
  const own = (name: string): Profile | undefined => (Object.hasOwn(overrides, name) ? overrides[name] : undefined);
  const base = mergeProfiles(DEFAULT_TIMINGS, builtIn('default'), own('default'));
  const resolved = new Map<string, ResolvedProfile>();
  for (const name of names) {
    const { startup, readiness, liveness, ...handler } = name === 'default' ? base : mergeProfiles(base, builtIn(name), own(name));
    resolved.set(name, { ...handler, name, probes: { startup, readiness, liveness } as ResolvedProfile['probes'] });
  }
  return resolved;
}

function mergeProfiles(...layers: (Profile | undefined)[]): Profile {
  let type: HandlerType | undefined;
  let port: PortRef | undefined;
  let path: string | undefined;
  let scheme: Scheme | undefined;
  const probes: Partial<Record<ProbeKind, ProbeSettings>> = {};
  for (const layer of layers) {
    if (!layer) continue;
    // A layer that sets a path without a type means http, as annotations do.
    if (layer.type !== undefined || layer.path !== undefined) type = layer.type ?? 'http';
    port = layer.port ?? port;
    path = layer.path ?? path;
    scheme = layer.scheme ?? scheme;
    for (const kind of PROBE_KINDS) {
      const settings = layer[kind];
      if (settings) probes[kind] = { ...probes[kind], ...withoutUndefined(settings) };
    }
  }
  return { type, port, path, scheme, ...probes };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
