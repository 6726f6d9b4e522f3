/**
 * Text from a manifest, made safe for a terminal. A manifest is input from anyone (a pull request,
 * a chart from the internet): its names, kinds and annotation keys or values must never reach a
 * terminal raw, where an ESC starts an escape sequence, a carriage return rewrites the line, a
 * U+2028 or a bidirectional override hides what follows, and a 1 MiB key floods the screen.
 * Pure functions.
 */

/**
 * What is never written raw: C0 controls (tab, CR and LF included: messages are single lines),
 * DEL, C1 controls, the Unicode line and paragraph separators, bidirectional embeddings, overrides
 * and isolates, the byte-order mark, noncharacters U+FFFE/U+FFFF and lone surrogates.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A manifest's text in a message: about this many characters, then `…`. */
const TEXT_LIMIT = 80;

/** No single line we print is longer than this (a last bound for whatever a message carries). */
export const LINE_LIMIT = 4096;

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Every unsafe character as a `\u001b`-style escape; everything else unchanged. */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** The first `limit` characters (never half a surrogate pair), then `…` and the full length. */
export function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/**
 * A name, kind or key for a message: as it is when it is a plain word (`orders`, `apps/v1`,
 * `probe-injector.io/inject`), else JSON-quoted; escaped and cut either way.
 */
export function showText(text: string, limit = TEXT_LIMIT): string {
  if (text.length > 0 && text.length <= limit && /^[\w./:@~+-]+$/.test(text)) return text;
  return `"${escapeUnsafe(cut(text, limit).replace(/["\\]/g, (char) => `\\${char}`))}"`;
}

/** One line for the terminal: whatever unsafe character is left is escaped, and the line is bounded. */
export function terminalLine(line: string): string {
  return cut(escapeUnsafe(line), LINE_LIMIT);
}

/** Text made of lines for the terminal: each line made safe, each ending in `\n`. */
export function terminalLines(lines: readonly string[]): string {
  return lines.map((line) => `${terminalLine(line)}\n`).join('');
}
