import { performance } from 'node:perf_hooks';
import { VERSION } from '../version.js';
import { quote } from './answer.js';
import { BACKOFF, backoffDelay } from './backoff.js';
import { MAX_ANSWER_BYTES, readBoundedBody } from './bounded-body.js';
import { isServiceNotFound, parseInstanceList, type NacosApiVersion, type NacosInstance, type NacosServiceName } from './instance-list.js';
import { parseLogin } from './login-answer.js';
import { NacosError, outcomeOf, type NacosOutcome } from './nacos-error.js';

/**
 * The controller's Nacos client: one read call, `listInstances`, over Nacos's documented HTTP API
 * (docs/nacos.md says which pages, and why each choice):
 * - v1 Open API: `GET {address}{contextPath}/v1/ns/instance/list?serviceName=&groupName=&namespaceId=&healthyOnly=false`
 *   (https://nacos.io/docs/v2/guide/user/open-api/);
 * - v3 client API: `GET {address}{contextPath}/v3/client/ns/instance/list` with the same
 *   parameters, answer in the `{code, message, data}` envelope (https://nacos.io/docs/latest/manual/user/open-api/);
 * - auth: `POST {contextPath}/v1/auth/login` or `/v3/auth/user/login` with the form `username`,
 *   `password`; the `accessToken` query parameter on every call; a new login at 90 % of `tokenTtl`
 *   and once on a 401/403 (https://nacos.io/docs/latest/manual/user/auth/).
 * Addresses are tried in turn on a network error, a timeout or a 5xx, with backoff; an answer that
 * does arrive (a 4xx, a malformed body) is final.
 */

/** The `nacos.server` section of the config (`NacosServerConfig`). */
export interface NacosServer {
  /** `http://nacos.nacos.svc.cluster.local:8848`: scheme, host and port, no path. */
  readonly addresses: readonly string[];
  /** `/nacos` (Nacos's `server.servlet.contextPath`). */
  readonly contextPath: string;
  readonly apiVersion: NacosApiVersion;
  /** Bound on each HTTP request (connect, headers and body). */
  readonly timeoutSeconds: number;
}

/** From the environment `NACOS_USERNAME` / `NACOS_PASSWORD` (see `credentialsFromEnvironment`). */
export interface NacosCredentials {
  readonly username: string;
  readonly password: string;
}

