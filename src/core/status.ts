import { PREFIX } from './annotation-keys.js';

export const STATUS_ANNOTATION = `${PREFIX}status`;

/** What the webhook added to a pod, kept in the `probe-injector.io/status` annotation. */
export interface InjectionStatus {
  /** Container name → the fields added to it (`startupProbe`, …, `preStop`), in that order. */
  readonly containers: ReadonlyMap<string, readonly string[]>;
  readonly readinessGates: readonly string[];
  readonly terminationGracePeriodSeconds?: number | undefined;
}

/** Reads the status annotation. Anything unreadable counts as no status: it is never an error. */
export function readStatus(value: string | undefined): InjectionStatus | undefined {
  if (value === undefined) return undefined;
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
  const gates = parsed['readinessGates'];
  const grace = parsed['terminationGracePeriodSeconds'];
  return {
    containers,
    readinessGates: Array.isArray(gates) ? gates.filter((gate): gate is string => typeof gate === 'string') : [],
    terminationGracePeriodSeconds: typeof grace === 'number' ? grace : undefined,
  };
}

/** Adds what was just injected to what an earlier invocation recorded. */
export function mergeStatus(previous: InjectionStatus, added: InjectionStatus): InjectionStatus {
  const containers = new Map(previous.containers);
  for (const [name, items] of added.containers) {
    containers.set(name, [...new Set([...(containers.get(name) ?? []), ...items])]);
  }
  return {
    containers,
    readinessGates: [...new Set([...previous.readinessGates, ...added.readinessGates])],
    terminationGracePeriodSeconds: added.terminationGracePeriodSeconds ?? previous.terminationGracePeriodSeconds,
  };
}

/** Compact JSON, keys in a fixed order. `Object.fromEntries` keeps a container named `__proto__` an own key. */
export function formatStatus(status: InjectionStatus): string {
  return JSON.stringify({
    containers: Object.fromEntries(status.containers),
    ...(status.readinessGates.length > 0 && { readinessGates: status.readinessGates }),
    ...(status.terminationGracePeriodSeconds !== undefined && {
      terminationGracePeriodSeconds: status.terminationGracePeriodSeconds,
    }),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
