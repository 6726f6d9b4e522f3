/**
 * The controller's Nacos client against the Nacos test server over real HTTP on 127.0.0.1: v1 and
 * v3 lists, namespaces, groups and clusters, failover and backoff (injected clock and sleep), login,
 * renewal before the TTL ends, a fresh login on 403, and answers Nacos would never send.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createNacosClient,
  credentialsFromEnvironment,
  NacosError,
  type NacosClientOptions,
  type NacosOutcome,
  type NacosRequestEvent,
  type NacosServer,
} from '../src/nacos/index.js';
import { startNacosServer, type FailMode, type NacosTestServer } from './support/nacos-server.js';

interface Harness {
  readonly sleeps: number[];
  readonly events: NacosRequestEvent[];
  readonly errors: unknown[];
  now: number;
  options(server: Partial<NacosServer> & Pick<NacosServer, 'addresses'>, extra?: Partial<NacosClientOptions>): NacosClientOptions;
}

function harness(): Harness {
  const h: Harness = {
    sleeps: [],
    events: [],
    errors: [],
    now: 1_700_000_000_000,
    options: (server, extra = {}) => ({
      server: { contextPath: '/nacos', apiVersion: 'v1', timeoutSeconds: 2, ...server },
      clock: { now: () => h.now, sleep: async (ms) => void h.sleeps.push(ms) },
      random: () => 0.5,
      onRequest: (_outcome: NacosOutcome, event: NacosRequestEvent) => void h.events.push(event),
      ...extra,
    }),
  };
  return h;
}

/** The rejection of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<NacosError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NacosError);
    return error as NacosError;
  }
  throw new Error('expected a rejection');
}

/** An address where nothing listens (connection refused). */
async function deadAddress(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const SERVICE = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };
const outcomes = (h: Harness) => h.events.map((event) => `${event.call}:${event.outcome}`);

