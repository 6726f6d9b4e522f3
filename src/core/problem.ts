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

/** JSON-escapes a value and cuts it to about 60 characters, so it can never break a line or a log. */
export function quoteValue(value: string): string {
  if (value.length <= VALUE_LIMIT) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, VALUE_LIMIT))}… (${value.length} characters)`;
}

export function fullKey(key: string): string {
  return key.includes('/') ? key : PREFIX + key;
}

export function formatProblem(problem: Problem): string {
  const value = problem.value === undefined ? '' : `=${quoteValue(problem.value)}`;
  return `${fullKey(problem.key)}${value}: ${problem.message}`;
}

/** The denial message: starts with `probe-injector:` and lists every problem on one line. */
export function formatDenial(problems: readonly Problem[]): string {
  const noun = problems.length === 1 ? 'problem' : 'problems';
  return `probe-injector: ${problems.length} ${noun} with the pod's annotations: ${problems.map(formatProblem).join('; ')}`;
}
