import * as v from 'valibot';
import { describeIssues, parseJson, quote, type Redact } from './answer.js';
import { NacosError } from './nacos-error.js';

/**
 * Nacos's answer to an instance list, validated and reduced to what the gate needs. The fields are
 * those of `com.alibaba.nacos.api.naming.pojo.Instance` as the Open API documents them:
 * - v1: `GET {ctx}/v1/ns/instance/list` answers a `ServiceInfo` object `{name, groupName, clusters,
 *   cacheMillis, hosts: [...], lastRefTime, checksum, reachProtectionThreshold, ...}`
 *   (https://nacos.io/docs/v2/guide/user/open-api/, "查询实例列表" / "Query instance list"); a service
 *   that does not exist answers `hosts: []` (Nacos 1.1 and later; 1.0 answers a 404, see
 *   `isServiceNotFound`).
 * - v3: `GET {ctx}/v3/client/ns/instance/list` answers `{code: 0, message: "success", data: [...]}`
 *   (https://nacos.io/docs/latest/manual/user/open-api/, "服务发现" / instance list); a service that
 *   does not exist answers `data: []`; a non-zero `code` is a refusal.
 * Both lists leave out disabled instances (Nacos filters `enabled: false` before answering).
 */

export interface NacosInstance {
  readonly ip: string;
  readonly port: number;
  /**
   * As Nacos reports it — except that when a v1 answer says `reachProtectionThreshold: true`
   * (Nacos then reports every instance healthy, whatever its real state) every instance is
   * `false`: that answer cannot tell a healthy instance from an unhealthy one.
   */
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly weight: number;
  readonly clusterName: string;
  readonly ephemeral?: boolean | undefined;
}

export interface NacosServiceName {
  /** `public` and `''` are the same namespace in Nacos. */
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
}

export type NacosApiVersion = 'v1' | 'v3';

const HostSchema = v.object({
  // An address as Nacos stores it: an IPv4/IPv6 literal or a host name.
  ip: v.pipe(v.string(), v.minLength(1), v.maxLength(253)),
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)),
  healthy: v.boolean(),
  enabled: v.boolean(),
  // Nacos accepts weights from 0 to 10000 (Constants.MIN_WEIGHT_VALUE / MAX_WEIGHT_VALUE).
  weight: v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(10000)),
  clusterName: v.pipe(v.string(), v.maxLength(1024)),
  ephemeral: v.optional(v.boolean()),
  serviceName: v.optional(v.string()),
});
type Host = v.InferOutput<typeof HostSchema>;

const V1Schema = v.object({
  name: v.optional(v.string()),
  hosts: v.array(HostSchema),
  reachProtectionThreshold: v.optional(v.boolean()),
});

const EnvelopeSchema = v.object({
  code: v.pipe(v.number(), v.integer()),
  message: v.optional(v.nullable(v.string())),
  data: v.unknown(),
});

const V3DataSchema = v.array(HostSchema);

/** `group@@service`, or the bare service name that older servers (and non-Java clients) see. */
function isSameService(name: string, service: NacosServiceName): boolean {
  return name === `${service.group}@@${service.service}` || name === service.service;
}

function instancesOf(hosts: readonly Host[], service: NacosServiceName, protectedHealth: boolean, redact: Redact | undefined): NacosInstance[] {
  return hosts.map((host, index) => {
    if (host.serviceName !== undefined && !isSameService(host.serviceName, service)) {
      throw new NacosError('malformed', `the instance list of ${service.group}@@${service.service} holds hosts.${index} of service ${quote(host.serviceName, redact)}`);
    }
    const instance: NacosInstance = {
      ip: host.ip,
      port: host.port,
      healthy: protectedHealth ? false : host.healthy,
      enabled: host.enabled,
      weight: host.weight,
      clusterName: host.clusterName,
      ...(host.ephemeral === undefined ? {} : { ephemeral: host.ephemeral }),
    };
    return instance;
  });
}

/**
 * Nacos 1.0.x answers a v1 list of a service that does not exist with HTTP 404 and the text
 * `service not found: group@@service` (`InstanceController.doSrvIPXT` before 1.1.0, where it became
 * an empty list). Such an answer is an empty list; any other 404 (a wrong context path) is not.
 */
export function isServiceNotFound(text: string, service: NacosServiceName): boolean {
  const match = /^service not found: (.*)$/.exec(text.trim());
  return match !== null && isSameService(match[1]!.trim(), service);
}

/**
 * Reads an instance-list answer (the body of a 2xx). Throws `NacosError` `malformed` for anything
 * Nacos would not send and `rejected` for a v3 envelope with a non-zero code; never returns an
 * instance that is not in the body.
 */
export function parseInstanceList(apiVersion: NacosApiVersion, text: string, service: NacosServiceName, option: { readonly redact?: Redact } = {}): NacosInstance[] {
  const what = `the instance list of ${service.group}@@${service.service}`;
  const { redact } = option;
  const json = parseJson(text, what, { redact });
  if (apiVersion === 'v1') {
    const result = v.safeParse(V1Schema, json);
    if (!result.success) throw new NacosError('malformed', `${what} is not a Nacos v1 answer: ${describeIssues(result.issues, { redact })}`);
    const { name, hosts, reachProtectionThreshold } = result.output;
    if (name !== undefined && !isSameService(name, service)) throw new NacosError('malformed', `${what} came back for service ${quote(name, redact)}`);
    return instancesOf(hosts, service, reachProtectionThreshold === true, redact);
  }
  const envelope = v.safeParse(EnvelopeSchema, json);
  if (!envelope.success) throw new NacosError('malformed', `${what} is not a Nacos v3 envelope: ${describeIssues(envelope.issues, { redact })}`);
  const { code, message, data } = envelope.output;
  if (code !== 0) throw new NacosError('rejected', `Nacos refused ${what}: code ${code}, ${quote(message ?? '', redact)}, ${quote(data, redact)}`);
  const hosts = v.safeParse(V3DataSchema, data);
  if (!hosts.success) throw new NacosError('malformed', `${what} is not a Nacos v3 answer: data.${describeIssues(hosts.issues, { redact })}`);
  return instancesOf(hosts.output, service, false, redact);
}
