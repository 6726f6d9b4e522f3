/**
 * How the core says "a value or problems". Every stage takes a `Problems` collector, adds what it
 * finds wrong and returns the best value it can still produce, so that the later stages still run
 * and one denial lists every problem at once. A stage that returns `undefined` could produce
 * nothing; its reasons are in the collector. `attempt` turns that into a `Result` for a shell.
 */

/** Where a problem comes from: an annotation's value, the pod's spec, or a size bound. */
export const ORIGINS = ['annotation', 'pod', 'bound'] as const;
export type Origin = (typeof ORIGINS)[number];

/** One thing wrong with a pod, named by the annotation it is reported under. */
export interface Problem {
  /** Annotation key without the prefix (`readiness-period-seconds`), or a full key of another prefix. */
  readonly key: string;
  /** The value given, when there was one. */
  readonly value?: string | undefined;
  /** What is wrong and what is accepted. */
  readonly message: string;
  readonly origin: Origin;
}

export type Problems = Problem[];

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

/** Runs a stage with a fresh collector: its value when it found no problem, else its problems. */
export function attempt<T>(stage: (problems: Problems) => T | undefined): Result<T> {
  const problems: Problems = [];
  const value = stage(problems);
  if (problems.length > 0 || value === undefined) return { ok: false, problems: dedupe(problems) };
  return { ok: true, value };
}

export function annotationProblem(key: string, value: string | undefined, message: string): Problem {
  return { key, value, message, origin: 'annotation' };
}

export function podProblem(key: string, message: string, value?: string): Problem {
  return { key, value, message, origin: 'pod' };
}

/** The same problem found twice (one per target container, say) is said once. */
export function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const id = `${problem.key}\u0000${problem.value ?? ''}\u0000${problem.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
