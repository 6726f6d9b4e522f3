import * as v from 'valibot';
import { isRecord } from './json.js';

/**
 * The valibot pieces shared by every schema of the project: annotation values, the `{probe}-probe`
 * override, the config file, the pod. Each says what it accepts in its message, in the same words
 * wherever it is used.
 */

export const INT32_MAX = 2147483647;

/** `integer >= 1`, `integer from 1 to 60`; over int32, the bound is said too. */
const range = (min: number, max: number) => (max === INT32_MAX ? `integer >= ${min}` : `integer from ${min} to ${max}`);
const tooBig = (min: number, max: number) => (max === INT32_MAX ? `integer >= ${min} and at most ${INT32_MAX}` : `integer from ${min} to ${max}`);

/** A JSON/YAML number that is an integer within [min, max] (Probe fields are int32). */
export const integer = (min: number, max = INT32_MAX) =>
  v.pipe(v.number(`expected an ${range(min, max)}`), v.integer(`expected an ${range(min, max)}`), v.minValue(min, `expected an ${range(min, max)}`), v.maxValue(max, `expected an ${tooBig(min, max)}`));

/** An annotation value holding a decimal integer within [min, max]: exactly digits, no sign or spaces. */
export const integerText = (min: number, max = INT32_MAX) =>
  v.pipe(
    v.string(),
    v.regex(/^[0-9]{1,10}$/, `expected a decimal ${range(min, max)}`),
    v.transform(Number),
    v.minValue(min, `expected a decimal ${range(min, max)}`),
    v.maxValue(max, `expected a decimal ${tooBig(min, max)}`),
  );

export const booleanText = v.pipe(
  v.picklist(['true', 'false'], 'expected "true" or "false"'),
  v.transform((text) => text === 'true'),
);

export const picklistText = <const T extends readonly string[]>(options: T) =>
  v.picklist(options, `expected one of ${options.map((o) => `"${o}"`).join(', ')}`);

/** IANA_SVC_NAME, as Kubernetes validates container port names. */
const PORT_NAME = /^(?=.{1,15}$)(?=[^a-z]*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;
export const isPortName = (text: string): boolean => PORT_NAME.test(text);

const PORT_ACCEPTED = 'expected a port number from 1 to 65535 or the name of a port the container declares';
export const portNumber = v.pipe(v.number(PORT_ACCEPTED), v.integer(PORT_ACCEPTED), v.minValue(1, PORT_ACCEPTED), v.maxValue(65535, PORT_ACCEPTED));
export const portName = v.pipe(v.string(PORT_ACCEPTED), v.check(isPortName, PORT_ACCEPTED));
/** A port as a probe or the config file gives it: a number, or a port name. */
export const portRef = v.union([portNumber, portName], PORT_ACCEPTED);
/** A port as an annotation gives it: digits (a number), or a port name. */
export const portRefText = v.union(
  [v.pipe(v.string(), v.regex(/^[0-9]{1,5}$/), v.transform(Number), portNumber), portName],
  PORT_ACCEPTED,
);

/**
 * A probe path: RFC 3986 path and query characters, minus the ones that only ever show up in
 * attacks or typos (quotes, `;`, `$`, `(`, `)`, `*`, `!`, back-quotes) — and no spaces or controls.
 */
export const MAX_PATH_LENGTH = 1024;
const HTTP_PATH = /^\/[A-Za-z0-9\-._~%/?=&+,:@]*$/;
export const isHttpPath = (text: string): boolean => text.length <= MAX_PATH_LENGTH && HTTP_PATH.test(text);
export const httpPath = v.pipe(
  v.string(),
  v.check(isHttpPath, `expected an absolute HTTP path: "/" then letters, digits and "-._~%/?=&+,:@" (at most ${MAX_PATH_LENGTH} characters)`),
);

/**
 * The Nacos deregistration path goes into a shell command line (single-quoted), so it is held to
 * a narrower alphabet than probe paths: letters, digits and `/-._~%`, optionally `?` and a query.
 */
export const MAX_DEREGISTER_PATH_LENGTH = 512;
const DEREGISTER_PATH = /^\/[A-Za-z0-9/\-._~%]*(\?[A-Za-z0-9/\-._~%=&]*)?$/;
export const deregisterPath = v.pipe(
  v.string(),
  v.check(
    (text) => text.length <= MAX_DEREGISTER_PATH_LENGTH && DEREGISTER_PATH.test(text),
    `expected an absolute path of letters, digits and "/-._~%", optionally "?" and a query of those and "=&" (at most ${MAX_DEREGISTER_PATH_LENGTH} characters)`,
  ),
);

/** Condition types are qualified names, as for labels: `[prefix/]name`. */
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export function isQualifiedName(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash === -1) return QUALIFIED_NAME_PART.test(text);
  return DNS_SUBDOMAIN.test(text.slice(0, slash)) && QUALIFIED_NAME_PART.test(text.slice(slash + 1));
}
export const qualifiedName = v.pipe(v.string(), v.check(isQualifiedName, 'expected a qualified name such as nacos.io/registered'));

/** Nacos names (service, group, namespace id, cluster): letters, digits and `-._:`. */
export const nacosName = (what: string, max: number) =>
  v.pipe(v.string(), v.regex(new RegExp(`^[A-Za-z0-9\\-._:]{1,${max}}$`), `expected a Nacos ${what}: 1 to ${max} letters, digits and "-._:"`));

/** A non-empty JSON array of non-empty strings (the argv of an exec handler). */
export const command = v.pipe(
  v.array(v.pipe(v.string(), v.minLength(1)), 'expected a non-empty array of non-empty strings'),
  v.minLength(1, 'expected a non-empty array of non-empty strings'),
);

/** `path: message` for one valibot issue (`probes.readiness.path: expected …`). */
export function issueText(issue: v.BaseIssue<unknown>, separator = ': '): string {
  const path = v.getDotPath(issue);
  return path ? `${path}${separator}${issue.message}` : issue.message;
}

/**
 * An object with only the given keys, like `v.strictObject`, but every unknown key is reported
 * (`__proto__` included: the library stops at the first unknown key), each under its own path,
 * with the keys that are accepted. The output holds the known keys only.
 */
export function closedObject<const E extends v.ObjectEntries>(entries: E): v.ObjectSchema<E, undefined> {
  const schema = v.object(entries);
  const known = Object.keys(entries).join(', ');
  return {
    ...schema,
    '~run'(dataset, config) {
      const input = dataset.value;
      const result = schema['~run'](dataset, config);
      if (!isRecord(input)) return result;
      for (const key of Object.keys(input)) {
        if (Object.hasOwn(entries, key)) continue;
        const issue: v.ObjectIssue = {
          kind: 'schema',
          type: 'object',
          input: input[key],
          expected: '"never"',
          received: JSON.stringify(key),
          message: `unknown key; expected one of ${known}`,
          path: [{ type: 'object', origin: 'key', input, key, value: input[key] }],
        };
        result.typed = false;
        result.issues = result.issues ? [...result.issues, issue] : [issue];
        if (config.abortEarly) break;
      }
      return result;
    },
  };
}
