/**
 * A test double of the Nacos naming HTTP API: the part a Nacos client (the official Node SDK
 * `nacos-naming`, and our controller's client) speaks. Written from Nacos's own documentation and
 * server code, not from our client:
 *
 * - Open API v1 (Nacos 1.x/2.x, still served by 3.x): https://nacos.io/docs/v2/guide/user/open-api/
 *   and `naming/.../controllers/InstanceController.java` (register, deregister, beat, list),
 *   `OperatorController.metrics`, `ServiceController.list`, `web/ServiceNameFilter.java` (the
 *   `groupName` parameter is folded into `serviceName` as `group@@service`).
 * - Client API v3 (Nacos 3.x): https://nacos.io/docs/latest/manual/user/open-api/ and
 *   `naming/.../controllers/v3/InstanceOpenApiController.java` (`{code, message, data}` envelope,
 *   `model/v2/Result.java`, `model/v2/ErrorCode.java`; `clusterName` defaults to `DEFAULT`).
 * - What a list answers: `InstanceOperatorClientImpl.listInstance` and
 *   `ServiceUtil.selectInstancesWithHealthyProtection`: disabled instances are never listed (both
 *   v1 and v3); clusters filter; a service that does not exist is an empty list, not an error; a
 *   service with metadata (created explicitly) whose healthy share is at or below its protect
 *   threshold reports every instance healthy (`reachProtectionThreshold: true` in v1).
 * - Heartbeats: `ClientBeatProcessorV2`, `UnhealthyInstanceChecker`, `ExpiredInstanceChecker`:
 *   an ephemeral instance turns unhealthy 15 s after its last beat and is removed after 30 s
 *   (metadata `preserved.heart.beat.timeout` / `preserved.ip.delete.timeout` override them); a
 *   beat carrying `beat` info for an unknown instance registers it again (v1); v3 answers 21003.
 * - Auth (default plugin): https://nacos.io/docs/latest/manual/user/auth/ and
 *   `UserController` (`POST /v1/auth/login`, `/v1/auth/users/login`), `UserControllerV3`
 *   (`POST /v3/auth/user/login`), `AbstractAuthenticationManager` (token from
 *   `Authorization: Bearer`, else the `accessToken` parameter, else `username`+`password`
 *   parameters), `AbstractWebAuthFilter` (403 on any failure). The login answer is the plain
 *   object `{accessToken, tokenTtl, globalAdmin, username}` in v1 and v3 alike.
 *
 * Not modelled: UDP push to subscribers (clients fall back to polling every `cacheMillis`), server
 * side health checks of persistent instances (their health is what the test sets), permissions
 * (every user may read and write), selectors, the console and admin APIs.
 *
 * Time is the injected `now()` (ms): heartbeat expiry and token TTL follow it, so tests move the
 * clock instead of waiting.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const DEFAULT_NAMESPACE = 'public';
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
export const DEFAULT_CLUSTER = 'DEFAULT';
/** Nacos defaults (api `Constants`, `SwitchDomain`). */
export const HEARTBEAT_INTERVAL_MS = 5_000;
export const HEARTBEAT_TIMEOUT_MS = 15_000;
export const IP_DELETE_TIMEOUT_MS = 30_000;
export const DEFAULT_TOKEN_TTL_SECONDS = 18_000;
const CACHE_MILLIS = 10_000;
const NAMING_OK = 10200;
const NAMING_RESOURCE_NOT_FOUND = 20404;

export interface ServiceKey {
  /** '' and undefined are `public`, as in Nacos. */
  readonly namespace?: string | undefined;
  readonly group?: string | undefined;
  readonly service: string;
}

export interface InstanceKey extends ServiceKey {
  readonly ip: string;
  readonly port: number;
  readonly ephemeral?: boolean | undefined;
}

