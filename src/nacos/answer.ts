import * as v from 'valibot';
import { NacosError } from './nacos-error.js';

/**
 * Shared by the parsers of Nacos's answers: JSON text to a value, and valibot issues to a short
 * message that quotes at most a few dozen characters of what the server sent.
 */

const QUOTE_LIMIT = 60;

/** Removes secrets (a password, a token) from a text before it is quoted. */
export type Redact = (text: string) => string;
const keep: Redact = (text) => text;

/** `"…"`: JSON-escaped, redacted, then cut, so that a hostile answer cannot flood a log line. */
export function quote(value: unknown, redact: Redact = keep): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  text = redact(text);
  return text.length > QUOTE_LIMIT ? `${text.slice(0, QUOTE_LIMIT)}…` : text;
}

/** `quoteInput: false` for answers that may hold a secret (a login): the message then says only where it failed. */
export interface QuoteOption {
  readonly quoteInput?: boolean;
  readonly redact?: Redact | undefined;
}

export function parseJson(text: string, what: string, option: QuoteOption = {}): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not chained as a cause: JSON.parse's message quotes the text.
    throw new NacosError('malformed', `${what} is not JSON${option.quoteInput === false ? '' : `: ${quote(text, option.redact)}`}`);
  }
}

/** The first problem valibot found, as `path: expected X, got Y`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[], option: QuoteOption = {}): string {
  const issue = issues[0];
  if (issue === undefined) return 'unexpected shape';
  const path = v.getDotPath(issue) ?? '(top level)';
  const expected = issue.expected ?? issue.kind;
  const got = option.quoteInput === false ? '' : `, got ${quote(issue.input, option.redact)}`;
  return `${path}: expected ${expected}${got}${issues.length > 1 ? ` (and ${issues.length - 1} more problems)` : ''}`;
}
