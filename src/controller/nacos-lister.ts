/**
 * What the controller needs from a Nacos client: the instance list of one service. The real client
 * (`src/nacos/`) validates Nacos's answer at its edge and throws on any failure (unreachable,
 * timeout, 5xx on every address, a malformed or hostile answer).
 */
import type { NacosInstance as ClientInstance } from '../nacos/index.js';

/** The Nacos service a pod registers as: the key of one instance-list call. */
export interface NacosServiceRef {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
}

/** One host of Nacos's instance list, as the client validated it (what the controller reads of it). */
export type NacosInstance = Pick<ClientInstance, 'ip' | 'port' | 'healthy' | 'enabled' | 'weight' | 'clusterName'>;

/** One instance-list call: the service, and the clusters to ask for (absent: Nacos's default). */
export interface NacosListRequest extends NacosServiceRef {
  readonly clusters?: readonly string[] | undefined;
}

/** `NacosClient` of src/nacos is one. */
export interface NacosLister {
  listInstances(request: NacosListRequest): Promise<readonly NacosInstance[]>;
}

/** One string per Nacos service, for maps (the parts cannot contain NUL). */
export function serviceKey(ref: NacosServiceRef): string {
  return `${ref.namespace}\u0000${ref.group}\u0000${ref.service}`;
}

/** `orders@DEFAULT_GROUP` (`orders@DEFAULT_GROUP in namespace dev` outside `public`). */
export function serviceName(ref: NacosServiceRef): string {
  return `${ref.service}@${ref.group}${ref.namespace === 'public' || ref.namespace === '' ? '' : ` in namespace ${ref.namespace}`}`;
}
