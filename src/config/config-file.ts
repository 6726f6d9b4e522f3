import * as v from 'valibot';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { PROBE_KINDS } from '../core/annotation-keys.js';
import { DEREGISTER_METHODS, DEREGISTER_MODES, ERROR_POLICIES, makeInjectionConfig, type InjectionConfig, type InjectionConfigInput } from '../core/config.js';
import { HANDLER_TYPES, SCHEMES } from '../core/profile.js';
import { INT32_MAX, isHttpPath, isPortName, parseDeregisterPath, isInvalid } from '../core/values.js';

/**
 * The configuration file (SPEC §5), mounted from a ConfigMap. Validated once, here, with every
 * problem listed; the core then trusts its types.
 */
const int = (min: number, max = INT32_MAX) =>
  v.pipe(v.number(), v.integer(), v.minValue(min, `must be an integer from ${min} to ${max}`), v.maxValue(max, `must be an integer from ${min} to ${max}`));
const Port = v.union(
  [v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)), v.pipe(v.string(), v.check(isPortName))],
  'must be a port number from 1 to 65535 or a port name',
);
const Path = v.pipe(v.string(), v.check(isHttpPath, 'must be an absolute HTTP path ("/" then letters, digits and "-._~%/?=&+,:@")'));
const handlerEntries = {
  type: v.optional(v.picklist(HANDLER_TYPES, `must be one of ${HANDLER_TYPES.join(', ')}`)),
  port: v.optional(Port),
  path: v.optional(Path),
  scheme: v.optional(v.picklist(SCHEMES, 'must be HTTP or HTTPS')),
};
const probeSettings = (kind: (typeof PROBE_KINDS)[number]) =>
  v.optional(
    v.strictObject({
      ...handlerEntries,
      enabled: v.optional(v.boolean()),
      initialDelaySeconds: v.optional(int(0)),
      periodSeconds: v.optional(int(1)),
      timeoutSeconds: v.optional(int(1)),
      successThreshold: v.optional(kind === 'readiness' ? int(1) : v.literal(1, `must be 1 for ${kind} probes (Kubernetes requires it)`)),
      failureThreshold: v.optional(int(1)),
      command: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, 'must be a non-empty list of strings'))),
      grpcService: v.optional(v.string()),
    }),
  );
const ProfileSchema = v.strictObject({
  ...handlerEntries,
  startup: probeSettings('startup'),
  readiness: probeSettings('readiness'),
  liveness: probeSettings('liveness'),
});
export const ConfigFileSchema = v.strictObject({
  injectByDefault: v.optional(v.boolean()),
  errorPolicy: v.optional(v.picklist(ERROR_POLICIES, 'must be reject or warn')),
  shutdownSeconds: v.optional(int(0, 3600)),
  nacos: v.optional(
    v.strictObject({
      mode: v.optional(v.picklist(DEREGISTER_MODES, 'must be exec or http')),
      path: v.optional(v.pipe(v.string(), v.check((path) => !isInvalid(parseDeregisterPath(path)), 'must be an absolute path of letters, digits and "/-._~%", optionally "?" and a query of those and "=&"'))),
      method: v.optional(v.picklist(DEREGISTER_METHODS, `must be one of ${DEREGISTER_METHODS.join(', ')}`)),
      timeoutSeconds: v.optional(int(1, 60)),
      sleepSeconds: v.optional(int(0, 600)),
    }),
  ),
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

/** Parses and validates the text of a config file. Throws a ConfigError listing every problem. */
export function parseConfigFile(text: string, file: string): InjectionConfig {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true, uniqueKeys: true }) ?? {};
  } catch (cause) {
    const where = cause instanceof YAMLParseError && cause.linePos ? ` at line ${cause.linePos[0].line}, column ${cause.linePos[0].col}` : '';
    const message = (cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : String(cause)).replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(file, [`not valid YAML${where}: ${message}`], { cause });
  }
  const result = v.safeParse(ConfigFileSchema, document);
  if (!result.success) {
    throw new ConfigError(
      file,
      result.issues.map((issue) => {
        const path = v.getDotPath(issue);
        return path ? `${path}: ${issue.message}` : issue.message;
      }),
    );
  }
  return makeInjectionConfig(result.output as InjectionConfigInput);
}
