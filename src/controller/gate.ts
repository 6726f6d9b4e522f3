import type { GateCondition } from './gated-pod.js';
import { printable } from './message-text.js';
import type { NacosInstance, NacosServiceRef } from './nacos-lister.js';
import { serviceName } from './nacos-lister.js';
import { findRegistration, REGISTRATION, type RegistrationState } from './registration.js';

/**
 * The functional core of the Nacos gate controller (SPEC §8): given a waiting pod, its Nacos
 * identity, the latest answer for its service, what was already said about it, the config and the
 * time, decide what to write and which events to emit. No I/O.
 */

/** The config the decision reads (`nacos.gate` of SPEC §5). */
export interface GateSettings {
  readonly conditionType: string;
  readonly pollSeconds: number;
  readonly warnAfterSeconds: number;
  /** 0: wait forever. */
  readonly timeoutSeconds: number;
  readonly onTimeout: 'wait' | 'ready';
}

/** The pod's Nacos identity as resolved by the core (service, group, namespace, cluster, port). */
export interface GateIdentity extends NacosServiceRef {
  readonly cluster?: string | undefined;
  readonly port: number;
}

export const REASONS = {
  registered: 'NacosRegistered',
  notFound: 'InstanceNotFound',
  unhealthy: 'InstanceUnhealthy',
  disabled: 'InstanceDisabled',
  unavailable: 'NacosUnavailable',
  timeout: 'NacosTimeout',
} as const;
export type GateReason = (typeof REASONS)[keyof typeof REASONS];

export const EVENT_REASONS = {
  registered: 'NacosRegistered',
  slow: 'NacosRegistrationSlow',
  timeout: 'NacosTimeout',
  unavailable: 'NacosUnavailable',
  identity: 'NacosIdentityUnresolved',
} as const;

