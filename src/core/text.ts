/**
 * Text that came from a pod or a manifest, made safe to put in a message: JSON-escaped (so no
 * control character, ESC, quote or line break survives; DEL, the C1 controls and U+2028/U+2029,
 * which JSON leaves alone, are escaped too) and cut to a bound, with the original length said.
 */

export const VALUE_LIMIT = 60;
export const KEY_LIMIT = 100;

/** What JSON leaves raw but a terminal or a log must not get: DEL, the C1 controls, U+2028/U+2029. */
const UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;

/** `"value"`, escaped and cut to about `limit` characters. */
export function quote(value: string, limit = VALUE_LIMIT): string {
  const escaped = (text: string) => JSON.stringify(text).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (value.length <= limit) return escaped(value);
  return `${escaped(value.slice(0, limit))}… (${value.length} characters)`;
}

/** Like `quote`, without the surrounding quotes when the text is plain (keys, names). */
export function plain(value: string, limit = KEY_LIMIT): string {
  if (value.length <= limit && /^[\w./:@~-]*$/.test(value)) return value;
  return quote(value, limit);
}

/** A message cut to `limit` characters (at most), saying how much was left out. */
export function bounded(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const note = `… (${text.length - limit} more characters)`;
  return text.slice(0, Math.max(0, limit - note.length)) + note;
}