export interface InstanceInput extends InstanceKey {
  readonly clusterName?: string | undefined;
  readonly weight?: number | undefined;
  readonly healthy?: boolean | undefined;
  readonly enabled?: boolean | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/** An instance as the server holds it (health as of the last sweep). */
export interface StoredInstance {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  readonly ip: string;
  readonly port: number;
  clusterName: string;
  weight: number;
  healthy: boolean;
  enabled: boolean;
  readonly ephemeral: boolean;
  metadata: Record<string, string>;
  lastBeat: number;
}

/** What a failure rule makes the server do instead of answering. */
export type FailMode =
  /** Answers this status with this body (default: Spring's error JSON). */
  | { readonly kind: 'status'; readonly status: number; readonly body?: string; readonly contentType?: string }
  /** Answers exactly these bytes (default status 200, `application/json`). */
  | { readonly kind: 'body'; readonly body: string | Buffer; readonly status?: number; readonly contentType?: string }
  /** Accepts the request and never answers (until `stop()`). */
  | { readonly kind: 'hang' }
  /** Destroys the connection without an answer. */
  | { readonly kind: 'reset' }
  /** Answers normally, after this many real milliseconds. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** A 200 whose JSON body is `bytes` long (padding inside the hosts array); chunked unless `declareLength`. */
  | { readonly kind: 'huge'; readonly bytes: number; readonly declareLength?: boolean }
  /** A 200 whose `hosts` (v1) or `data` (v3) is `depth` nested arrays. */
  | { readonly kind: 'deep'; readonly depth: number }
  /** Sends the headers and part of the body, then drops the connection. */
  | { readonly kind: 'truncate' };

export interface FailRule {
  readonly mode: FailMode;
  /** The route after the context path, e.g. `/v1/ns/instance/list`; any route when absent. */
  readonly route?: string;
  /** How many requests it applies to (default: every request until `clearFailures()`). */
  readonly times?: number;
}

export interface RecordedRequest {
  readonly method: string;
  /** The route after the context path (`/v1/ns/instance/list`), or the whole path outside it. */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  /** The parameters of the URL's query string only (`params` also has the form body's). */
  readonly query: Readonly<Record<string, string>>;
  readonly headers: http.IncomingHttpHeaders;
  /** `namespace/group@@service` for naming requests that name a service. */
  readonly service?: string | undefined;
  readonly at: number;
}

export interface AuthSettings {
  /** username → password. */
  readonly users: Readonly<Record<string, string>>;
  /** `nacos.core.auth.plugin.nacos.token.expire.seconds` (default 18000). */
  readonly tokenTtlSeconds?: number;
}

export interface NacosServerOptions {
  /** `server.servlet.contextPath` (default `/nacos`; the nacos-naming SDK only speaks `/nacos`). */
  readonly contextPath?: string;
  /** The clock, in ms (default `Date.now`). */
  readonly now?: () => number;
  /** `nacos.core.api.compatibility.client.enabled` of Nacos 3 (default true): false answers 410 to v1. */
  readonly v1Enabled?: boolean;
  /**
   * How a v1 list answers a service that does not exist: `empty` (`hosts: []`, Nacos 1.1 and later,
   * the default) or `404` (Nacos 1.0.x: HTTP 404 `service not found: group@@service`).
   */
  readonly missingService?: 'empty' | '404';
  readonly auth?: AuthSettings;
}

export interface NacosTestServer {
  /** `http://127.0.0.1:<port>`: an `addresses` entry for our client. */
  readonly url: string;
  /** `127.0.0.1:<port>`: a `serverList` entry for the nacos-naming SDK. */
  readonly serverAddress: string;
  readonly port: number;
  readonly contextPath: string;

  /** Registers (or replaces) an instance as `POST /v1/ns/instance` would. */
  register(instance: InstanceInput): StoredInstance;
  /** Removes an instance; false when there was none. */
  deregister(key: InstanceKey): boolean;
  /** Changes what Nacos says of an instance (throws when it does not exist). */
  update(key: InstanceKey, patch: { healthy?: boolean; enabled?: boolean; weight?: number; clusterName?: string }): StoredInstance;
  /** Records a heartbeat now, as `PUT /v1/ns/instance/beat` would; false when there is no such instance. */
  beat(key: InstanceKey): boolean;
  /** Every instance of a service, disabled ones included, after the heartbeat sweep. */
  instances(service: ServiceKey): StoredInstance[];
  /** Creates the service's metadata (as the console or the service API does), with a protect threshold. */
  createService(service: ServiceKey & { protectThreshold?: number }): void;

  enableAuth(settings: AuthSettings): void;
  disableAuth(): void;
  /** Every token issued so far becomes invalid (`token invalid!`). */
  revokeTokens(): void;
  /** Tokens issued, in order (tests check which one a client sent). */
  readonly tokens: readonly string[];

  /** Adds a failure rule; rules are tried in the order added, the first that matches applies. */
  fail(rule: FailRule): void;
  clearFailures(): void;

