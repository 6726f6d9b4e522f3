import { PREFIX } from './annotation-keys.js';

/** One thing wrong with a pod's annotations, named by the annotation it came from. */
export interface Problem {
  /** Annotation key without the prefix, e.g. `readiness-period-seconds`, or a full foreign key. */
  readonly key: string;
  /** The value given, when there was one. */
  readonly value?: string | undefined;
  /** What is wrong and what is accepted. */
  readonly message: string;
}

const VALUE_LIMIT = 60;

/**
 * JSON-escapes a value and cuts it to about 60 characters, so it can never break a line or a log
 * (U+2028 and U+2029, which JSON leaves alone, are escaped too).
 */
export function quoteValue(value: string): string {
  const quoted = (text: string) => JSON.stringify(text).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  if (value.length <= VALUE_LIMIT) return quoted(value);
  return `${quoted(value.slice(0, VALUE_LIMIT))}… (${value.length} characters)`;
}

export function fullKey(key: string): string {
  return key.includes('/') ? key : PREFIX + key;
}

export function formatProblem(problem: Problem): string {
  const value = problem.value === undefined ? '' : `=${quoteValue(problem.value)}`;
  return `${fullKey(problem.key)}${value}: ${problem.message}`;
}

/** More than this many problems is not a set of typos but a broken generator: the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50;

/**
 * The denial message: starts with `probe-injector:` and lists every problem on one line — up to
 * 50 of them, then how many more, so a pod with thousands of bad keys gets a bounded answer.
 */
export function formatDenial(problems: readonly Problem[]): string {
  const noun = problems.length === 1 ? 'problem' : 'problems';
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map(formatProblem);
  if (problems.length > MAX_LISTED_PROBLEMS) listed.push(`… and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  return `probe-injector: ${problems.length} ${noun} with the pod's annotations: ${listed.join('; ')}`;
}
