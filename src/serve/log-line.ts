/**
 * The bounds of one log line. Pod fields (a 1 MiB `generateName`), parser messages and problem
 * lists can be any size and contain any character; a log line is at most `LOG_LIMITS.lineBytes`
 * and never carries a character that a terminal showing `kubectl logs` would act on. Pure.
 */

export const LOG_LIMITS = {
  /** A whole line, newline included. */
  lineBytes: 4096,
  /** A field that comes from a request (uid, namespace, pod name): Kubernetes names are at most 253. */
  fieldChars: 253,
  /** Items kept of an array when a line is too long. */
  arrayItems: 10,
} as const;

/**
 * Characters that JSON leaves raw but terminals or editors act on: DEL and the C1 controls (0x9B
 * is a CSI), the line and paragraph separators, and the bidirectional overrides. (JSON already
 * escapes the C0 controls.)
 */
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * A request field for a log line: cut to `limit` characters (saying how long it was). Escaping
 * happens on the whole line (`boundLogLine`); JSON serialisation handles quotes and C0 controls.
 */
export function logText(value: string | undefined, limit: number = LOG_LIMITS.fieldChars): string | undefined {
  if (value === undefined || value.length <= limit) return value;
  return `${value.slice(0, limit)}… (${value.length} characters)`;
}

/**
 * A serialised JSON log line (ending in a newline) within `limitBytes`, with every unsafe
 * character escaped. Lines within the bound pass with one length check and one regex test; a longer
 * one is re-serialised with its strings and arrays cut, and if that is still too long, reduced to
 * its level, time and message with `truncated: true`.
 */
export function boundLogLine(line: string, limitBytes: number = LOG_LIMITS.lineBytes): string {
  if (line.length * 3 > limitBytes && Buffer.byteLength(line) > limitBytes) line = shrink(line, limitBytes);
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(line) ? line.replace(UNSAFE, escapeChar) : line;
}

function shrink(line: string, limitBytes: number): string {
  const bytes = Buffer.byteLength(line);
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return `${JSON.stringify({ msg: 'unparseable log line left out', truncated: true, bytes })}\n`;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return `${JSON.stringify({ msg: 'log line left out', truncated: true, bytes })}\n`;
  const cut = `${JSON.stringify({ ...(cutValue(record, 0) as object), truncated: true, bytes })}\n`;
  if (Buffer.byteLength(cut) <= limitBytes) return cut;
  const { level, time, msg } = record as Record<string, unknown>;
  return `${JSON.stringify({ level, time, msg: typeof msg === 'string' ? logText(msg, 200) : undefined, truncated: true, bytes })}\n`;
}

function cutValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return logText(value, LOG_LIMITS.fieldChars);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= 4) return '[nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, LOG_LIMITS.arrayItems).map((item) => cutValue(item, depth + 1));
    return value.length > kept.length ? [...kept, `… (${value.length - kept.length} more)`] : kept;
  }
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) result[logText(key, 64) ?? key] = cutValue(item, depth + 1);
  return result;
}