describe('NacosClient.listInstances: v1 and v3', () => {
  let nacos: NacosTestServer;
  beforeAll(async () => {
    nacos = await startNacosServer();
    nacos.register({ service: 'orders', ip: '10.0.0.1', port: 8080, weight: 2 });
    nacos.register({ service: 'orders', ip: '10.0.0.2', port: 8080, clusterName: 'east', healthy: false });
    nacos.register({ service: 'orders', ip: '10.0.0.3', port: 8080, enabled: false });
    nacos.register({ service: 'orders', ip: '10.0.0.4', port: 8080, ephemeral: false, weight: 0 });
    nacos.register({ namespace: 'dev', group: 'BILLING', service: 'orders', ip: '10.9.0.1', port: 9000 });
  });
  afterAll(() => nacos.stop());
  beforeEach(() => nacos.clearRequests());

  it('v1: asks the documented URL and returns the instances with the fields the gate needs', async () => {
    const h = harness();
    const client = createNacosClient(h.options({ addresses: [nacos.url] }));
    const instances = await client.listInstances(SERVICE);
    expect(instances).toEqual([
      { ip: '10.0.0.1', port: 8080, healthy: true, enabled: true, weight: 2, clusterName: 'DEFAULT', ephemeral: true },
      { ip: '10.0.0.2', port: 8080, healthy: false, enabled: true, weight: 1, clusterName: 'east', ephemeral: true },
      { ip: '10.0.0.4', port: 8080, healthy: true, enabled: true, weight: 0, clusterName: 'DEFAULT', ephemeral: false },
    ]); // 10.0.0.3 is disabled: Nacos leaves it out
    const [request] = nacos.requests;
    expect(request).toMatchObject({ method: 'GET', route: '/v1/ns/instance/list' });
    expect(request!.query).toEqual({ serviceName: 'orders', groupName: 'DEFAULT_GROUP', namespaceId: 'public', healthyOnly: 'false' });
    expect(request!.headers['user-agent']).toMatch(/^probe-injector\//);
    expect(outcomes(h)).toEqual(['list:success']);
    expect(h.events[0]).toMatchObject({ address: nacos.url, status: 200 });
  });

  it('v3: the client API and its envelope; without clusters Nacos answers cluster DEFAULT only', async () => {
    const h = harness();
    const client = createNacosClient(h.options({ addresses: [nacos.url], apiVersion: 'v3' }));
    const instances = await client.listInstances(SERVICE);
    expect(instances.map((instance) => instance.ip)).toEqual(['10.0.0.1', '10.0.0.4']);
    expect(nacos.requests[0]).toMatchObject({ route: '/v3/client/ns/instance/list', query: { serviceName: 'orders', groupName: 'DEFAULT_GROUP', namespaceId: 'public', healthyOnly: 'false' } });
    const both = await client.listInstances({ ...SERVICE, clusters: ['DEFAULT', 'east'] });
    expect(both.map((instance) => instance.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    expect(nacos.requests[1]!.query.clusterName).toBe('DEFAULT,east');
  });

  it('v1 passes clusters through as `clusters`', async () => {
    const client = createNacosClient(harness().options({ addresses: [nacos.url] }));
    expect((await client.listInstances({ ...SERVICE, clusters: ['east'] })).map((instance) => instance.ip)).toEqual(['10.0.0.2']);
    expect(nacos.requests[0]!.query.clusters).toBe('east');
  });

  it('namespaces and groups: each sees its own; "" is public; a service that does not exist is an empty list', async () => {
    for (const apiVersion of ['v1', 'v3'] as const) {
      const client = createNacosClient(harness().options({ addresses: [nacos.url], apiVersion }));
      expect(await client.listInstances({ namespace: 'dev', group: 'BILLING', service: 'orders' })).toEqual([expect.objectContaining({ ip: '10.9.0.1', port: 9000 })]);
      expect(await client.listInstances({ namespace: 'dev', group: 'DEFAULT_GROUP', service: 'orders' })).toEqual([]);
      expect((await client.listInstances({ ...SERVICE, namespace: '' })).length).toBeGreaterThan(0);
      expect(await client.listInstances({ ...SERVICE, service: 'nobody-registered-this' })).toEqual([]);
    }
  });

  it('Nacos 1.0.x: a 404 "service not found" for a service that does not exist is an empty list; another 404 is not', async () => {
    const old = await startNacosServer({ missingService: '404' });
    try {
      old.register({ service: 'orders', ip: '10.1.0.1', port: 1 });
      const h = harness();
      const client = createNacosClient(h.options({ addresses: [old.url] }));
      expect(await client.listInstances({ ...SERVICE, service: 'unknown' })).toEqual([]);
      expect(await client.listInstances(SERVICE)).toHaveLength(1);
      expect(outcomes(h)).toEqual(['list:success', 'list:success']);
      old.fail({ mode: { kind: 'status', status: 404, body: 'service not found: DEFAULT_GROUP@@payments' } });
      expect((await rejection(client.listInstances(SERVICE))).kind).toBe('rejected');
    } finally {
      await old.stop();
    }
  });

  it('another context path, and addresses or context paths written with trailing slashes', async () => {
    const other = await startNacosServer({ contextPath: '/registry' });
    try {
      other.register({ service: 'orders', ip: '10.1.0.1', port: 1 });
      const client = createNacosClient(harness().options({ addresses: [`${other.url}/`], contextPath: 'registry/' }));
      expect(await client.listInstances(SERVICE)).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  it('a service at its protect threshold: Nacos reports everyone healthy, the client trusts nobody (v1 reachProtectionThreshold)', async () => {
    nacos.createService({ service: 'guarded', protectThreshold: 0 });
    nacos.register({ service: 'guarded', ip: '10.2.0.1', port: 1, healthy: false });
    const client = createNacosClient(harness().options({ addresses: [nacos.url] }));
    expect(await client.listInstances({ ...SERVICE, service: 'guarded' })).toEqual([expect.objectContaining({ ip: '10.2.0.1', healthy: false })]);
    nacos.update({ service: 'guarded', ip: '10.2.0.1', port: 1 }, { healthy: true });
    expect(await client.listInstances({ ...SERVICE, service: 'guarded' })).toEqual([expect.objectContaining({ ip: '10.2.0.1', healthy: true })]);
  });
});

describe('NacosClient: failover, backoff and bounds', () => {
  let first: NacosTestServer;
  let second: NacosTestServer;
  beforeAll(async () => {
    [first, second] = await Promise.all([startNacosServer(), startNacosServer()]);
    for (const server of [first, second]) server.register({ service: 'orders', ip: '10.0.0.1', port: 8080 });
  });
  afterAll(() => Promise.all([first.stop(), second.stop()]));
  afterEach(() => {
    for (const server of [first, second]) {
      server.clearFailures();
      server.clearRequests();
    }
  });

  it('an address that refuses connections: the next one answers, after one backoff pause; later calls go straight to it', async () => {
    const h = harness();
    const dead = await deadAddress();
    const client = createNacosClient(h.options({ addresses: [dead, second.url] }));
    expect(await client.listInstances(SERVICE)).toHaveLength(1);
    expect(outcomes(h)).toEqual(['list:error', 'list:success']);
    expect(h.events.map((event) => event.address)).toEqual([dead, second.url]);
    expect(h.sleeps).toEqual([150]); // retry 0: 100–200 ms, random 0.5
    await client.listInstances(SERVICE);
    expect(h.events.map((event) => event.address).slice(2)).toEqual([second.url]); // sticky
    expect(h.sleeps).toHaveLength(1);
  });

  const failovers: [string, FailMode, NacosOutcome][] = [
    ['HTTP 500', { kind: 'status', status: 500 }, 'error'],
    ['HTTP 503', { kind: 'status', status: 503 }, 'error'],
    ['a reset connection', { kind: 'reset' }, 'error'],
    ['a body cut short', { kind: 'truncate' }, 'error'],
    ['a hang past timeoutSeconds', { kind: 'hang' }, 'timeout'],
  ];
  it.each(failovers)('%s: fails over to the second address', async (_name, mode, outcome) => {
    const h = harness();
    first.fail({ route: '/v1/ns/instance/list', mode });
    const client = createNacosClient(h.options({ addresses: [first.url, second.url], timeoutSeconds: 0.3 }));
    expect(await client.listInstances(SERVICE)).toEqual([expect.objectContaining({ ip: '10.0.0.1' })]);
    expect(outcomes(h)).toEqual([`list:${outcome}`, 'list:success']);
    expect(first.count('/v1/ns/instance/list')).toBe(1);
    expect(second.count('/v1/ns/instance/list')).toBe(1);
  });

  it('an answer that arrives is final: a 4xx (other than 401/403) or a malformed body is not asked elsewhere', async () => {
    for (const mode of [
      { kind: 'status', status: 400, body: "Param 'serviceName' is required." },
      { kind: 'status', status: 404 },
      { kind: 'body', body: '{"hosts": [{"ip": 1}]}' },
    ] as const) {
      const h = harness();
      first.fail({ route: '/v1/ns/instance/list', mode });
      const client = createNacosClient(h.options({ addresses: [first.url, second.url] }));
      const error = await rejection(client.listInstances(SERVICE));
      expect(error.kind).toBe(mode.kind === 'body' ? 'malformed' : 'rejected');
      expect(second.count('/v1/ns/instance/list')).toBe(0);
      expect(h.sleeps).toEqual([]);
      first.clearFailures();
    }
  });

  it('says what to change for a 404 (context path, API version) and a 410 (Nacos 3 without the v1 API)', async () => {
    const wrongPath = createNacosClient(harness().options({ addresses: [first.url], contextPath: '/wrong' }));
    expect((await rejection(wrongPath.listInstances(SERVICE))).message).toMatch(/HTTP 404 .*check nacos\.server\.contextPath and nacos\.server\.apiVersion/);
    const v3only = await startNacosServer({ v1Enabled: false });
    try {
      const error = await rejection(createNacosClient(harness().options({ addresses: [v3only.url] })).listInstances(SERVICE));
      expect(error).toMatchObject({ kind: 'rejected', status: 410 });
      expect(error.message).toMatch(/set nacos\.server\.apiVersion to v3/);
    } finally {
      await v3only.stop();
    }
  });

  it('every address failing: exponential backoff with jitter between tries, the last error says how many were tried', async () => {
    const h = harness();
    const dead = await Promise.all([deadAddress(), deadAddress(), deadAddress(), deadAddress()]);
    const client = createNacosClient(h.options({ addresses: dead }));
    expect(client.attempts).toBe(4);
    const error = await rejection(client.listInstances(SERVICE));
    expect(error.kind).toBe('network');
    expect(error.message).toMatch(/no Nacos server answered the instance list of DEFAULT_GROUP@@orders \(4 attempts over 4 addresses\); last: could not reach http:\/\/127\.0\.0\.1:\d+\/nacos\/v1\/ns\/instance\/list: ECONNREFUSED/);
    expect(h.sleeps).toEqual([150, 300, 600]);
    expect(outcomes(h)).toEqual(['list:error', 'list:error', 'list:error', 'list:error']);

    const jittered = harness();
    let draw = 0;
    const random = () => [0, 0.999, 0, 0.999][draw++ % 4]!;
    await rejection(createNacosClient(jittered.options({ addresses: dead }, { random })).listInstances(SERVICE));
    expect(jittered.sleeps).toEqual([100, 400, 400]);
  });

  it('one address: tried twice; a 5xx both times is a `server` error', async () => {
    const h = harness();
    first.fail({ mode: { kind: 'status', status: 502 } });
    const client = createNacosClient(h.options({ addresses: [first.url] }));
    expect(client.attempts).toBe(2);
    const error = await rejection(client.listInstances(SERVICE));
    expect(error).toMatchObject({ kind: 'server', status: 502, address: first.url });
    expect(first.count('/v1/ns/instance/list')).toBe(2);
  });

  it('each request is bounded by timeoutSeconds and the whole call by callBoundMs', async () => {
    const client = createNacosClient(harness().options({ addresses: [first.url, second.url], timeoutSeconds: 0.2 }));
    // two attempts, each at most a login and a list, one more login and list after a 403, plus one pause
    expect(client.callBoundMs).toBe(200 * (2 * 2 + 2) + 2_000);
    first.fail({ mode: { kind: 'hang' } });
    second.fail({ mode: { kind: 'hang' } });
    const started = Date.now();
    const error = await rejection(client.listInstances(SERVICE));
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/did not answer within 0\.2s/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('the whole call gives up at its bound even when each request stays within its own (here: a pause that outlasts it)', async () => {
    first.fail({ mode: { kind: 'status', status: 503 } });
    const slowPause = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms + 2_400)) };
    const client = createNacosClient({ server: { addresses: [first.url], contextPath: '/nacos', apiVersion: 'v1', timeoutSeconds: 0.05 }, clock: slowPause });
    expect(client.callBoundMs).toBe(50 * 6 + 2_000);
    const error = await rejection(client.listInstances(SERVICE));
    expect(error.kind).toBe('server');
    expect(error.message).toMatch(/no Nacos server answered .* \(2 attempts over 1 address\); last: .*HTTP 503/);
    expect(first.count('/v1/ns/instance/list')).toBe(1); // the second attempt never started: the bound had passed
  });
});

describe('NacosClient: login, token renewal, 403', () => {
  let nacos: NacosTestServer;
  let clock = 1_700_000_000_000;
  beforeAll(async () => {
    nacos = await startNacosServer({ now: () => clock, auth: { users: { gate: 'p@ss word&=1' }, tokenTtlSeconds: 100 } });
    // persistent: the clock moves in these tests, an ephemeral instance would expire
    nacos.register({ service: 'orders', ip: '10.0.0.1', port: 8080, ephemeral: false });
  });
  afterAll(() => nacos.stop());
  beforeEach(() => {
    nacos.clearRequests();
    nacos.clearFailures();
  });
  const credentials = { username: 'gate', password: 'p@ss word&=1' };

  function client(h: Harness, apiVersion: 'v1' | 'v3' = 'v1', extra: Partial<NacosClientOptions> = {}) {
    // the client's clock and the server's move together
    return createNacosClient(h.options({ addresses: [nacos.url], apiVersion }, { credentials, clock: { now: () => clock, sleep: async (ms) => void h.sleeps.push(ms) }, ...extra }));
  }

  const logins: ['v1' | 'v3', string, string][] = [
    ['v1', '/v1/auth/login', '/v1/ns/instance/list'],
    ['v3', '/v3/auth/user/login', '/v3/client/ns/instance/list'],
  ];
  it.each(logins)('%s: logs in with a form (the password never in a URL), sends the accessToken, reuses it', async (apiVersion, loginRoute, listRoute) => {
    const h = harness();
    const nacosClient = client(h, apiVersion);
    expect(await nacosClient.listInstances(SERVICE)).toHaveLength(1);
    expect(await nacosClient.listInstances(SERVICE)).toHaveLength(1);
    expect(nacos.requests.map((request) => request.route)).toEqual([loginRoute, listRoute, listRoute]);
    const [login, list] = nacos.requests;
    expect(login!.method).toBe('POST');
    expect(login!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(login!.params).toMatchObject({ username: 'gate', password: 'p@ss word&=1' });
    expect(login!.query).toEqual({});
    expect(list!.query.accessToken).toBe(nacos.tokens.at(-1));
    expect(list!.query.password).toBeUndefined();
    expect(outcomes(h)).toEqual(['login:success', 'list:success', 'list:success']);
  });

  it('renews the token at 90 % of its TTL, before it expires', async () => {
    const h = harness();
    const nacosClient = client(h);
    await nacosClient.listInstances(SERVICE);
    const firstToken = nacos.tokens.at(-1);
    clock += 89_000;
    await nacosClient.listInstances(SERVICE);
    expect(nacos.count('/v1/auth/login')).toBe(1);
    clock += 2_000; // 91 s of 100: renew now, while the old token still works
    await nacosClient.listInstances(SERVICE);
    expect(nacos.count('/v1/auth/login')).toBe(2);
    expect(nacos.requests.at(-1)!.query.accessToken).toBe(nacos.tokens.at(-1));
    expect(nacos.tokens.at(-1)).not.toBe(firstToken);
    expect(outcomes(h)).not.toContain('list:unauthorized');
  });

  it('concurrent calls share one login', async () => {
    const nacosClient = client(harness());
    await Promise.all(Array.from({ length: 20 }, () => nacosClient.listInstances(SERVICE)));
    expect(nacos.count('/v1/auth/login')).toBe(1);
    expect(nacos.count('/v1/ns/instance/list')).toBe(20);
  });

  it('a 403 (token revoked, server restarted): one fresh login and the same call again', async () => {
    const h = harness();
    const nacosClient = client(h);
    await nacosClient.listInstances(SERVICE);
    nacos.revokeTokens();
    expect(await nacosClient.listInstances(SERVICE)).toHaveLength(1);
    expect(outcomes(h)).toEqual(['login:success', 'list:success', 'list:unauthorized', 'login:success', 'list:success']);
  });

  it('a 403 that persists after the fresh login is `unauthorized`, with no third login and no other address asked', async () => {
    const h = harness();
    const other = await startNacosServer({ auth: { users: { gate: 'p@ss word&=1' } } });
    try {
      nacos.fail({ route: '/v1/ns/instance/list', mode: { kind: 'status', status: 403 } });
      const nacosClient = createNacosClient(h.options({ addresses: [nacos.url, other.url] }, { credentials, clock: { now: () => clock, sleep: async () => undefined } }));
      const error = await rejection(nacosClient.listInstances(SERVICE));
      expect(error).toMatchObject({ kind: 'unauthorized', status: 403 });
      expect(nacos.count('/v1/auth/login')).toBe(2);
      expect(other.requests).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('wrong credentials: `unauthorized` from the login, nothing listed; none at all: `unauthorized` from the list', async () => {
    const h = harness();
    const wrong = createNacosClient(h.options({ addresses: [nacos.url] }, { credentials: { username: 'gate', password: 'hunter2' } }));
    const error = await rejection(wrong.listInstances(SERVICE));
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toMatch(/refused the login of NACOS_USERNAME\/NACOS_PASSWORD: HTTP 403/);
    expect(error.message).not.toMatch(/hunter2/);
    expect(nacos.count('/v1/ns/instance/list')).toBe(0);
    const anonymous = createNacosClient(harness().options({ addresses: [nacos.url] }));
    expect((await rejection(anonymous.listInstances(SERVICE))).kind).toBe('unauthorized');
  });

  it('a login that fails over: the first address is down, the second logs in and lists', async () => {
    const h = harness();
    const dead = await deadAddress();
    const nacosClient = createNacosClient(h.options({ addresses: [dead, nacos.url] }, { credentials, clock: { now: () => clock, sleep: async () => undefined } }));
    expect(await nacosClient.listInstances(SERVICE)).toHaveLength(1);
    expect(outcomes(h)).toEqual(['login:error', 'login:success', 'list:success']);
  });

  it('malformed login answers are `malformed` and never quote the answer', async () => {
    for (const body of ['{"accessToken": 42, "tokenTtl": 100}', 'secret-token-in-plain-text', '{"accessToken": "abc"}', '{"accessToken": "abc", "tokenTtl": -1}']) {
      nacos.fail({ route: '/v1/auth/login', times: 1, mode: { kind: 'body', body } });
      const error = await rejection(client(harness()).listInstances(SERVICE));
      expect(error.kind).toBe('malformed');
      expect(error.message).not.toMatch(/secret-token|abc|42/);
    }
  });

  it('never puts the password or a token in an error message or a request event', async () => {
    const h = harness();
    const nacosClient = client(h);
    await nacosClient.listInstances(SERVICE);
    const token = nacos.tokens.at(-1)!;
    const echoes = [`{"hosts": "${token}"}`, `{"hosts": "p@ss word&=1"}`];
    for (const body of echoes) {
      nacos.fail({ route: '/v1/ns/instance/list', times: 1, mode: { kind: 'body', body } });
      const error = await rejection(nacosClient.listInstances(SERVICE));
      expect(error.message).not.toContain(token.slice(0, 30));
      expect(error.message).not.toContain('p@ss word');
    }
    nacos.fail({ route: '/v1/ns/instance/list', times: 2, mode: { kind: 'status', status: 500, body: `boom ${token}` } });
    const error = await rejection(nacosClient.listInstances(SERVICE));
    expect(error.message).not.toContain(token.slice(0, 30));
    expect(JSON.stringify(h.events)).not.toContain(token.slice(0, 30));
  });
});

describe('NacosClient: hostile answers', () => {
  let nacos: NacosTestServer;
  beforeAll(async () => {
    nacos = await startNacosServer();
  });
  afterAll(() => nacos.stop());
  afterEach(() => nacos.clearFailures());

  const host = { ip: '10.0.0.1', port: 8080, healthy: true, enabled: true, weight: 1, clusterName: 'DEFAULT', ephemeral: true, serviceName: 'DEFAULT_GROUP@@orders' };
  const cases: [string, string | Buffer, 'v1' | 'v3', string][] = [
    ['not JSON', 'hello', 'v1', 'malformed'],
    ['an empty body', '', 'v1', 'malformed'],
    ['NaN as a port (not JSON)', '{"hosts":[{"ip":"1.1.1.1","port":NaN}]}', 'v1', 'malformed'],
    ['null', 'null', 'v1', 'malformed'],
    ['an array at the top', '[]', 'v1', 'malformed'],
    ['hosts of the wrong type', '{"hosts": {"0": {}}}', 'v1', 'malformed'],
    ['a port as a string', JSON.stringify({ hosts: [{ ...host, port: '8080' }] }), 'v1', 'malformed'],
    ['a port out of range', JSON.stringify({ hosts: [{ ...host, port: 70000 }] }), 'v1', 'malformed'],
    ['a fractional port', JSON.stringify({ hosts: [{ ...host, port: 80.5 }] }), 'v1', 'malformed'],
    ['healthy as "true"', JSON.stringify({ hosts: [{ ...host, healthy: 'true' }] }), 'v1', 'malformed'],
    ['no enabled field', JSON.stringify({ hosts: [{ ...host, enabled: undefined }] }), 'v1', 'malformed'],
    ['a negative weight', JSON.stringify({ hosts: [{ ...host, weight: -1 }] }), 'v1', 'malformed'],
    ['a huge weight', JSON.stringify({ hosts: [{ ...host, weight: 1e308 * 10 }] }), 'v1', 'malformed'],
    ['an empty ip', JSON.stringify({ hosts: [{ ...host, ip: '' }] }), 'v1', 'malformed'],
    ['the list of another service', JSON.stringify({ name: 'DEFAULT_GROUP@@payments', hosts: [host] }), 'v1', 'malformed'],
    ['a host of another service', JSON.stringify({ hosts: [{ ...host, serviceName: 'DEFAULT_GROUP@@payments' }] }), 'v1', 'malformed'],
    ['__proto__ as hosts', '{"__proto__": {"hosts": [{"ip": "10.0.0.1", "port": 8080}]}}', 'v1', 'malformed'],
    ['fields only in __proto__', '{"hosts": [{"__proto__": {"ip": "10.0.0.1", "port": 8080, "healthy": true, "enabled": true, "weight": 1, "clusterName": "DEFAULT"}}]}', 'v1', 'malformed'],
    ['v3 without the envelope', JSON.stringify([host]), 'v3', 'malformed'],
    ['v3 data of the wrong type', JSON.stringify({ code: 0, message: 'success', data: { hosts: [host] } }), 'v3', 'malformed'],
    ['v3 code as a string', JSON.stringify({ code: '0', message: 'success', data: [host] }), 'v3', 'malformed'],
    ['v3 a refusal', JSON.stringify({ code: 20004, message: 'resource not found', data: null }), 'v3', 'rejected'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'v1', 'malformed'],
  ];

  it.each(cases)('%s: a NacosError, no instance', async (_name, body, apiVersion, kind) => {
    nacos.fail({ mode: { kind: 'body', body } });
    const error = await rejection(createNacosClient(harness().options({ addresses: [nacos.url], apiVersion })).listInstances(SERVICE));
    expect(error.kind).toBe(kind);
    expect(error.message.length).toBeLessThan(600);
  });

  it('extra fields and a __proto__ key beside valid ones are ignored; the instance is built from the known fields only', async () => {
    nacos.fail({ mode: { kind: 'body', body: `{"hosts": [${JSON.stringify({ ...host, extra: { deep: [1, 2] } }).slice(0, -1)}, "__proto__": {"polluted": true}}], "cacheMillis": "whatever"}` } });
    const [instance] = await createNacosClient(harness().options({ addresses: [nacos.url] })).listInstances(SERVICE);
    expect(instance).toEqual({ ip: '10.0.0.1', port: 8080, healthy: true, enabled: true, weight: 1, clusterName: 'DEFAULT', ephemeral: true });
    expect(Object.getPrototypeOf(instance)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it.each([
    ['chunked, no length', false],
    ['with a Content-Length', true],
  ])('an answer over 4 MiB (%s) is refused before it is all read', async (_name, declareLength) => {
    nacos.fail({ mode: { kind: 'huge', bytes: 6 * 1024 * 1024, declareLength } });
    const error = await rejection(createNacosClient(harness().options({ addresses: [nacos.url] })).listInstances(SERVICE));
    expect(error.kind).toBe('malformed');
    expect(error.message).toMatch(/answered more than 4194304 bytes/);
  });

  it('an answer just under the limit is read', async () => {
    nacos.fail({ mode: { kind: 'huge', bytes: 4 * 1024 * 1024 - 10 } });
    expect(await createNacosClient(harness().options({ addresses: [nacos.url] })).listInstances(SERVICE)).toEqual([]);
  });

  it.each(['v1', 'v3'] as const)('%s: deeply nested arrays (a million levels) are malformed, not a crash', async (apiVersion) => {
    nacos.fail({ mode: { kind: 'deep', depth: 1_000_000 } });
    const error = await rejection(createNacosClient(harness().options({ addresses: [nacos.url], apiVersion })).listInstances(SERVICE));
    expect(error.kind).toBe('malformed');
  });

  /** Hosts as Nacos sends them, sometimes with extra fields. */
  const validHost = fc.record(
    {
      ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()),
      port: fc.integer({ min: 0, max: 65535 }),
      healthy: fc.boolean(),
      enabled: fc.boolean(),
      weight: fc.oneof(fc.double({ min: 0, max: 10000, noNaN: true }), fc.integer({ min: 0, max: 10000 })),
      clusterName: fc.oneof(fc.constant('DEFAULT'), fc.string({ maxLength: 20 })),
      ephemeral: fc.boolean(),
      serviceName: fc.constantFrom('DEFAULT_GROUP@@orders', 'orders'),
      metadata: fc.dictionary(fc.string(), fc.string()),
      instanceId: fc.string(),
    },
    { requiredKeys: ['ip', 'port', 'healthy', 'enabled', 'weight', 'clusterName'] },
  );
  /** Hosts with any field wrong, missing or odd. */
  const oddHost = fc.record(
    {
      ip: fc.oneof(fc.ipV4(), fc.string({ maxLength: 300 }), fc.integer(), fc.constant('')),
      port: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer(), fc.double(), fc.string({ maxLength: 6 })),
      healthy: fc.oneof(fc.boolean(), fc.constant('true'), fc.constant(1)),
      enabled: fc.oneof(fc.boolean(), fc.constant(null)),
      weight: fc.oneof(fc.double(), fc.integer({ min: -5, max: 20000 }), fc.constant('1')),
      clusterName: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
      ephemeral: fc.oneof(fc.boolean(), fc.constant('yes')),
      serviceName: fc.constantFrom('DEFAULT_GROUP@@orders', 'orders', 'DEFAULT_GROUP@@other', 7),
    },
    { requiredKeys: [] },
  );
  const anyHost = fc.oneof({ weight: 20, arbitrary: validHost }, { weight: 1, arbitrary: oddHost }, { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) });
  const hosts = fc.array(anyHost, { maxLength: 6 });
  const v1Body = fc.record(
    { name: fc.constantFrom('DEFAULT_GROUP@@orders', 'DEFAULT_GROUP@@orders', 'orders', 'DEFAULT_GROUP@@other'), hosts, reachProtectionThreshold: fc.boolean(), cacheMillis: fc.anything({ maxDepth: 1 }) },
    { requiredKeys: ['hosts'] },
  );
  const v3Body = fc.record(
    { code: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer() }), message: fc.oneof(fc.string(), fc.constant(null)), data: fc.oneof({ weight: 5, arbitrary: hosts }, { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) }) },
    { requiredKeys: ['code', 'data'] },
  );
  const serialised = (body: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { weight: 8, arbitrary: body.map((value) => JSON.stringify(value) ?? '') },
      { weight: 1, arbitrary: body.map((value) => (JSON.stringify(value) ?? '').slice(0, 30)) },
      { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 100 }), fc.anything({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? '')) },
    );
  const exchange = fc.oneof(
    fc.record({ apiVersion: fc.constant('v1' as const), body: serialised(fc.oneof({ weight: 4, arbitrary: v1Body }, { weight: 1, arbitrary: v3Body })) }),
    fc.record({ apiVersion: fc.constant('v3' as const), body: serialised(fc.oneof({ weight: 4, arbitrary: v3Body }, { weight: 1, arbitrary: v1Body })) }),
  );
  const status = fc.oneof({ weight: 8, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(201, 302, 400, 401, 403, 404, 410, 500, 503) });

  function hostsIn(text: string): unknown[] {
    try {
      const value = JSON.parse(text);
      return [...(Array.isArray(value?.hosts) ? value.hosts : []), ...(Array.isArray(value?.data) ? value.data : [])];
    } catch {
      return [];
    }
  }

  it('property: whatever the server answers (any status, any body), a valid list of instances from the body or a NacosError', async () => {
    const h = harness();
    let listed = 0;
    await fc.assert(
      fc.asyncProperty(exchange, status, async ({ apiVersion, body }, answerStatus) => {
        nacos.clearFailures();
        nacos.fail({ mode: { kind: 'body', body, status: answerStatus } });
        const client = createNacosClient(h.options({ addresses: [nacos.url], apiVersion }));
        let instances;
        try {
          instances = await client.listInstances(SERVICE);
        } catch (error) {
          expect(error).toBeInstanceOf(NacosError);
          return;
        }
        expect(answerStatus).toBeGreaterThanOrEqual(200);
        expect(answerStatus).toBeLessThan(300);
        const sent = hostsIn(body);
        if (instances.length > 0) listed += 1;
        for (const instance of instances) {
          expect(Object.keys(instance).sort()).toEqual(['clusterName', 'enabled', 'healthy', 'ip', 'port', 'weight', ...('ephemeral' in instance ? ['ephemeral'] : [])].sort());
          expect(sent).toContainEqual(expect.objectContaining({ ip: instance.ip, port: instance.port, enabled: instance.enabled, weight: instance.weight, clusterName: instance.clusterName }));
          expect(Number.isInteger(instance.port) && instance.port >= 0 && instance.port <= 65535).toBe(true);
          expect(typeof instance.healthy).toBe('boolean');
        }
      }),
      { numRuns: 300 },
    );
    // the property is not vacuous: plenty of answers were valid lists with instances
    expect(listed).toBeGreaterThan(30);
  });
});

describe('credentialsFromEnvironment', () => {
  it('both or neither; one alone names the missing variable, never a value', () => {
    expect(credentialsFromEnvironment({})).toBeUndefined();
    expect(credentialsFromEnvironment({ NACOS_USERNAME: '', NACOS_PASSWORD: '' })).toBeUndefined();
    expect(credentialsFromEnvironment({ NACOS_USERNAME: 'u', NACOS_PASSWORD: 'p' })).toEqual({ username: 'u', password: 'p' });
    expect(() => credentialsFromEnvironment({ NACOS_PASSWORD: 'sekrit' })).toThrow(/^NACOS_PASSWORD is set but NACOS_USERNAME is not/);
    expect(() => credentialsFromEnvironment({ NACOS_USERNAME: 'u' })).toThrow(/NACOS_PASSWORD is not/);
    try {
      credentialsFromEnvironment({ NACOS_PASSWORD: 'sekrit' });
    } catch (error) {
      expect((error as Error).message).not.toContain('sekrit');
    }
  });

  it('refuses an empty address list', () => {
    expect(() => createNacosClient({ server: { addresses: [], contextPath: '/nacos', apiVersion: 'v1', timeoutSeconds: 3 } })).toThrow(/addresses is empty/);
  });
});