export const EVENT_TYPES = { normal: 'Normal', warning: 'Warning' } as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export interface GateEvent {
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

/** Nacos's answer for the pod's service: the hosts, or why there are none. */
export type NacosAnswer =
  | { readonly ok: true; readonly hosts: readonly NacosInstance[]; readonly at: number }
  | { readonly ok: false; readonly error: string; readonly at: number };

/** What has been said about a pod so far (kept by the shell between decisions). */
export interface GateMemory {
  readonly slowWarned?: boolean | undefined;
  readonly timeoutWarned?: boolean | undefined;
  /** When the last Warning about a Nacos error was emitted for this pod. */
  readonly unavailableWarnedAt?: number | undefined;
}

/** A Warning about Nacos errors is repeated for the same pod at most this often. */
export const UNAVAILABLE_EVENT_INTERVAL_MS = 5 * 60_000;

export interface GateInput {
  /** The pod's IPs (canonical) and when ContainersReady became True (ms). */
  readonly ips: readonly string[];
  readonly readySince: number;
  /** Our condition as the pod has it now. */
  readonly current?: GateCondition | undefined;
  readonly identity: GateIdentity;
  readonly answer: NacosAnswer;
  readonly memory: GateMemory;
  readonly settings: GateSettings;
  readonly now: number;
}

export interface ConditionWrite {
  readonly status: 'True' | 'False';
  readonly reason: GateReason;
  readonly message: string;
  /** Kept when only the reason changes; `now` when the status changes. */
  readonly lastTransitionTime: number;
}

export interface GateDecision {
  /** The condition to write, if it must change. */
  readonly write?: ConditionWrite | undefined;
  readonly events: readonly GateEvent[];
  readonly memory: GateMemory;
  /** The gate is (or, after the write, will be) True: stop waiting. */
  readonly done: boolean;
  /** Seconds from ContainersReady to now. */
  readonly waitedSeconds: number;
}

const STATE_REASON: Record<Exclude<RegistrationState, 'registered'>, GateReason> = {
  [REGISTRATION.notFound]: REASONS.notFound,
  [REGISTRATION.unhealthy]: REASONS.unhealthy,
  [REGISTRATION.disabled]: REASONS.disabled,
};

export function decideGate(input: GateInput): GateDecision {
  const { identity, answer, memory, settings, now } = input;
  const waitedSeconds = Math.max(0, (now - input.readySince) / 1000);
  if (input.current?.status === 'True') return { events: [], memory, done: true, waitedSeconds };

  const target = { ips: input.ips, port: identity.port, cluster: identity.cluster };
  const who = serviceName(identity);
  const instance = `${who} ${addressOf(input.ips, identity.port)}${identity.cluster !== undefined ? ` (cluster ${printable(identity.cluster)})` : ''}`;
  let reason: GateReason;
  let message: string;
  const events: GateEvent[] = [];
  let nextMemory: GateMemory = memory;

  if (answer.ok) {
    const registration = findRegistration(answer.hosts, target);
    if (registration.state === REGISTRATION.registered) {
      const host = registration.host!;
      // SPEC §8's message: `<service>@<group> <ip>:<port> is healthy and enabled in Nacos`.
      const text = `${identity.service}@${identity.group} ${addressOf([printable(host.ip, 64)], host.port)} is healthy and enabled in Nacos`;
      return {
        write: { status: 'True', reason: REASONS.registered, message: text, lastTransitionTime: now },
        events: [{ type: EVENT_TYPES.normal, reason: EVENT_REASONS.registered, message: `${text} (after ${seconds(waitedSeconds)})` }],
        memory,
        done: true,
        waitedSeconds,
      };
    }
    reason = STATE_REASON[registration.state];
    message =
      registration.state === REGISTRATION.notFound
        ? `${instance} is not listed in Nacos${registration.near ? `; on the pod's IP it lists ${printable(registration.near, 200)}` : ''}`
        : registration.state === REGISTRATION.disabled
          ? `${instance} is in Nacos but disabled (enabled: ${registration.host!.enabled}, weight: ${registration.host!.weight})`
          : `${instance} is in Nacos but not healthy`;
  } else {
    reason = REASONS.unavailable;
    message = `cannot ask Nacos about ${instance}: ${printable(answer.error, 200)}`;
    if (memory.unavailableWarnedAt === undefined || now - memory.unavailableWarnedAt >= UNAVAILABLE_EVENT_INTERVAL_MS) {
      events.push({ type: EVENT_TYPES.warning, reason: EVENT_REASONS.unavailable, message });
      nextMemory = { ...nextMemory, unavailableWarnedAt: now };
    }
  }

  const timedOut = settings.timeoutSeconds > 0 && waitedSeconds >= settings.timeoutSeconds;
  if (timedOut && settings.onTimeout === 'ready') {
    const text = `not registered in Nacos after ${seconds(waitedSeconds)} (${reason}: ${message}); set True by nacos.gate.onTimeout: ready`;
    return {
      write: { status: 'True', reason: REASONS.timeout, message: text, lastTransitionTime: now },
      events: [...events, { type: EVENT_TYPES.warning, reason: EVENT_REASONS.timeout, message: text }],
      memory: nextMemory,
      done: true,
      waitedSeconds,
    };
  }
  if (timedOut && !memory.timeoutWarned) {
    events.push({
      type: EVENT_TYPES.warning,
      reason: EVENT_REASONS.timeout,
      message: `not registered in Nacos after ${seconds(waitedSeconds)} (${reason}: ${message}); still waiting (nacos.gate.onTimeout: wait)`,
    });
    nextMemory = { ...nextMemory, timeoutWarned: true };
  } else if (settings.warnAfterSeconds > 0 && waitedSeconds >= settings.warnAfterSeconds && !memory.slowWarned && !memory.timeoutWarned) {
    events.push({ type: EVENT_TYPES.warning, reason: EVENT_REASONS.slow, message: `not registered in Nacos after ${seconds(waitedSeconds)}: ${message}` });
    nextMemory = { ...nextMemory, slowWarned: true };
  }

  const current = input.current;
  const unchanged = current?.status === 'False' && current.reason === reason;
  return {
    write: unchanged
      ? undefined
      : { status: 'False', reason, message, lastTransitionTime: current?.status === 'False' && current.lastTransitionTime !== undefined ? current.lastTransitionTime : now },
    events,
    memory: nextMemory,
    done: false,
    waitedSeconds,
  };
}

/** `10.0.0.5:8080`, `[fd00::5]:8080`, or `{10.0.0.5, fd00::5}:8080` for a dual-stack pod. */
function addressOf(ips: readonly string[], port: number): string {
  const shown = ips.map((ip) => (ip.includes(':') ? `[${ip}]` : ip));
  return `${shown.length === 1 ? shown[0] : `{${shown.join(', ')}}`}:${port}`;
}

function seconds(value: number): string {
  return value < 10 ? `${value.toFixed(1)} s` : `${Math.round(value)} s`;
}
