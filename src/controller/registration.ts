import { canonicalIp } from './ip-address.js';
import type { NacosInstance } from './nacos-lister.js';

/**
 * The match rule of SPEC §8: is the pod's instance in Nacos's answer, and usable? A host counts
 * when its `ip` is one of the pod's IPs, its `port` is the resolved port (and its `clusterName`
 * the cluster, when one is set), with `healthy` and `enabled` true and `weight` above 0.
 */

/** Where the pod's instance stands in Nacos; the reasons of the condition it leads to. */
export const REGISTRATION = {
  registered: 'registered',
  notFound: 'notFound',
  unhealthy: 'unhealthy',
  disabled: 'disabled',
} as const;
export type RegistrationState = (typeof REGISTRATION)[keyof typeof REGISTRATION];

/** What the pod is looked up as: its IPs, the resolved Nacos port, and the cluster if one is set. */
export interface InstanceTarget {
  readonly ips: readonly string[];
  readonly port: number;
  readonly cluster?: string | undefined;
}

export interface Registration {
  readonly state: RegistrationState;
  /** The host that decided it (the usable one, else the closest one found). */
  readonly host?: NacosInstance | undefined;
  /** For `notFound`: hosts on one of the pod's IPs that did not match, and why (another port, another cluster). */
  readonly near?: string | undefined;
}

export function findRegistration(hosts: readonly NacosInstance[], target: InstanceTarget): Registration {
  const ips = new Set(target.ips.map(canonicalIp));
  const onPodIp = hosts.filter((host) => ips.has(canonicalIp(host.ip)));
  const matching = onPodIp.filter((host) => host.port === target.port && (target.cluster === undefined || host.clusterName === target.cluster));
  const usable = matching.find((host) => host.healthy && host.enabled && host.weight > 0);
  if (usable) return { state: REGISTRATION.registered, host: usable };
  // A disabled instance (an operator's or the app's own decision, e.g. Spring's serviceregistry
  // endpoint set to DOWN) says more than an unhealthy one: report it first.
  const disabled = matching.find((host) => !host.enabled || !(host.weight > 0));
  if (disabled) return { state: REGISTRATION.disabled, host: disabled };
  const unhealthy = matching[0];
  if (unhealthy) return { state: REGISTRATION.unhealthy, host: unhealthy };
  return { state: REGISTRATION.notFound, near: nearMisses(onPodIp, target) };
}

/** `10.0.0.5:9090 in cluster B` for the hosts on a pod IP that did not match: the usual mistake. */
function nearMisses(onPodIp: readonly NacosInstance[], target: InstanceTarget): string | undefined {
  if (onPodIp.length === 0) return undefined;
  const shown = onPodIp.slice(0, 3).map((host) => `${host.ip}:${host.port}${target.cluster !== undefined ? ` in cluster ${host.clusterName}` : ''}`);
  return `${shown.join(', ')}${onPodIp.length > 3 ? ` and ${onPodIp.length - 3} more` : ''}`;
}
