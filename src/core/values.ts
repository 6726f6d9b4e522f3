/**
 * Parsers for annotation values. Each returns the parsed value, or an `Invalid` that says what is
 * accepted. Nothing here trims or guesses: a value is accepted exactly as written or refused.
 */

export interface Invalid {
  readonly invalid: string;
}
export type Parsed<T> = T | Invalid;

export function isInvalid<T>(parsed: Parsed<T>): parsed is Invalid {
  return typeof parsed === 'object' && parsed !== null && Object.hasOwn(parsed, 'invalid');
}

const invalid = (accepted: string): Invalid => ({ invalid: accepted });

export const INT32_MAX = 2147483647;

export function parseBoolean(value: string): Parsed<boolean> {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return invalid('expected "true" or "false"');
}

export function parseInteger(value: string, min: number, max = INT32_MAX): Parsed<number> {
  const accepted = max === INT32_MAX ? `expected a decimal integer >= ${min}` : `expected a decimal integer from ${min} to ${max}`;
  if (!/^[0-9]{1,10}$/.test(value)) return invalid(accepted);
  const number = Number(value);
  return number >= min && number <= max ? number : invalid(accepted);
}

export function parseEnum<const T extends string>(value: string, allowed: readonly T[]): Parsed<T> {
  return (allowed as readonly string[]).includes(value)
    ? (value as T)
    : invalid(`expected one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
}

/** IANA_SVC_NAME, as Kubernetes validates container port names. */
const PORT_NAME = /^(?=.{1,15}$)(?=[^a-z]*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;

export function isPortName(value: string): boolean {
  return PORT_NAME.test(value);
}

/** A port number 1–65535 or a port name (whether the container declares it is checked later). */
export function parsePort(value: string): Parsed<number | string> {
  const accepted = 'expected a port number from 1 to 65535 or the name of a port the container declares';
  if (/^[0-9]+$/.test(value)) {
    const number = Number(value);
    return number >= 1 && number <= 65535 ? number : invalid(accepted);
  }
  return isPortName(value) ? value : invalid(accepted);
}

/**
 * A probe path: RFC 3986 path and query characters, minus the ones that only ever show up in
 * attacks or typos (quotes, `;`, `$`, `(`, `)`, `*`, `!`, back-quotes) — and no spaces or controls.
 */
const HTTP_PATH = /^\/[A-Za-z0-9\-._~%/?=&+,:@]*$/;
export const MAX_PATH_LENGTH = 1024;

export function isHttpPath(value: string): boolean {
  return value.length <= MAX_PATH_LENGTH && HTTP_PATH.test(value);
}

export function parseHttpPath(value: string): Parsed<string> {
  return isHttpPath(value)
    ? value
    : invalid(`expected an absolute HTTP path: "/" then letters, digits and "-._~%/?=&+,:@" (at most ${MAX_PATH_LENGTH} characters)`);
}

/**
 * The Nacos deregistration path goes into a shell command line (single-quoted), so it is held to
 * a narrower alphabet than probe paths: letters, digits and `/-._~%`, optionally `?` and a query.
 */
const DEREGISTER_PATH = /^\/[A-Za-z0-9/\-._~%]*(\?[A-Za-z0-9/\-._~%=&]*)?$/;
export const MAX_DEREGISTER_PATH_LENGTH = 512;

export function parseDeregisterPath(value: string): Parsed<string> {
  return value.length <= MAX_DEREGISTER_PATH_LENGTH && DEREGISTER_PATH.test(value)
    ? value
    : invalid(
        `expected an absolute path of letters, digits and "/-._~%", optionally "?" and a query of those and "=&" (at most ${MAX_DEREGISTER_PATH_LENGTH} characters)`,
      );
}

/** A comma-separated list, trimmed item by item; an empty item is an error. */
export function parseList(value: string, item: (item: string) => boolean, accepted: string): Parsed<string[]> {
  const items = value.split(',').map((entry) => entry.trim());
  if (items.some((entry) => entry === '' || !item(entry))) {
    return invalid(`expected a comma-separated list of ${accepted}, with no empty item`);
  }
  return [...new Set(items)];
}

/** Condition types are qualified names, as for labels: `[prefix/]name`. */
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isQualifiedName(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash === -1) return QUALIFIED_NAME_PART.test(value);
  return DNS_SUBDOMAIN.test(value.slice(0, slash)) && QUALIFIED_NAME_PART.test(value.slice(slash + 1));
}

/** A non-empty JSON array of non-empty strings (the argv of an exec handler). */
export function parseCommand(value: string): Parsed<string[]> {
  const accepted = 'expected a non-empty JSON array of non-empty strings, e.g. ["cat","/tmp/healthy"]';
  const parsed = parseJson(value);
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((arg) => typeof arg === 'string' && arg !== '')) {
    return invalid(accepted);
  }
  return parsed as string[];
}

const NOT_JSON = Symbol('not JSON');
export function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return NOT_JSON;
  }
}
export function isJson(parsed: unknown): boolean {
  return parsed !== NOT_JSON;
}