export interface NacosClock {
  /** Milliseconds (Date.now): when a token is due for renewal. */
  now(): number;
  /** The pause between two addresses. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: NacosClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** One HTTP request made to Nacos, once its outcome is known. */
export interface NacosRequestEvent {
  readonly call: 'list' | 'login';
  /** The server address it went to (no path, no query). */
  readonly address: string;
  readonly outcome: NacosOutcome;
  /** The HTTP status, when an answer arrived. */
  readonly status?: number | undefined;
  readonly durationMs: number;
}

export interface NacosClientOptions {
  readonly server: NacosServer;
  /** Log in first when set (Nacos with auth on). */
  readonly credentials?: NacosCredentials | undefined;
  readonly clock?: NacosClock;
  /** [0, 1): the jitter of the backoff (default Math.random). */
  readonly random?: () => number;
  /** Called once per HTTP request (instance lists and logins alike): the metric `probe_injector_nacos_requests_total{outcome}`. */
  readonly onRequest?: (outcome: NacosOutcome, event: NacosRequestEvent) => void;
  /** Largest answer read (default 4 MiB). */
  readonly maxAnswerBytes?: number;
}

export interface NacosListRequest extends NacosServiceName {
  /**
   * Ask only for these clusters (v1 `clusters`, v3 `clusterName`, comma-joined). Absent: v1
   * answers every cluster, v3 only cluster `DEFAULT` (Nacos's default for that API).
   */
  readonly clusters?: readonly string[] | undefined;
}

export interface NacosClient {
  /**
   * The instances Nacos lists for a service (enabled ones only: Nacos leaves disabled instances
   * out). A service that does not exist is `[]`. Rejects only with `NacosError`, within `callBoundMs`.
   */
  listInstances(request: NacosListRequest): Promise<NacosInstance[]>;
  /** How many requests one call may try: max(2, number of addresses). */
  readonly attempts: number;
  /** The longest one `listInstances` call takes before it rejects with a `timeout` NacosError. */
  readonly callBoundMs: number;
}

/** A token is renewed once this share of its `tokenTtl` has passed. */
export const TOKEN_RENEW_AT = 0.9;

interface Session {
  readonly token: string;
  readonly renewAt: number;
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

function normalAddress(address: string): string {
  return address.trim().replace(/\/+$/, '');
}

function normalContextPath(contextPath: string): string {
  const trimmed = contextPath.trim().replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** What undici says of a failed connection, without the request (a URL could carry the token). */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const message = (cause as { message?: unknown } | null)?.message ?? (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message.slice(0, 200) : 'connection failed';
}

export function createNacosClient(options: NacosClientOptions): NacosClient {
  const { server, credentials, onRequest } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  const addresses = server.addresses.map(normalAddress);
  if (addresses.length === 0) throw new Error('nacos.server.addresses is empty: expected at least one "http://host:port"');
  const contextPath = normalContextPath(server.contextPath);
  const timeoutMs = Math.round(server.timeoutSeconds * 1000);
  const attempts = Math.max(2, addresses.length);
  // Each attempt: at most a login and a list; one 403 adds a login and a list; plus the pauses.
  const callBoundMs = timeoutMs * (2 * attempts + 2) + BACKOFF.capMs * (attempts - 1);
  const secrets = credentials === undefined ? [] : [credentials.password];

  let preferred = 0;
  let session: Session | undefined;
  let pendingLogin: Promise<Session> | undefined;

  /** Removes every secret the client knows from a text it is about to put in a message. */
  function redact(text: string): string {
    let result = text;
    for (const secret of [...secrets, ...(session === undefined ? [] : [session.token])]) {
      if (secret.length >= 4) result = result.split(secret).join('***');
    }
    return result;
  }

  function observe<T>(call: 'list' | 'login', address: string, work: (record: (status: number) => void) => Promise<T>): Promise<T> {
    const started = performance.now();
    let status: number | undefined;
    const emit = (outcome: NacosOutcome) => onRequest?.(outcome, { call, address, outcome, status, durationMs: performance.now() - started });
    return work((seen) => (status = seen)).then(
      (value) => {
        emit('success');
        return value;
      },
      (error: unknown) => {
        emit(error instanceof NacosError ? outcomeOf(error.kind) : 'error');
        throw error;
      },
    );
  }

  async function send(address: string, route: string, init: { method: string; query?: URLSearchParams; form?: URLSearchParams }, overall: AbortSignal): Promise<Answer> {
    const where = `${address}${contextPath}${route}`;
    const url = init.query === undefined ? where : `${where}?${init.query}`;
    const perRequest = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([perRequest, overall]);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': `probe-injector/${VERSION}` };
    if (init.form !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    try {
      const response = await fetch(url, { method: init.method, headers, signal, redirect: 'manual', ...(init.form === undefined ? {} : { body: init.form.toString() }) });
      const text = await readBoundedBody(response, maxAnswerBytes, where);
      return { status: response.status, text };
    } catch (error) {
      if (error instanceof NacosError) throw new NacosError(error.kind, error.message, { address, status: error.status });
      if (perRequest.aborted) throw new NacosError('timeout', `${where} did not answer within ${server.timeoutSeconds}s`, { address });
      if (overall.aborted) throw new NacosError('timeout', `gave up on ${where}: the call ran out of its ${callBoundMs / 1000}s bound`, { address });
      throw new NacosError('network', `could not reach ${where}: ${reasonOf(error)}`, { address, cause: error });
    }
  }

  /** Classifies a status; 2xx passes. */
  function checkStatus(answer: Answer, where: string, address: string, what: string): void {
    const { status } = answer;
    if (status >= 200 && status < 300) return;
    const body = quote(answer.text, redact);
    const detail = { address, status };
    if (status === 401 || status === 403) throw new NacosError('unauthorized', `${where} refused ${what}: HTTP ${status} ${body}`, detail);
    if (status >= 500) throw new NacosError('server', `${where} failed: HTTP ${status} ${body}`, detail);
    const hint =
      status === 404
        ? ' (check nacos.server.contextPath and nacos.server.apiVersion)'
        : status === 410
          ? ' (this Nacos 3 has its v1 API turned off: set nacos.server.apiVersion to v3)'
          : '';
    throw new NacosError('rejected', `${where} refused ${what}: HTTP ${status} ${body}${hint}`, detail);
  }

  function login(address: string, overall: AbortSignal): Promise<Session> {
    const route = server.apiVersion === 'v1' ? '/v1/auth/login' : '/v3/auth/user/login';
    const form = new URLSearchParams({ username: credentials?.username ?? '', password: credentials?.password ?? '' });
    return observe('login', address, async (record) => {
      const answer = await send(address, route, { method: 'POST', form }, overall);
      record(answer.status);
      checkStatus(answer, `${address}${contextPath}${route}`, address, 'the login of NACOS_USERNAME/NACOS_PASSWORD');
      const { accessToken, ttlSeconds } = parseLogin(answer.text);
      return { token: accessToken, renewAt: clock.now() + ttlSeconds * 1000 * TOKEN_RENEW_AT };
    });
  }

  /** The token to send: '' without credentials; a login when none is valid (one at a time). */
  async function tokenFor(address: string, overall: AbortSignal): Promise<string> {
    if (credentials === undefined) return '';
    if (session !== undefined && clock.now() < session.renewAt) return session.token;
    pendingLogin ??= login(address, overall).then(
      (fresh) => {
        session = fresh;
        secrets.push(fresh.token);
        if (secrets.length > 8) secrets.splice(1, secrets.length - 8);
        pendingLogin = undefined;
        return fresh;
      },
      (error: unknown) => {
        pendingLogin = undefined;
        throw error;
      },
    );
    return (await pendingLogin).token;
  }

  function listOnce(address: string, request: NacosListRequest, token: string, overall: AbortSignal): Promise<NacosInstance[]> {
    const route = server.apiVersion === 'v1' ? '/v1/ns/instance/list' : '/v3/client/ns/instance/list';
    const namespaceId = request.namespace.trim() === '' ? 'public' : request.namespace;
    const query = new URLSearchParams({ serviceName: request.service, groupName: request.group, namespaceId, healthyOnly: 'false' });
    if (request.clusters !== undefined && request.clusters.length > 0) query.set(server.apiVersion === 'v1' ? 'clusters' : 'clusterName', request.clusters.join(','));
    if (token !== '') query.set('accessToken', token);
    return observe('list', address, async (record) => {
      const answer = await send(address, route, { method: 'GET', query }, overall);
      record(answer.status);
      if (server.apiVersion === 'v1' && answer.status === 404 && isServiceNotFound(answer.text, request)) return [];
      checkStatus(answer, `${address}${contextPath}${route}`, address, `the instance list of ${request.group}@@${request.service}`);
      try {
        return parseInstanceList(server.apiVersion, answer.text, request, { redact });
      } catch (error) {
        if (error instanceof NacosError) throw new NacosError(error.kind, `${address}: ${error.message}`, { address, status: answer.status });
        throw error;
      }
    });
  }

  async function attemptOn(address: string, request: NacosListRequest, overall: AbortSignal): Promise<NacosInstance[]> {
    const token = await tokenFor(address, overall);
    try {
      return await listOnce(address, request, token, overall);
    } catch (error) {
      if (!(error instanceof NacosError) || error.kind !== 'unauthorized' || credentials === undefined) throw error;
      // The token expired early, was revoked, or the server restarted with a new secret: one fresh login.
      if (session?.token === token) session = undefined;
      return await listOnce(address, request, await tokenFor(address, overall), overall);
    }
  }

  async function listInstances(request: NacosListRequest): Promise<NacosInstance[]> {
    const overall = AbortSignal.timeout(callBoundMs);
    let last: NacosError | undefined;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      if (attempt > 0) {
        await clock.sleep(backoffDelay(attempt - 1, random()));
        if (overall.aborted) break;
      }
      const index = (preferred + attempt) % addresses.length;
      const address = addresses[index]!;
      try {
        const instances = await attemptOn(address, request, overall);
        preferred = index;
        return instances;
      } catch (error) {
        if (!(error instanceof NacosError)) throw error;
        if (!error.retryable) throw error;
        last = error;
        if (overall.aborted) break;
      }
    }
    const service = `${request.group}@@${request.service}`;
    const tried = `${attempts} attempts over ${addresses.length} address${addresses.length === 1 ? '' : 'es'}`;
    const kind = last?.kind ?? 'timeout';
    throw new NacosError(kind, `no Nacos server answered the instance list of ${service} (${tried}); last: ${last?.message ?? `the call ran out of its ${callBoundMs / 1000}s bound`}`, {
      cause: last,
      address: last?.address,
      status: last?.status,
    });
  }

  return { listInstances, attempts, callBoundMs };
}

/**
 * Credentials from `NACOS_USERNAME` / `NACOS_PASSWORD`: both set, or neither (then Nacos is asked
 * without logging in). Throws when only one is set, naming the missing one (never the values).
 */
export function credentialsFromEnvironment(env: Readonly<Record<string, string | undefined>>): NacosCredentials | undefined {
  const username = env.NACOS_USERNAME ?? '';
  const password = env.NACOS_PASSWORD ?? '';
  if (username === '' && password === '') return undefined;
  if (username === '') throw new Error('NACOS_PASSWORD is set but NACOS_USERNAME is not: set both (Nacos auth) or neither');
  if (password === '') throw new Error('NACOS_USERNAME is set but NACOS_PASSWORD is not: set both (Nacos auth) or neither');
  return { username, password };
}
