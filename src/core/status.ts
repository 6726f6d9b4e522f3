import { STATUS_ANNOTATION } from './annotation-keys.js';
import { isRecord } from './json.js';

export { STATUS_ANNOTATION };

/** What the webhook added to a pod, kept in the `probe-injector.io/status` annotation. */
export interface InjectionStatus {
  /** Container name → the fields added to it (`startupProbe`, …, `preStop`), in that order. */
  readonly containers: ReadonlyMap<string, readonly string[]>;
  readonly readinessGates: readonly string[];
  /** Label keys added (the Nacos gate's). */
  readonly labels: readonly string[];
  readonly terminationGracePeriodSeconds?: number | undefined;
}

/** Reads the status annotation. Anything unreadable counts as no status: it is never an error. */
export function readStatus(value: string | undefined): InjectionStatus | undefined {
  if (value === undefined || value.length > 64 * 1024) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !isRecord(parsed['containers'])) return undefined;
  const containers = new Map<string, string[]>();
  for (const [name, items] of Object.entries(parsed['containers'])) {
    if (Array.isArray(items)) containers.set(name, items.filter((item): item is string => typeof item === 'string'));
  }
  const grace = parsed['terminationGracePeriodSeconds'];
  return {
    containers,
    readinessGates: strings(parsed['readinessGates']),
    labels: strings(parsed['labels']),
    terminationGracePeriodSeconds: typeof grace === 'number' ? grace : undefined,
  };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Adds what was just injected to what an earlier invocation recorded. */
export function mergeStatus(previous: InjectionStatus | undefined, added: InjectionStatus): InjectionStatus {
  if (previous === undefined) return added;
  const containers = new Map(previous.containers);
  for (const [name, items] of added.containers) {
    containers.set(name, [...new Set([...(containers.get(name) ?? []), ...items])]);
  }
  return {
    containers,
    readinessGates: [...new Set([...previous.readinessGates, ...added.readinessGates])],
    labels: [...new Set([...previous.labels, ...added.labels])],
    terminationGracePeriodSeconds: added.terminationGracePeriodSeconds ?? previous.terminationGracePeriodSeconds,
  };
}

/** Compact JSON, keys in a fixed order. `Object.fromEntries` keeps a container named `__proto__` an own key. */
export function formatStatus(status: InjectionStatus): string {
  return JSON.stringify({
    containers: Object.fromEntries(status.containers),
    ...(status.readinessGates.length > 0 && { readinessGates: status.readinessGates }),
    ...(status.labels.length > 0 && { labels: status.labels }),
    ...(status.terminationGracePeriodSeconds !== undefined && {
      terminationGracePeriodSeconds: status.terminationGracePeriodSeconds,
    }),
  });
}
