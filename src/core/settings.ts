import type { ProbeKind } from './annotation-keys.js';
import type { KubernetesVersion } from './kubernetes-version.js';
import type { ProbeOverride } from './probe-override.js';

/**
 * The settings vocabulary: what annotations, profiles and the config file can say, as the core
 * uses it once validated. Annotations, profiles and the config file share these types and the
 * rules below, so that one rule is written once.
 */

export const HANDLER_TYPES = ['http', 'tcp', 'grpc', 'exec'] as const;
export type HandlerType = (typeof HANDLER_TYPES)[number];

export const SCHEMES = ['HTTP', 'HTTPS'] as const;
export type Scheme = (typeof SCHEMES)[number];

export const ERROR_POLICIES = ['reject', 'warn'] as const;
export type ErrorPolicy = (typeof ERROR_POLICIES)[number];

export const DEREGISTER_MODES = ['exec', 'http'] as const;
export type DeregisterMode = (typeof DEREGISTER_MODES)[number];

export const DEREGISTER_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type DeregisterMethod = (typeof DEREGISTER_METHODS)[number];

/** `endpoint`: the app's own deregistration endpoint; `actuator`: Spring Cloud's `serviceregistry` endpoint. */
export const DEREGISTER_VIAS = ['endpoint', 'actuator'] as const;
export type DeregisterVia = (typeof DEREGISTER_VIAS)[number];

export const NACOS_API_VERSIONS = ['v1', 'v3'] as const;
export type NacosApiVersion = (typeof NACOS_API_VERSIONS)[number];

export const ON_TIMEOUT = ['wait', 'ready'] as const;
export type OnTimeout = (typeof ON_TIMEOUT)[number];

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

/**
 * The handler one level of settings asks for: an explicit `type` wins; a `path` without a type
 * means http, a `command` without a type means exec; otherwise the level does not say.
 */
export function impliedType(level: ProbeSettings | HandlerSettings): HandlerType | undefined {
  if (level.type !== undefined) return level.type;
  if (level.path !== undefined) return 'http';
  if ('command' in level && level.command !== undefined) return 'exec';
  return undefined;
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

/** Defaults of the `nacos-deregister-*` annotations (config `nacos.deregister`). */
export interface DeregisterDefaults {
  readonly mode: DeregisterMode;
  readonly via: DeregisterVia;
  /** The path for `via` above (the other `via` has its own default path). */
  readonly path: string;
  readonly method: DeregisterMethod;
  readonly timeoutSeconds: number;
  readonly sleepSeconds: number;
}

/** The Nacos servers the controller asks (SPEC §8); not used by the webhook. */
export interface NacosServerConfig {
  /** `http://nacos.nacos.svc.cluster.local:8848`: scheme, host and port; tried in turn on failure. */
  readonly addresses: readonly string[];
  readonly contextPath: string;
  readonly apiVersion: NacosApiVersion;
  /** Bound on each call. */
  readonly timeoutSeconds: number;
}

export interface NacosGateConfig {
  readonly conditionType: string;
  /** At most one instance-list call per Nacos service per period. */
  readonly pollSeconds: number;
  readonly warnAfterSeconds: number;
  /** 0: wait for Nacos forever. */
  readonly timeoutSeconds: number;
  readonly onTimeout: OnTimeout;
}

export interface NacosConfig {
  readonly deregister: DeregisterDefaults;
  readonly namespace: string;
  readonly group: string;
  readonly server: NacosServerConfig;
  readonly gate: NacosGateConfig;
}

/** The validated configuration every command gets (SPEC §5). The shell validates the file. */
export interface InjectionConfig {
  readonly injectByDefault: boolean;
  readonly errorPolicy: ErrorPolicy;
  /** Time the application itself needs to shut down after the preStop hook. */
  readonly shutdownSeconds: number;
  /** The cluster's version; undefined: unknown, the oldest behaviour is used (SPEC §4). */
  readonly kubernetesVersion?: KubernetesVersion | undefined;
  readonly nacos: NacosConfig;
  readonly profiles: ReadonlyMap<string, ResolvedProfile> & { readonly default: ResolvedProfile };
}

/** What the `nacos-deregister*` annotations ask for, with the defaults applied. */
export interface DeregisterSettings {
  readonly mode: DeregisterMode;
  readonly via: DeregisterVia;
  readonly port?: PortRef | undefined;
  readonly path: string;
  readonly method: DeregisterMethod;
  readonly timeoutSeconds: number;
  readonly sleepSeconds: number;
}

/** What the `nacos-service`, `-group`, `-namespace`, `-cluster`, `-port` annotations say. */
export interface NacosIdentitySettings {
  readonly service?: string | undefined;
  readonly group?: string | undefined;
  readonly namespace?: string | undefined;
  readonly cluster?: string | undefined;
  readonly port?: PortRef | undefined;
}

export interface ProbeRequest {
  /** What the `{probe}` and `{probe}-*` annotations say (unset: not given). */
  readonly settings: ProbeSettings;
  /** The `{probe}-probe` annotation, validated. */
  readonly override?: ProbeOverride | undefined;
}

/** Everything the annotations ask for, validated, with pod-wide defaults applied. */
export interface InjectionSettings {
  readonly containers?: readonly string[] | undefined;
  readonly profile: ResolvedProfile;
  readonly shared: HandlerSettings;
  readonly probes: Readonly<Record<ProbeKind, ProbeRequest>>;
  readonly readinessGates: readonly string[];
  /** Present when `nacos-deregister` is "true". */
  readonly deregister?: DeregisterSettings | undefined;
  /** `prestop-sleep-seconds`: a preStop that only waits. */
  readonly preStopSleepSeconds?: number | undefined;
  readonly nacos: NacosIdentitySettings;
  /** The keys (without prefix) that were given: a kept probe is only worth a warning if asked for. */
  readonly givenKeys: ReadonlySet<string>;
}
