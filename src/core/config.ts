import { resolveProfiles, type Profile, type ResolvedProfile } from './profile.js';

export const ERROR_POLICIES = ['reject', 'warn'] as const;
export type ErrorPolicy = (typeof ERROR_POLICIES)[number];

export const DEREGISTER_MODES = ['exec', 'http'] as const;
export type DeregisterMode = (typeof DEREGISTER_MODES)[number];

export const DEREGISTER_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type DeregisterMethod = (typeof DEREGISTER_METHODS)[number];

/** Defaults of the `nacos-deregister-*` annotations. */
export interface NacosDefaults {
  readonly mode: DeregisterMode;
  readonly path: string;
  readonly method: DeregisterMethod;
  readonly timeoutSeconds: number;
  readonly sleepSeconds: number;
}

/** What the injection core needs to know, already validated (the shell validates the file). */
export interface InjectionConfig {
  readonly injectByDefault: boolean;
  readonly errorPolicy: ErrorPolicy;
  /** Time the application itself needs to shut down after the preStop hook. */
  readonly shutdownSeconds: number;
  readonly nacos: NacosDefaults;
  readonly profiles: ReadonlyMap<string, ResolvedProfile>;
}

export const DEFAULT_NACOS: NacosDefaults = {
  mode: 'exec',
  path: '/api/nacos/deregister',
  method: 'GET',
  timeoutSeconds: 3,
  sleepSeconds: 35,
};

export interface InjectionConfigInput {
  readonly injectByDefault?: boolean | undefined;
  readonly errorPolicy?: ErrorPolicy | undefined;
  readonly shutdownSeconds?: number | undefined;
  readonly nacos?: Partial<NacosDefaults> | undefined;
  readonly profiles?: Readonly<Record<string, Profile>> | undefined;
}

/** Fills in the defaults of SPEC §5 and resolves the profiles once. */
export function makeInjectionConfig(input: InjectionConfigInput = {}): InjectionConfig {
  return {
    injectByDefault: input.injectByDefault ?? false,
    errorPolicy: input.errorPolicy ?? 'reject',
    shutdownSeconds: input.shutdownSeconds ?? 10,
    nacos: { ...DEFAULT_NACOS, ...Object.fromEntries(Object.entries(input.nacos ?? {}).filter(([, v]) => v !== undefined)) },
    profiles: resolveProfiles(input.profiles),
  };
}
