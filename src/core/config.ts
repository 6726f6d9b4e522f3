import { parseKubernetesVersion } from './kubernetes-version.js';
import { resolveProfiles } from './profile.js';
import type { DeregisterDefaults, DeregisterVia, ErrorPolicy, InjectionConfig, NacosGateConfig, NacosServerConfig, Profile } from './settings.js';

/** The deregistration path each `via` calls unless told otherwise. */
export const DEFAULT_DEREGISTER_PATH = {
  endpoint: '/api/nacos/deregister',
  actuator: '/actuator/serviceregistry',
} as const satisfies Record<DeregisterVia, string>;

export const DEFAULT_DEREGISTER: DeregisterDefaults = {
  mode: 'exec',
  via: 'endpoint',
  path: DEFAULT_DEREGISTER_PATH.endpoint,
  method: 'GET',
  timeoutSeconds: 3,
  sleepSeconds: 35,
};

export const DEFAULT_NACOS_SERVER: NacosServerConfig = {
  addresses: ['http://nacos.nacos.svc.cluster.local:8848'],
  contextPath: '/nacos',
  apiVersion: 'v1',
  timeoutSeconds: 3,
};

export const DEFAULT_GATE: NacosGateConfig = {
  conditionType: 'nacos.io/registered',
  pollSeconds: 2,
  warnAfterSeconds: 120,
  timeoutSeconds: 0,
  onTimeout: 'wait',
};

export const DEFAULT_SHUTDOWN_SECONDS = 10;

/** The config file's shape after validation: every key optional (SPEC §5). */
export interface ConfigInput {
  readonly injectByDefault?: boolean | undefined;
  readonly errorPolicy?: ErrorPolicy | undefined;
  readonly shutdownSeconds?: number | undefined;
  /** `"1.30"`: overrides the version `serve` detects. */
  readonly kubernetesVersion?: string | undefined;
  readonly nacos?:
    | {
        readonly deregister?: Partial<DeregisterDefaults> | undefined;
        readonly namespace?: string | undefined;
        readonly group?: string | undefined;
        readonly server?: Partial<NacosServerConfig> | undefined;
        readonly gate?: Partial<NacosGateConfig> | undefined;
      }
    | undefined;
  readonly profiles?: Readonly<Record<string, Profile>> | undefined;
}

/**
 * Fills in the defaults of SPEC §5 and resolves the profiles once. The input is already validated
 * (the config file's schema leaves absent keys out, never `undefined`).
 */
export function makeInjectionConfig(input: ConfigInput = {}): InjectionConfig {
  const nacos = input.nacos ?? {};
  const deregister = nacos.deregister ?? {};
  const via = deregister.via ?? DEFAULT_DEREGISTER.via;
  return {
    injectByDefault: input.injectByDefault ?? false,
    errorPolicy: input.errorPolicy ?? 'reject',
    shutdownSeconds: input.shutdownSeconds ?? DEFAULT_SHUTDOWN_SECONDS,
    kubernetesVersion: input.kubernetesVersion === undefined ? undefined : parseKubernetesVersion(input.kubernetesVersion),
    nacos: {
      deregister: { ...DEFAULT_DEREGISTER, path: DEFAULT_DEREGISTER_PATH[via], ...deregister },
      namespace: nacos.namespace ?? 'public',
      group: nacos.group ?? 'DEFAULT_GROUP',
      server: { ...DEFAULT_NACOS_SERVER, ...nacos.server },
      gate: { ...DEFAULT_GATE, ...nacos.gate },
    },
    profiles: resolveProfiles(input.profiles),
  };
}

export type { InjectionConfig } from './settings.js';
