import { DEFAULT_CONTAINER_ANNOTATION } from './annotation-keys.js';
import type { Pod } from './pod.js';
import { quoteValue, type Problem } from './problem.js';
import type { InjectionStatus } from './status.js';

export interface Targets {
  /** Indexes into `spec.containers`. */
  readonly indexes: readonly number[];
  readonly warnings: readonly string[];
}

/**
 * Which containers get probes and the hook (SPEC §2): on reinvocation the ones the status names;
 * else the `containers` annotation; else `kubectl.kubernetes.io/default-container`; else the first.
 * Init and ephemeral containers are never targets.
 */
export function selectTargets(pod: Pod, requested: readonly string[] | undefined, status: InjectionStatus | undefined): Targets | Problem {
  const containers = pod.spec.containers;
  const indexOf = new Map<string, number>();
  containers.forEach((container, index) => {
    if (!indexOf.has(container.name)) indexOf.set(container.name, index);
  });

  const recorded = [...(status?.containers.keys() ?? [])].flatMap((name) => indexOf.get(name) ?? []);
  if (recorded.length > 0) return { indexes: recorded, warnings: [] };

  if (requested !== undefined) {
    const unknown = requested.filter((name) => !indexOf.has(name));
    if (unknown.length > 0) {
      return {
        key: 'containers',
        value: requested.join(','),
        message: `names no container of the pod (${unknown.slice(0, 20).map(quoteValue).join(', ')}); expected a comma-separated list of: ${[...indexOf.keys()].slice(0, 20).map(quoteValue).join(', ') || '(the pod has no containers)'}`,
      };
    }
    return { indexes: requested.map((name) => indexOf.get(name) as number), warnings: [] };
  }

  if (containers.length === 0) return { indexes: [], warnings: [] };
  const preferred = pod.metadata?.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (preferred !== undefined) {
    const index = indexOf.get(preferred);
    if (index !== undefined) return { indexes: [index], warnings: [] };
    return {
      indexes: [0],
      // Said on the first invocation; a reinvocation (status present) stays silent.
      warnings: status !== undefined ? [] : [
        `probe-injector: ${DEFAULT_CONTAINER_ANNOTATION} ${quoteValue(preferred)} names no container; injecting into ${quoteValue(containers[0]?.name ?? '')}`,
      ],
    };
  }
  return { indexes: [0], warnings: [] };
}
