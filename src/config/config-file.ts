import * as v from 'valibot';
import { makeInjectionConfig, type InjectionConfig } from '../core/config.js';
import { parseBoundedYaml, YamlInputError, type YamlLimits } from '../manifest/bounded-yaml.js';
import { isRecord } from '../core/json.js';
import { parseKubernetesVersion } from '../core/kubernetes-version.js';
import { closedObject, command, deregisterPath, httpPath, integer, issueText, nacosName, portRef, qualifiedName } from '../core/schema.js';
import {
  DEREGISTER_METHODS,
  DEREGISTER_MODES,
  DEREGISTER_VIAS,
  ERROR_POLICIES,
  HANDLER_TYPES,
  NACOS_API_VERSIONS,
  ON_TIMEOUT,
  SCHEMES,
  type ProbeSettings,
} from '../core/settings.js';

/**
 * The configuration file (SPEC §5), mounted from a ConfigMap. Validated once, here, with every
 * problem listed; the core then trusts its types. Read by `serve`, `mutate`, `controller` and `check`.
 */
const oneOf = <const T extends readonly string[]>(options: T) => v.picklist(options, `must be one of ${options.join(', ')}`);

const handlerEntries = {
  type: v.optional(oneOf(HANDLER_TYPES)),
  port: v.optional(portRef),
  path: v.optional(httpPath),
  scheme: v.optional(oneOf(SCHEMES)),
};
const probeSettings = (kind: 'startup' | 'readiness' | 'liveness') =>
  v.optional(
    closedObject({
      ...handlerEntries,
      enabled: v.optional(v.boolean()),
      initialDelaySeconds: v.optional(integer(0)),
      periodSeconds: v.optional(integer(1)),
      timeoutSeconds: v.optional(integer(1)),
      successThreshold: v.optional(kind === 'readiness' ? integer(1) : v.literal(1, `must be 1 for ${kind} probes (Kubernetes requires it)`)),
      failureThreshold: v.optional(integer(1)),
      command: v.optional(command),
      grpcService: v.optional(v.string()),
    } satisfies { [K in keyof Required<ProbeSettings>]: unknown }),
  );
const ProfileSchema = closedObject({
  ...handlerEntries,
  startup: probeSettings('startup'),
  readiness: probeSettings('readiness'),
  liveness: probeSettings('liveness'),
});

/** `http://host:8848` or `https://host`: where a Nacos server listens (the context path is separate). */
const NacosAddress = v.pipe(
  v.string(),
  v.check((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.pathname === '/' && url.search === '' && url.username === '' && !text.endsWith('/');
    } catch {
      return false;
    }
  }, 'must be http:// or https:// followed by a host and optional port, with no path (put the path in contextPath)'),
);

const NacosSchema = closedObject({
  deregister: v.optional(
    closedObject({
      mode: v.optional(oneOf(DEREGISTER_MODES)),
      via: v.optional(oneOf(DEREGISTER_VIAS)),
      path: v.optional(deregisterPath),
      method: v.optional(oneOf(DEREGISTER_METHODS)),
      timeoutSeconds: v.optional(integer(1, 60)),
      sleepSeconds: v.optional(integer(0, 600)),
    }),
  ),
  namespace: v.optional(v.union([v.literal(''), nacosName('namespace id', 128)], 'must be a Nacos namespace id (letters, digits and "-._:"), or public')),
  group: v.optional(nacosName('group name', 128)),
  server: v.optional(
    closedObject({
      addresses: v.optional(v.pipe(v.array(NacosAddress), v.minLength(1, 'must list at least one address'), v.maxLength(16, 'must list at most 16 addresses'))),
      contextPath: v.optional(v.pipe(v.string(), v.regex(/^(\/[A-Za-z0-9\-._~]+)*$/, 'must be empty or a path such as /nacos (no trailing slash)'))),
      apiVersion: v.optional(oneOf(NACOS_API_VERSIONS)),
      timeoutSeconds: v.optional(integer(1, 60)),
    }),
  ),
  gate: v.optional(
    closedObject({
      conditionType: v.optional(qualifiedName),
      pollSeconds: v.optional(integer(1, 3600)),
      warnAfterSeconds: v.optional(integer(0, 86400)),
      timeoutSeconds: v.optional(integer(0, 86400 * 7)),
      onTimeout: v.optional(oneOf(ON_TIMEOUT)),
    }),
  ),
});

export const ConfigFileSchema = closedObject({
  injectByDefault: v.optional(v.boolean()),
  errorPolicy: v.optional(oneOf(ERROR_POLICIES)),
  shutdownSeconds: v.optional(integer(0, 3600)),
  kubernetesVersion: v.optional(
    v.pipe(
      v.string('must be a string such as "1.30" (quote it: YAML reads 1.30 as the number 1.3)'),
      v.check((text) => parseKubernetesVersion(text) !== undefined, 'must be a Kubernetes version such as "1.30" or "v1.29.3"'),
    ),
  ),
  nacos: v.optional(NacosSchema),
  profiles: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'profile names are lowercase letters, digits and "-"')), ProfileSchema)),
});
export type ConfigFile = v.InferOutput<typeof ConfigFileSchema>;

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`invalid config ${file}: ${problems.join('; ')}`, options);
    this.name = 'ConfigError';
  }
}

/**
 * What a config file may be: a ConfigMap holds at most 1 MiB, and this file is a few dozen lines.
 * Nesting, node count and aliases are bounded before the YAML library composes anything, so a hostile
 * file is refused (and the last good config kept) instead of crashing the process.
 */
export const CONFIG_YAML_LIMITS: YamlLimits = { maxBytes: 1024 * 1024, maxDepth: 32, maxScalarLength: 64 * 1024, maxNodes: 100_000, maxAliasCount: 100 };

/** Keys of the 0.1 layout that moved under `nacos.deregister` in 0.2. */
const MOVED_NACOS_KEYS = ['mode', 'path', 'method', 'timeoutSeconds', 'sleepSeconds'] as const;

/** Parses and validates the text of a config file. Throws a ConfigError listing every problem. */
export function parseConfigFile(text: string, file: string): InjectionConfig {
  let document: unknown;
  try {
    const documents = parseBoundedYaml(text, CONFIG_YAML_LIMITS);
    if (documents.length > 1) throw new YamlInputError(`${documents.length} YAML documents; a config file is one`);
    document = documents[0]?.value ?? {};
  } catch (cause) {
    const where = cause instanceof YamlInputError && cause.line !== undefined ? ` at line ${cause.line}, column ${cause.column ?? 1}` : '';
    const message = (cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : String(cause)).slice(0, 200);
    throw new ConfigError(file, [`not valid YAML${where}: ${message}`], { cause });
  }
  const problems: string[] = [];
  const nacos = isRecord(document) ? document['nacos'] : undefined;
  if (isRecord(nacos)) {
    for (const key of MOVED_NACOS_KEYS) {
      if (Object.hasOwn(nacos, key)) problems.push(`nacos.${key}: moved to nacos.deregister.${key} (the hook's defaults have their own section since 0.2)`);
    }
  }
  const result = v.safeParse(ConfigFileSchema, document);
  if (!result.success) {
    for (const issue of result.issues) {
      const line = issueText(issue);
      if (!MOVED_NACOS_KEYS.some((key) => line.startsWith(`nacos.${key}:`))) problems.push(line);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(file, problems);
  return makeInjectionConfig(result.output);
}