  /** Every request received, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests per route (`/v1/ns/instance/list`), optionally for one service only. */
  count(route: string, service?: ServiceKey): number;
  clearRequests(): void;

  /** Closes the server and every connection (hanging requests included). */
  stop(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

class HttpFailure extends Error {
  constructor(
    readonly reply: Reply,
  ) {
    super(`HTTP ${reply.status}`);
  }
}

const normalNamespace = (namespace: string | undefined): string => (namespace === undefined || namespace.trim() === '' ? DEFAULT_NAMESPACE : namespace);
const normalGroup = (group: string | undefined): string => (group === undefined || group.trim() === '' ? DEFAULT_GROUP : group);
const serviceId = (namespace: string, group: string, service: string) => `${namespace}/${group}@@${service}`;

function serviceKeyId(key: ServiceKey): string {
  return serviceId(normalNamespace(key.namespace), normalGroup(key.group), key.service);
}

function instanceKeyId(key: InstanceKey): string {
  return `${serviceKeyId(key)}#${key.ip}#${key.port}#${key.ephemeral === false ? 'persistent' : 'ephemeral'}`;
}

/** Spring Boot's error JSON (`server.error.include-message=ALWAYS` in Nacos's application.properties). */
function springError(status: number, message: string, path: string): Reply {
  const error = http.STATUS_CODES[status] ?? 'Error';
  return { status, contentType: 'application/json', body: JSON.stringify({ timestamp: new Date().toISOString(), status, error, message, path }) };
}

const text = (status: number, body: string): Reply => ({ status, body, contentType: 'text/plain;charset=UTF-8' });
const json = (value: unknown, status = 200): Reply => ({ status, body: JSON.stringify(value), contentType: 'application/json' });
/** `Result` of Nacos's v2/v3 API. */
const envelope = (code: number, message: string, data: unknown, status = 200): Reply => json({ code, message, data }, status);

/** `ConvertUtils.toBoolean`: "true"/"yes"/"on"/"y"/"t"/"1"… are true, anything else false. */
function toBoolean(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  return ['true', 'on', 'yes', 'y', 't', '1'].includes(value.trim().toLowerCase());
}

/** `UtilsAndCommons.parseMetadata`: a JSON object, or `k=v,k2=v2`. */
function parseMetadata(value: string | undefined): Record<string, string> {
  const metadata: Record<string, string> = Object.create(null);
  if (value === undefined || value.trim() === '') return metadata;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [key, entry] of Object.entries(parsed)) metadata[key] = String(entry);
      return metadata;
    }
  } catch {
    // not JSON: k=v pairs
  }
  for (const pair of value.split(',')) {
    const [key, entry] = pair.split('=');
    if (key === undefined || entry === undefined || pair.split('=').length !== 2) {
      throw new HttpFailure(text(400, `instance metadata format invalid: ${value}`));
    }
    metadata[key] = entry;
  }
  return metadata;
}

function metadataNumber(metadata: Record<string, string>, key: string, fallback: number): number {
  const value = metadata[key];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : fallback;
}

/** Jackson's view of `com.alibaba.nacos.api.naming.pojo.Instance`. */
function instanceJson(instance: StoredInstance, healthy = instance.healthy) {
  const grouped = `${instance.group}@@${instance.service}`;
  return {
    instanceId: `${instance.ip}#${instance.port}#${instance.clusterName}#${grouped}`,
    ip: instance.ip,
    port: instance.port,
    weight: instance.weight,
    healthy,
    enabled: instance.enabled,
    ephemeral: instance.ephemeral,
    clusterName: instance.clusterName,
    serviceName: grouped,
    metadata: { ...instance.metadata },
    instanceHeartBeatInterval: metadataNumber(instance.metadata, 'preserved.heart.beat.interval', HEARTBEAT_INTERVAL_MS),
    instanceHeartBeatTimeOut: metadataNumber(instance.metadata, 'preserved.heart.beat.timeout', HEARTBEAT_TIMEOUT_MS),
    ipDeleteTimeout: metadataNumber(instance.metadata, 'preserved.ip.delete.timeout', IP_DELETE_TIMEOUT_MS),
    instanceIdGenerator: 'simple',
  };
}

