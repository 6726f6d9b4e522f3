import { DEFAULT_CONTAINER_ANNOTATION, PREFIX } from './core/annotation-keys.js';
import { BOUNDS } from './core/bounds.js';
import type { Problem } from './core/problems.js';
import { bounded, plain, quote } from './core/text.js';
import type { Warning } from './core/warnings.js';

/**
 * The words: how problems and warnings are said to people, once, for every edge that speaks (the
 * admission response, `mutate`, `check`, the logs). The core hands over data; only here does it
 * become text, escaped and cut so that nothing from a pod reaches a terminal or a log raw.
 */

export const SPEAKER = 'probe-injector: ';

/** `probe-injector.io/port`, or a foreign key as given (escaped and cut). */
export function fullKey(key: string): string {
  return plain(key.includes('/') ? key : PREFIX + key);
}

/** `probe-injector.io/readiness-period-seconds="0": expected a decimal integer >= 1`. */
export function formatProblem(problem: Problem): string {
  if (problem.key === '') return problem.message;
  const value = problem.value === undefined ? '' : `=${quote(problem.value)}`;
  return `${fullKey(problem.key)}${value}: ${problem.message}`;
}

/**
 * The denial message: starts with `probe-injector:` and lists every problem on one line — up to
 * `BOUNDS.listedProblems` of them, then how many more — within `BOUNDS.denialLength` characters.
 * `where` names the pod template a workload denial is about (`spec.template`).
 */
export function formatDenial(problems: readonly Problem[], where?: string): string {
  const noun = problems.length === 1 ? 'problem' : 'problems';
  const subject = problems.every((problem) => problem.origin === 'annotation') ? "the pod's annotations" : 'the pod';
  const listed = problems.slice(0, BOUNDS.listedProblems).map(formatProblem);
  if (problems.length > BOUNDS.listedProblems) listed.push(`… and ${problems.length - BOUNDS.listedProblems} more`);
  const place = where === undefined ? '' : ` (in ${where})`;
  return bounded(`${SPEAKER}${problems.length} ${noun} with ${subject}${place}: ${listed.join('; ')}`, BOUNDS.denialLength);
}

function containers(names: readonly string[]): string {
  const listed = names.slice(0, 5).map((name) => quote(name));
  const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
  return `${names.length === 1 ? 'container' : 'containers'} ${listed.join(', ')}${more}`;
}

/** One warning, without the prefix. */
export function formatWarning(warning: Warning): string {
  switch (warning.kind) {
    case 'kept':
      return `container ${quote(warning.container)} already has ${warning.item === 'preStop' ? 'a preStop hook' : `a ${warning.item}`}; kept it and ignored ${fullKey(warning.key)}`;
    case 'grace-raised': {
      const call = warning.callSeconds > 0 ? `${warning.callSeconds}s call + ` : '';
      return `raised terminationGracePeriodSeconds from ${warning.from} to ${warning.to} (preStop: ${call}${warning.sleepSeconds}s wait, then ${warning.shutdownSeconds}s shutdown)`;
    }
    case 'default-container-missing':
      return `${DEFAULT_CONTAINER_ANNOTATION} ${quote(warning.name)} names no container; injecting into ${quote(warning.fallback)}`;
    case 'no-port':
      return `injectByDefault: ${containers(warning.containers)} ${warning.containers.length === 1 ? 'declares' : 'declare'} no port to probe, so no port-based probe was added (set ${PREFIX}port, or opt out with ${PREFIX}inject: "false")`;
    case 'unknown-key': {
      const hint = warning.suggestions.length > 0 ? `; did you mean ${warning.suggestions.join(' or ')}?` : '';
      return `unknown annotation ${fullKey(warning.key)}${hint} (the pod is not opted in: ${PREFIX}inject is not "true")`;
    }
    case 'problem':
      return formatProblem(warning.problem);
    case 'more':
      return `… and ${warning.count} more warnings`;
  }
}

/** The warnings of an admission response: prefixed, one line each, bounded in length. */
export function warningTexts(warnings: readonly Warning[]): string[] {
  return warnings.map((warning) => bounded(`${SPEAKER}${formatWarning(warning)}`, BOUNDS.warningLength));
}