function signToken(secret: Buffer, username: string, expiresAtSeconds: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256' })}.${part({ sub: username, exp: expiresAtSeconds })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

export async function startNacosServer(options: NacosServerOptions = {}): Promise<NacosTestServer> {
  const contextPath = options.contextPath ?? '/nacos';
  const now = options.now ?? Date.now;
  const v1Enabled = options.v1Enabled ?? true;

  const instances = new Map<string, StoredInstance>();
  /** Services created with metadata: id → protect threshold. */
  const serviceMetadata = new Map<string, number>();
  let auth: { users: Readonly<Record<string, string>>; ttlSeconds: number } | undefined;
  let secret = randomBytes(32);
  const tokens: string[] = [];
  const tokenExpiry = new Map<string, { username: string; expiresAt: number }>();
  const rules: { rule: FailRule; left: number }[] = [];
  const requests: RecordedRequest[] = [];

  const enableAuth = (settings: AuthSettings) => {
    auth = { users: { ...settings.users }, ttlSeconds: settings.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS };
  };
  if (options.auth) enableAuth(options.auth);

  /** The heartbeat checkers, run lazily: the state as of `now()`. */
  function sweep(): void {
    const at = now();
    for (const [id, instance] of instances) {
      if (!instance.ephemeral) continue;
      const silent = at - instance.lastBeat;
      if (silent > metadataNumber(instance.metadata, 'preserved.ip.delete.timeout', IP_DELETE_TIMEOUT_MS)) instances.delete(id);
      else if (instance.healthy && silent > metadataNumber(instance.metadata, 'preserved.heart.beat.timeout', HEARTBEAT_TIMEOUT_MS)) instance.healthy = false;
    }
  }

  function store(input: InstanceInput): StoredInstance {
    const weight = input.weight ?? 1;
    if (!(weight >= 0 && weight <= 10000)) throw new HttpFailure(text(400, 'instance format invalid: The weights range from 0.0 to 10000.0'));
    if (!Number.isInteger(input.port) || input.port < 0 || input.port > 65535) {
      throw new HttpFailure(text(400, "Required parameter 'port' type int is require 0 ~ 65535"));
    }
    const instance: StoredInstance = {
      namespace: normalNamespace(input.namespace),
      group: normalGroup(input.group),
      service: input.service,
      ip: input.ip,
      port: input.port,
      clusterName: input.clusterName === undefined || input.clusterName.trim() === '' ? DEFAULT_CLUSTER : input.clusterName,
      weight,
      healthy: input.healthy ?? true,
      enabled: input.enabled ?? true,
      ephemeral: input.ephemeral ?? true,
      metadata: { ...input.metadata },
      lastBeat: now(),
    };
    instances.set(instanceKeyId(input), instance);
    return instance;
  }

  function servicesInstances(namespace: string, group: string, service: string): StoredInstance[] {
    sweep();
    const prefix = `${serviceId(namespace, group, service)}#`;
    return [...instances.entries()].filter(([id]) => id.startsWith(prefix)).map(([, instance]) => instance);
  }

  /** `ServiceUtil.selectInstancesWithHealthyProtection(…, healthyOnly, enableOnly = true)`. */
  function select(namespace: string, group: string, service: string, clusters: string, healthyOnly: boolean) {
    const wanted = new Set(clusters.split(',').filter((cluster) => cluster.trim() !== ''));
    const listed = servicesInstances(namespace, group, service).filter((instance) => (wanted.size === 0 || wanted.has(instance.clusterName)) && instance.enabled);
    const threshold = serviceMetadata.get(serviceId(namespace, group, service));
    const healthyCount = listed.filter((instance) => instance.healthy).length;
    if (threshold !== undefined && listed.length > 0 && healthyCount / listed.length <= Math.max(threshold, 0)) {
      return { hosts: listed.map((instance) => instanceJson(instance, true)), reachProtectionThreshold: true };
    }
    return { hosts: listed.filter((instance) => !healthyOnly || instance.healthy).map((instance) => instanceJson(instance)), reachProtectionThreshold: false };
  }

  /** `ServiceNameFilter` + `NamingUtils.checkServiceNameFormat`: `group@@service`. */
  function groupedServiceName(params: Record<string, string>): { group: string; service: string } {
    const raw = params.serviceName?.trim();
    if (raw === undefined || raw === '') throw new HttpFailure(text(400, "Param 'serviceName' is required."));
    const grouped = raw.includes('@@') ? raw : `${normalGroup(params.groupName)}@@${raw}`;
    const parts = grouped.split('@@');
    if (parts.length !== 2 || parts[0]!.trim() === '' || parts[1]!.trim() === '') {
      throw new HttpFailure(text(400, `Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName'`));
    }
    return { group: parts[0]!, service: parts[1]! };
  }

  function required(params: Record<string, string>, key: string): string {
    const value = params[key];
    if (value === undefined || value.trim() === '') throw new HttpFailure(text(400, `Param '${key}' is required.`));
    return value;
  }

  function integer(value: string, key: string): number {
    if (!/^-?\d+$/.test(value.trim())) throw new HttpFailure(text(400, `For input string: "${value}" (${key})`));
    return Number(value.trim());
  }

  function number(value: string | undefined, fallback: number): number {
    if (value === undefined || value.trim() === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new HttpFailure(text(400, `For input string: "${value}"`));
    return parsed;
  }

  function clusterOf(params: Record<string, string>): string {
    const cluster = params.clusterName?.trim() ? params.clusterName : params.cluster;
    return cluster === undefined || cluster.trim() === '' ? DEFAULT_CLUSTER : cluster;
  }

  /** `HttpRequestInstanceBuilder` (v1) / `InstanceForm` (v3). */
  function instanceFromParams(params: Record<string, string>, group: string, service: string): InstanceInput {
    const enabledText = params.enabled?.trim() ? params.enabled : params.enable;
    return {
      namespace: params.namespaceId,
      group,
      service,
      ip: required(params, 'ip'),
      port: integer(required(params, 'port'), 'port'),
      clusterName: clusterOf(params),
      weight: number(params.weight, 1),
      healthy: toBoolean(params.healthy, true),
      enabled: toBoolean(enabledText, true),
      ephemeral: toBoolean(params.ephemeral, true),
      metadata: parseMetadata(params.metadata),
    };
  }

  function beatInstance(key: InstanceKey): StoredInstance | undefined {
    sweep();
    const instance = instances.get(instanceKeyId(key));
    if (instance === undefined) return undefined;
    instance.lastBeat = now();
    instance.healthy = true;
    return instance;
  }

  function login(params: Record<string, string>, path: string): Reply {
    const username = params.username;
    const password = params.password;
    if (auth === undefined) {
      // Auth off: Nacos still answers a login (with a token nobody checks).
      return json({ accessToken: '', tokenTtl: DEFAULT_TOKEN_TTL_SECONDS, globalAdmin: true, username: username ?? '' });
    }
    if (username === undefined || password === undefined) return springError(400, `Required request parameter '${username === undefined ? 'username' : 'password'}' is not present`, path);
    if (!Object.hasOwn(auth.users, username) || auth.users[username] !== password) {
      return text(403, 'User not found! Please check user exist or password is right!');
    }
    const expiresAt = now() + auth.ttlSeconds * 1000;
    const token = signToken(secret, username, Math.floor(expiresAt / 1000));
    tokens.push(token);
    tokenExpiry.set(token, { username, expiresAt });
    return {
      ...json({ accessToken: token, tokenTtl: Math.floor((expiresAt - now()) / 1000), globalAdmin: false, username }),
      headers: { Authorization: `Bearer ${token}` },
    };
  }

  /** `AbstractWebAuthFilter` + `AbstractAuthenticationManager.authenticate(request)`. */
  function checkIdentity(request: http.IncomingMessage, params: Record<string, string>, path: string): void {
    if (auth === undefined) return;
    const header = request.headers.authorization;
    const token = header !== undefined && header.startsWith('Bearer ') ? header.slice('Bearer '.length) : params.accessToken;
    if (token !== undefined && token.trim() !== '') {
      const known = tokenExpiry.get(token);
      if (known === undefined) throw new HttpFailure(springError(403, 'token invalid!', path));
      if (now() >= known.expiresAt) throw new HttpFailure(springError(403, 'token expired!', path));
      return;
    }
    const { username, password } = params;
    if (username === undefined || password === undefined || !Object.hasOwn(auth.users, username) || auth.users[username] !== password) {
      throw new HttpFailure(springError(403, 'User not found! Please check user exist or password is right!', path));
    }
  }

  type Handler = (request: http.IncomingMessage, params: Record<string, string>, path: string) => Reply;
  interface Route {
    readonly secured: boolean;
    readonly v1: boolean;
    readonly handler: Handler;
  }

  const v1Register: Handler = (_request, params) => {
    const { group, service } = groupedServiceName(params);
    store(instanceFromParams(params, group, service));
    return text(200, 'ok');
  };

  const v1Deregister: Handler = (_request, params) => {
    const { group, service } = groupedServiceName(params);
    instances.delete(instanceKeyId({ namespace: params.namespaceId, group, service, ip: required(params, 'ip'), port: integer(required(params, 'port'), 'port'), ephemeral: toBoolean(params.ephemeral, true) }));
    return text(200, 'ok');
  };

  const v1Beat: Handler = (_request, params) => {
    const { group, service } = groupedServiceName(params);
    let ip = params.ip ?? '';
    let port = Number.parseInt(params.port ?? '0', 10);
    let cluster = clusterOf(params);
    let beat: { ip?: unknown; port?: unknown; cluster?: unknown; weight?: unknown; metadata?: unknown } | undefined;
    if (params.beat !== undefined && params.beat.trim() !== '') {
      try {
        beat = JSON.parse(params.beat);
      } catch {
        throw new HttpFailure(text(400, `failed to parse beat: ${params.beat}`));
      }
      if (beat === null || typeof beat !== 'object') throw new HttpFailure(text(400, `failed to parse beat: ${params.beat}`));
      ip = String(beat.ip ?? '');
      port = Number(beat.port);
      if (typeof beat.cluster === 'string' && beat.cluster !== '') cluster = beat.cluster;
    }
    const key: InstanceKey = { namespace: params.namespaceId, group, service, ip, port };
    let instance = beatInstance(key);
    if (instance === undefined && beat !== undefined) {
      // `handleBeat`: a beat that carries its instance re-registers it.
      const metadata: Record<string, string> = {};
      if (beat.metadata !== null && typeof beat.metadata === 'object') {
        for (const [name, value] of Object.entries(beat.metadata)) metadata[name] = String(value);
      }
      instance = store({ ...key, clusterName: cluster, weight: typeof beat.weight === 'number' ? beat.weight : 1, metadata });
    }
    const interval = instance === undefined ? HEARTBEAT_INTERVAL_MS : metadataNumber(instance.metadata, 'preserved.heart.beat.interval', HEARTBEAT_INTERVAL_MS);
    return json({ clientBeatInterval: interval, code: instance === undefined ? NAMING_RESOURCE_NOT_FOUND : NAMING_OK, lightBeatEnabled: true });
  };

  const v1List: Handler = (_request, params) => {
    const { group, service } = groupedServiceName(params);
    if (options.missingService === '404' && servicesInstances(normalNamespace(params.namespaceId), group, service).length === 0) {
      return text(404, `service not found: ${group}@@${service}`);
    }
    const clusters = params.clusters ?? '';
    const selected = select(normalNamespace(params.namespaceId), group, service, clusters, toBoolean(params.healthyOnly, false));
    return json({
      name: `${group}@@${service}`,
      groupName: group,
      clusters,
      cacheMillis: CACHE_MILLIS,
      hosts: selected.hosts,
      lastRefTime: now(),
      checksum: '',
      allIps: false,
      reachProtectionThreshold: selected.reachProtectionThreshold,
      valid: true,
    });
  };

  const v1Metrics: Handler = () => json({ status: 'UP' });

  const v1ServiceList: Handler = (_request, params) => {
    const pageNo = integer(required(params, 'pageNo'), 'pageNo');
    const pageSize = integer(required(params, 'pageSize'), 'pageSize');
    sweep();
    const prefix = `${normalNamespace(params.namespaceId)}/${normalGroup(params.groupName)}@@`;
    const names = [...new Set([...instances.keys()].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length).split('#')[0]!))].sort();
    const start = Math.max(pageNo - 1, 0) * pageSize;
    return json({ count: names.length, doms: names.slice(start, start + pageSize) });
  };

  /** `InstanceForm.validate()` of v3: the envelope with 400 and code 10000. */
  function v3Form(params: Record<string, string>): { group: string; service: string } {
    for (const key of ['serviceName', 'ip', 'port']) {
      if (params[key] === undefined || params[key]!.trim() === '') {
        throw new HttpFailure(envelope(10000, 'parameter missing', `Required parameter '${key}' type ${key === 'port' ? 'Integer' : 'String'} is not present`, 400));
      }
    }
    return { group: normalGroup(params.groupName), service: params.serviceName! };
  }

  function v3Guard<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof HttpFailure && error.reply.contentType?.startsWith('text/')) {
        throw new HttpFailure(envelope(20002, 'parameter validate error', error.reply.body, 400));
      }
      throw error;
    }
  }

  const v3Register: Handler = (_request, params) =>
    v3Guard(() => {
      const { group, service } = v3Form(params);
      const input = instanceFromParams(params, group, service);
      if (toBoolean(params.heartBeat, false)) {
        return beatInstance(input) === undefined ? envelope(21003, 'instance not found', null) : envelope(0, 'success', 'ok');
      }
      store(input);
      return envelope(0, 'success', 'ok');
    });

  const v3Deregister: Handler = (_request, params) =>
    v3Guard(() => {
      const { group, service } = v3Form(params);
      instances.delete(instanceKeyId({ namespace: params.namespaceId, group, service, ip: params.ip!, port: integer(params.port!, 'port'), ephemeral: toBoolean(params.ephemeral, true) }));
      return envelope(0, 'success', 'ok');
    });

  const v3List: Handler = (_request, params) => {
    const service = params.serviceName;
    if (service === undefined || service.trim() === '') {
      return envelope(10000, 'parameter missing', "Required parameter 'serviceName' type String is not present", 400);
    }
    const cluster = params.clusterName?.trim() ? params.clusterName : DEFAULT_CLUSTER;
    const selected = select(normalNamespace(params.namespaceId), normalGroup(params.groupName), service, cluster, false);
    return envelope(0, 'success', selected.hosts);
  };

  const routes = new Map<string, Route>([
    ['POST /v1/ns/instance', { secured: true, v1: true, handler: v1Register }],
    ['DELETE /v1/ns/instance', { secured: true, v1: true, handler: v1Deregister }],
    ['PUT /v1/ns/instance/beat', { secured: true, v1: true, handler: v1Beat }],
    ['GET /v1/ns/instance/list', { secured: true, v1: true, handler: v1List }],
    ['GET /v1/ns/operator/metrics', { secured: false, v1: true, handler: v1Metrics }],
    ['GET /v1/ns/service/list', { secured: true, v1: true, handler: v1ServiceList }],
    ['POST /v1/auth/login', { secured: false, v1: false, handler: (_request, params, path) => login(params, path) }],
    ['POST /v1/auth/users/login', { secured: false, v1: false, handler: (_request, params, path) => login(params, path) }],
    ['POST /v3/client/ns/instance', { secured: true, v1: false, handler: v3Register }],
    ['DELETE /v3/client/ns/instance', { secured: true, v1: false, handler: v3Deregister }],
    ['GET /v3/client/ns/instance/list', { secured: true, v1: false, handler: v3List }],
    ['POST /v3/auth/user/login', { secured: false, v1: false, handler: (_request, params, path) => login(params, path) }],
  ]);
  const knownRoutes = new Set([...routes.keys()].map((key) => key.slice(key.indexOf(' ') + 1)));

  function serviceOf(route: string, params: Record<string, string>): string | undefined {
    if (!route.includes('/ns/instance') || params.serviceName === undefined) return undefined;
    try {
      const { group, service } = route.startsWith('/v3/') ? { group: normalGroup(params.groupName), service: params.serviceName } : groupedServiceName(params);
      return serviceId(normalNamespace(params.namespaceId), group, service);
    } catch {
      return undefined;
    }
  }

  function send(response: http.ServerResponse, reply: Reply): void {
    if (response.destroyed) return;
    response.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'application/json', ...reply.headers });
    response.end(reply.body);
  }

  function answer(request: http.IncomingMessage, params: Record<string, string>, route: string, path: string): Reply {
    const found = routes.get(`${request.method} ${route}`);
    if (found === undefined) {
      return knownRoutes.has(route) ? springError(405, `Request method '${request.method}' is not supported`, path) : springError(404, 'No static resource', path);
    }
    if (found.v1 && !v1Enabled) {
      const message = `Current API will be deprecated, please use API(s) instead, or you can rollback to old API by setting \`nacos.core.api.compatibility.client.enabled=true\`.`;
      return springError(410, JSON.stringify({ code: 40000, message, data: null }), path);
    }
    try {
      if (found.secured) checkIdentity(request, params, path);
      return found.handler(request, params, path);
    } catch (error) {
      if (error instanceof HttpFailure) return error.reply;
      return text(500, `caused: ${(error as Error).message}`);
    }
  }

  function failWith(mode: FailMode, request: http.IncomingMessage, response: http.ServerResponse, path: string, route: string, normal: () => Reply): void {
    switch (mode.kind) {
      case 'status':
        return send(response, mode.body === undefined ? springError(mode.status, 'injected failure', path) : { status: mode.status, body: mode.body, contentType: mode.contentType ?? 'text/plain;charset=UTF-8' });
      case 'body':
        response.writeHead(mode.status ?? 200, { 'Content-Type': mode.contentType ?? 'application/json' });
        response.end(mode.body);
        return;
      case 'hang':
        return;
      case 'reset':
        request.socket.destroy();
        return;
      case 'delay': {
        const timer = setTimeout(() => send(response, normal()), mode.ms);
        response.on('close', () => clearTimeout(timer));
        return;
      }
      case 'huge': {
        const head = route.startsWith('/v3/') ? '{"code":0,"message":"success","data":[' : '{"hosts":[';
        const tail = ']}';
        const padding = Math.max(mode.bytes - head.length - tail.length, 0);
        response.writeHead(200, { 'Content-Type': 'application/json', ...(mode.declareLength ? { 'Content-Length': String(head.length + padding + tail.length) } : {}) });
        response.write(head);
        const chunk = ' '.repeat(64 * 1024);
        let left = padding;
        const pump = () => {
          while (left > 0) {
            const size = Math.min(left, chunk.length);
            left -= size;
            if (!response.write(size === chunk.length ? chunk : chunk.slice(0, size))) return void response.once('drain', pump);
          }
          response.end(tail);
        };
        response.on('error', () => undefined);
        pump();
        return;
      }
      case 'deep': {
        const nested = '['.repeat(mode.depth) + ']'.repeat(mode.depth);
        const body = route.startsWith('/v3/') ? `{"code":0,"message":"success","data":${nested}}` : `{"hosts":${nested}}`;
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(body);
        return;
      }
      case 'truncate': {
        const body = normal().body;
        response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body) + 100) });
        response.write(body.slice(0, Math.floor(body.length / 2)));
        setImmediate(() => request.socket.destroy());
        return;
      }
    }
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://nacos.invalid');
      const params: Record<string, string> = Object.create(null);
      const query: Record<string, string> = Object.create(null);
      // Servlet `getParameter`: query string first, then a form body; the first value wins.
      for (const [key, value] of url.searchParams) if (!(key in params)) params[key] = query[key] = value;
      if ((request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) if (!(key in params)) params[key] = value;
      }
      const path = url.pathname;
      const route = path.startsWith(`${contextPath}/`) ? path.slice(contextPath.length) : path;
      requests.push({ method: request.method ?? 'GET', route, params: { ...params }, query: { ...query }, headers: request.headers, service: serviceOf(route, params), at: now() });
      const normal = () => (path.startsWith(`${contextPath}/`) ? answer(request, params, route, path) : springError(404, 'No static resource', path));
      const applying = rules.find(({ rule, left }) => left > 0 && (rule.route === undefined || rule.route === route));
      if (applying !== undefined) {
        applying.left -= 1;
        return failWith(applying.rule.mode, request, response, path, route, normal);
      }
      send(response, normal());
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    serverAddress: `127.0.0.1:${port}`,
    port,
    contextPath,
    register: (instance) => store(instance),
    deregister: (key) => instances.delete(instanceKeyId(key)),
    update(key, patch) {
      sweep();
      const instance = instances.get(instanceKeyId(key));
      if (instance === undefined) throw new Error(`no instance ${instanceKeyId(key)}`);
      if (patch.healthy !== undefined) instance.healthy = patch.healthy;
      if (patch.enabled !== undefined) instance.enabled = patch.enabled;
      if (patch.weight !== undefined) instance.weight = patch.weight;
      if (patch.clusterName !== undefined) instance.clusterName = patch.clusterName;
      return instance;
    },
    beat: (key) => beatInstance(key) !== undefined,
    instances: (service) => servicesInstances(normalNamespace(service.namespace), normalGroup(service.group), service.service),
    createService: (service) => void serviceMetadata.set(serviceKeyId(service), service.protectThreshold ?? 0),
    enableAuth,
    disableAuth: () => {
      auth = undefined;
    },
    revokeTokens: () => {
      secret = randomBytes(32);
      tokenExpiry.clear();
    },
    get tokens() {
      return tokens;
    },
    fail: (rule) => void rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY }),
    clearFailures: () => void rules.splice(0),
    get requests() {
      return requests;
    },
    count: (route, service) => requests.filter((request) => request.route === route && (service === undefined || request.service === serviceKeyId(service))).length,
    clearRequests: () => void requests.splice(0),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
